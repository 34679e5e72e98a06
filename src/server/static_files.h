// The web pages (web/: the patient page, the clinic page, their CSS and JS) and the QR code of a patient link.
// The pages are compiled into the binary at build time (static_files.cmake writes web_files.cc from web/), so a
// bare `aftercare serve` needs no data files and no CDN; ServerOptions.web_root serves them from a folder instead,
// for editing them without a rebuild. Only flat file names are served: no folders, no "..", no symlinks out.
#ifndef AFTERCARE_SERVER_STATIC_FILES_H_
#define AFTERCARE_SERVER_STATIC_FILES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aftercare/server.h"

namespace aftercare {

struct EmbeddedFile {
  std::string_view name;  // "patient.html"
  std::string_view body;
};
// The files of web/ as they were at build time (generated web_files.cc).
const std::vector<EmbeddedFile>& EmbeddedWebFiles();

// GET of a page or a static file: "/" and "/clinic" (the clinic page), "/static/NAME", "/favicon.ico". nullopt when
// `request.path` is none of those, so the API router goes on. Sets response.route.
std::optional<HttpResponse> ServeStatic(const std::string& web_root, const HttpRequest& request);

// The patient page, answered at the private link /p/{token} to a browser (WantsHtml).
HttpResponse PatientPage(const std::string& web_root);

// True when the request's Accept header prefers HTML (a browser following a link), not JSON.
bool WantsHtml(const HttpRequest& request);

// `text` as a QR code (error correction M) in SVG, black on white with a 4-module quiet zone. Empty on failure.
std::string QrSvg(const std::string& text);

}  // namespace aftercare

#endif  // AFTERCARE_SERVER_STATIC_FILES_H_
