#include "aftercare/duration.h"

#include <charconv>
#include <limits>

#include "aftercare/text.h"

namespace aftercare {

std::int64_t Offset::NominalMinutes() const {
  switch (unit) {
    case OffsetUnit::kMinutes: return amount;
    case OffsetUnit::kHours: return amount * 60;
    case OffsetUnit::kDays: return amount * 24 * 60;
    case OffsetUnit::kWeeks: return amount * 7 * 24 * 60;
  }
  return amount;
}

std::string Offset::ToString() const {
  const char* suffix = "h";
  switch (unit) {
    case OffsetUnit::kMinutes: suffix = "m"; break;
    case OffsetUnit::kHours: suffix = "h"; break;
    case OffsetUnit::kDays: suffix = "d"; break;
    case OffsetUnit::kWeeks: suffix = "w"; break;
  }
  return std::to_string(amount) + suffix;
}

Result<Offset> ParseOffset(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return MakeError("bad duration '" + std::string(text) + "': " + std::string(why) +
                     "; write a whole number and a unit, e.g. 0h, 12h, 90m, 14d, 4w");
  };
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return bad("it does not start with a number");
  std::int64_t amount = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, amount);
  if (ec != std::errc() || ptr != text.data() + i) return bad("the number is too large");
  std::string unit = NormalizeWords(text.substr(i));
  Offset offset;
  offset.amount = amount;
  if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes") {
    offset.unit = OffsetUnit::kMinutes;
  } else if (unit == "h" || unit == "hour" || unit == "hours") {
    offset.unit = OffsetUnit::kHours;
  } else if (unit == "d" || unit == "day" || unit == "days") {
    offset.unit = OffsetUnit::kDays;
  } else if (unit == "w" || unit == "week" || unit == "weeks") {
    offset.unit = OffsetUnit::kWeeks;
  } else if (unit.empty()) {
    return bad("the unit is missing");
  } else {
    return bad("unknown unit '" + unit + "'");
  }
  // Keep every offset well inside the range of sys_seconds arithmetic: 100 years is plenty for aftercare.
  constexpr std::int64_t kMaxMinutes = 100LL * 366 * 24 * 60;
  if (amount > kMaxMinutes || offset.NominalMinutes() > kMaxMinutes) return bad("it is longer than 100 years");
  return offset;
}

}  // namespace aftercare
