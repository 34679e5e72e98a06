// Any bytes as a time and as a duration, in zones with unusual rules: refuse or parse, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aftercare/time.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const aftercare::Zone zones[] = {
      aftercare::FindZone("America/New_York").value(), aftercare::FindZone("Australia/Lord_Howe").value(),
      aftercare::FindZone("Asia/Kathmandu").value(), aftercare::FindZone("UTC").value()};
  std::string_view text(reinterpret_cast<const char*>(data), size);
  aftercare::Zone zone = zones[size % 4];
  auto instant = aftercare::ParseTime(text, zone);
  auto offset = aftercare::ParseOffset(text);
  if (instant.ok()) {
    (void)aftercare::FormatInstant(*instant, zone);
    if (offset.ok()) (void)aftercare::AddOffset(*instant, *offset, zone);
  }
  if (size % 8 == 0) {  // the unknown-zone path ranks every zone name: slow, so only some inputs take it
    auto named = aftercare::FindZone(text.substr(0, 64));
    (void)named.ok();
  }
  return 0;
}
