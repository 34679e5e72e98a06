// Any bytes as a patient's question: resolve to an activity or a medicine, or refuse; never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aftercare/checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto understood = aftercare::ResolvePlainWords(aftercare::PhraseLexicon::Builtin(),
                                                 aftercare::MedicineLexicon::Builtin(),
                                                 aftercare::BuiltinProtocol(), text);
  (void)understood.ok();
  return 0;
}
