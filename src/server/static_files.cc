// Serves web/ (built in, or from ServerOptions.web_root) and draws QR codes with libqrencode. See static_files.h.
#include "static_files.h"

#include <qrencode.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace aftercare {
namespace {

// The pages may load their own scripts, styles and images, and call the API; nothing from anywhere else.
constexpr const char* kPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

std::string ContentType(std::string_view name) {
  auto dot = name.rfind('.');
  std::string ext = dot == std::string_view::npos ? "" : std::string(name.substr(dot + 1));
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "json" || ext == "webmanifest") return "application/json";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// A flat file name: letters, digits, '.', '_', '-', not starting with '.', so never a folder or "..".
bool SafeName(std::string_view name) {
  return !name.empty() && name.size() <= 100 && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '_' || c == '-';
         });
}

std::optional<std::string> ReadFromRoot(const std::string& root, std::string_view name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  fs::path file = fs::canonical(base / std::string(name), ec);  // resolves symlinks
  if (ec || file.parent_path() != base || !fs::is_regular_file(file, ec)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream body;
  body << in.rdbuf();
  return body.str();
}

std::optional<std::string> FindFile(const std::string& web_root, std::string_view name) {
  if (!SafeName(name)) return std::nullopt;
  if (!web_root.empty()) return ReadFromRoot(web_root, name);
  for (const auto& f : EmbeddedWebFiles()) {
    if (f.name == name) return std::string(f.body);
  }
  return std::nullopt;
}

HttpResponse NotFound(std::string route) {
  HttpResponse r;
  r.status = 404;
  r.body = R"({"error":{"code":"not_found","message":"no such file"}})";
  r.route = std::move(route);
  return r;
}

HttpResponse File(const std::string& web_root, std::string_view name, std::string route) {
  auto body = FindFile(web_root, name);
  if (!body) return NotFound(std::move(route));
  HttpResponse r;
  r.content_type = ContentType(name);
  r.body = std::move(*body);
  r.route = std::move(route);
  if (r.content_type.rfind("text/html", 0) == 0) r.headers.emplace_back("Content-Security-Policy", kPagePolicy);
  return r;
}

}  // namespace

std::optional<HttpResponse> ServeStatic(const std::string& web_root, const HttpRequest& request) {
  const std::string& path = request.path;
  std::optional<HttpResponse> out;
  if (path == "/" || path == "/clinic") {
    out = File(web_root, "clinic.html", path);
  } else if (path == "/favicon.ico") {
    out = File(web_root, "icon.svg", path);
  } else if (path.rfind("/static/", 0) == 0) {
    out = File(web_root, std::string_view(path).substr(8), "/static/{file}");
  } else {
    return std::nullopt;
  }
  if (request.method != "GET") {
    HttpResponse r;
    r.status = 405;
    r.body = R"({"error":{"code":"method_not_allowed","message":"use GET here"}})";
    r.headers = {{"Allow", "GET"}};
    r.route = out->route;
    return r;
  }
  return out;
}

HttpResponse PatientPage(const std::string& web_root) { return File(web_root, "patient.html", "/p/{token}"); }

bool WantsHtml(const HttpRequest& request) {
  std::string accept = request.accept;
  std::transform(accept.begin(), accept.end(), accept.begin(), [](unsigned char c) { return std::tolower(c); });
  auto html = accept.find("text/html");
  if (html == std::string::npos) return false;
  auto json = accept.find("application/json");
  return json == std::string::npos || html < json;
}

std::string QrSvg(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
      QRcode_encodeString8bit(text.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!qr) return "";
  const int width = qr->width;
  const int quiet = 4;
  const int size = width + 2 * quiet;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << size << " " << size
      << "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
      << "<rect width=\"" << size << "\" height=\"" << size << "\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width; ++x) {
      if (qr->data[y * width + x] & 1) {
        int run = 1;  // one horizontal run of dark modules per subpath
        while (x + run < width && (qr->data[y * width + x + run] & 1)) ++run;
        svg << "M" << x + quiet << " " << y + quiet << "h" << run << "v1h-" << run << "z";
        x += run - 1;
      }
    }
  }
  svg << "\"/></svg>";
  return svg.str();
}

}  // namespace aftercare
