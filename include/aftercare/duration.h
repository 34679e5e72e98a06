// Offsets from the end of a procedure, as a protocol writes them: "0h", "12h", "90m", "14d", "4w".
// Minutes and hours are elapsed time; days and weeks are calendar days in the patient's zone, kept as written so
// the engine can apply them at the same wall-clock time (14 days across a DST change is not 336 hours).
#ifndef AFTERCARE_DURATION_H_
#define AFTERCARE_DURATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "aftercare/result.h"

namespace aftercare {

enum class OffsetUnit { kMinutes, kHours, kDays, kWeeks };

struct Offset {
  std::int64_t amount = 0;
  OffsetUnit unit = OffsetUnit::kHours;

  // Elapsed offsets (minutes, hours) versus calendar ones (days, weeks).
  bool IsElapsed() const { return unit == OffsetUnit::kMinutes || unit == OffsetUnit::kHours; }
  // Minutes for elapsed units; for days and weeks, the nominal length (24 h a day), used only to order offsets.
  std::int64_t NominalMinutes() const;
  // The canonical text, e.g. "12h", "14d".
  std::string ToString() const;
  friend bool operator==(const Offset&, const Offset&) = default;
};

// Parses "<non-negative integer><unit>" with unit m, h, d or w (also "min", "hours", "days", "weeks").
Result<Offset> ParseOffset(std::string_view text);

}  // namespace aftercare

#endif  // AFTERCARE_DURATION_H_
