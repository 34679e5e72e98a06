// Any bytes as a protocol file (and as its sheet): lint must report, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aftercare/lint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  aftercare::LintReport report = aftercare::LintProtocolText(text, "fuzz.toml", text.substr(0, size / 2));
  (void)report.ok();
  auto parsed = aftercare::ParseProtocol(text, "fuzz.toml");
  (void)parsed.ok();
  return 0;
}
