// The web pages' file serving (built in and from a folder, never outside it) and the QR code.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "static_files.h"

namespace aftercare {
namespace {

HttpRequest Get(const std::string& path) {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  return r;
}

TEST(StaticFiles, ServesTheBuiltInPages) {
  auto clinic = ServeStatic("", Get("/"));
  ASSERT_TRUE(clinic);
  EXPECT_EQ(clinic->status, 200);
  EXPECT_EQ(clinic->content_type, "text/html; charset=utf-8");
  EXPECT_NE(clinic->body.find("<html"), std::string::npos);
  bool policy = false;
  for (const auto& [name, value] : clinic->headers) {
    if (name == "Content-Security-Policy") policy = value.find("script-src 'self'") != std::string::npos;
  }
  EXPECT_TRUE(policy);
  auto js = ServeStatic("", Get("/static/patient.js"));
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(js->route, "/static/{file}");
  EXPECT_EQ(PatientPage("").status, 200);
}

TEST(StaticFiles, LeavesOtherPathsToTheApi) {
  EXPECT_FALSE(ServeStatic("", Get("/api/v1/procedures")));
  EXPECT_FALSE(ServeStatic("", Get("/healthz")));
  EXPECT_FALSE(ServeStatic("", Get("/p/abc")));
}

TEST(StaticFiles, RefusesTraversalAndUnknownFiles) {
  for (const char* path : {"/static/../CMakeLists.txt", "/static/..%2fCMakeLists.txt", "/static/%2e%2e/x",
                           "/static/", "/static/.hidden", "/static/a/b.js", "/static/nope.js",
                           "/static//etc/passwd", "/static/..", "/static/clinic.html%00.js"}) {
    auto r = ServeStatic("", Get(path));
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
  }
}

TEST(StaticFiles, ServesFromAFolderButNotThroughASymlinkOutOfIt) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("aftercare-web-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "sub");
  std::ofstream(root / "clinic.html") << "<html>from disk</html>";
  std::ofstream(root / "sub" / "x.js") << "x";
  std::ofstream(root.parent_path() / "aftercare-web-secret.txt") << "secret";
  std::error_code ec;
  fs::create_symlink(root.parent_path() / "aftercare-web-secret.txt", root / "link.txt", ec);
  auto page = ServeStatic(root.string(), Get("/clinic"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body, "<html>from disk</html>");
  EXPECT_EQ(ServeStatic(root.string(), Get("/static/link.txt"))->status, 404);
  EXPECT_EQ(ServeStatic(root.string(), Get("/static/sub"))->status, 404);
  EXPECT_EQ(ServeStatic(root.string(), Get("/static/aftercare-web-secret.txt"))->status, 404);
  EXPECT_EQ(ServeStatic((root / "missing").string(), Get("/"))->status, 404);
  fs::remove_all(root);
  fs::remove(root.parent_path() / "aftercare-web-secret.txt");
}

TEST(StaticFiles, OnlyGet) {
  HttpRequest post = Get("/static/patient.js");
  post.method = "POST";
  auto r = ServeStatic("", post);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
}

TEST(StaticFiles, BrowsersGetTheHtmlPage) {
  HttpRequest r = Get("/p/x");
  EXPECT_FALSE(WantsHtml(r));
  r.accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  EXPECT_TRUE(WantsHtml(r));
  r.accept = "application/json";
  EXPECT_FALSE(WantsHtml(r));
  r.accept = "*/*";
  EXPECT_FALSE(WantsHtml(r));
}

TEST(QrSvg, DrawsTheLink) {
  std::string svg = QrSvg("https://clinic.example/p/UlvwIMmxjAAUosuyp_CUYZY-DAQwBYyWywcyrK3OXBQ");
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  // Version 5 (37 modules) for a 67-byte link at level M, plus the quiet zone on each side.
  EXPECT_NE(svg.find("viewBox=\"0 0 45 45\""), std::string::npos);
  EXPECT_NE(svg.find("M4 4h7v1h-7z"), std::string::npos);  // the top of the top-left finder pattern
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
}

}  // namespace
}  // namespace aftercare
