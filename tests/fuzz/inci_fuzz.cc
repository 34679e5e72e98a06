// Any bytes as an ingredient list printed on a product: parse and check, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aftercare/checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const aftercare::Plan plan = [] {
    aftercare::Zone zone = aftercare::FindZone("America/New_York").value();
    aftercare::Procedure procedure{aftercare::ParseTime("2026-11-28T14:00", zone).value(), zone, {"face"}};
    return aftercare::Plan::Compile(aftercare::BuiltinProtocol(), procedure).value();
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)aftercare::ParseInciList(text);
  auto answer = aftercare::CheckIngredients(aftercare::IngredientLexicon::Builtin(), plan, text,
                                            plan.procedure().end + std::chrono::hours(30));
  (void)answer.ok();
  return 0;
}
