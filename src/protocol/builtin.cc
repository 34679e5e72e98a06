#include <cstdio>
#include <cstdlib>

#include "aftercare/protocol.h"

namespace aftercare {

extern const std::string_view kBuiltinProtocolText;
extern const std::string_view kBuiltinSheetText;

std::string_view BuiltinProtocolText() { return kBuiltinProtocolText; }
std::string_view BuiltinSheetText() { return kBuiltinSheetText; }

const Protocol& BuiltinProtocol() {
  static const Protocol protocol = [] {
    auto parsed = ParseProtocol(kBuiltinProtocolText, "built-in cit.toml");
    if (!parsed) {
      // A defect of the build, not of any input: protocol_test and lint keep it from shipping.
      std::fprintf(stderr, "aftercare: the built-in protocol is invalid: %s\n", parsed.error().message.c_str());
      std::abort();
    }
    Protocol p = std::move(parsed).value();
    p.origin = "built-in";
    return p;
  }();
  return protocol;
}

}  // namespace aftercare
