#include "aftercare/time.h"

#include <cctype>
#include <cstdio>
#include <exception>

#include "aftercare/text.h"

namespace aftercare {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Appends `value` as exactly `width` digits (value is never negative or wider here).
void AppendDigits(std::string& out, long long value, int width) {
  char digits[20];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<std::size_t>(width));
}

// "-05:00", "+05:45", "Z"-less form used in ISO output.
std::string FormatOffset(seconds offset) {
  auto total = offset < seconds(0) ? -offset.count() : offset.count();
  std::string out(1, offset < seconds(0) ? '-' : '+');
  AppendDigits(out, total / 3600, 2);
  out += ':';
  AppendDigits(out, (total % 3600) / 60, 2);
  return out;
}

// "2026-11-28T14:00", with ":SS" only when the seconds are not zero. Written by hand: every answer has dozens.
std::string FormatLocalIso(date::local_seconds local) {
  auto day = date::floor<date::days>(local);
  date::year_month_day ymd(day);
  date::hh_mm_ss<seconds> tod(local - day);
  std::string out;
  out.reserve(26);
  int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d", year);
    out += buf;
  } else {
    AppendDigits(out, year, 4);
  }
  out += '-';
  AppendDigits(out, static_cast<unsigned>(ymd.month()), 2);
  out += '-';
  AppendDigits(out, static_cast<unsigned>(ymd.day()), 2);
  out += 'T';
  AppendDigits(out, tod.hours().count(), 2);
  out += ':';
  AppendDigits(out, tod.minutes().count(), 2);
  if (tod.seconds().count() != 0) {
    out += ':';
    AppendDigits(out, tod.seconds().count(), 2);
  }
  return out;
}

// Reads exactly `width` digits at `pos`.
bool ReadDigits(std::string_view text, std::size_t pos, std::size_t width, int* out) {
  if (pos + width > text.size()) return false;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

const std::vector<std::string>& ZoneNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& zone : date::get_tzdb().zones) out.push_back(zone.name());
    return out;
  }();
  return names;
}

}  // namespace

Result<Zone> FindZone(std::string_view name) {
  if (name.empty()) return MakeError("missing time zone: give an IANA zone name such as America/New_York");
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    std::vector<std::string> close;
    try {
      close = ClosestNames(name, ZoneNames());
    } catch (const std::exception&) {
    }
    std::string message = "unknown time zone '" + std::string(name) + "'";
    if (!close.empty()) message += "; did you mean " + JoinOr(close) + "?";
    message += " Give an IANA zone name such as America/New_York or Europe/London";
    return MakeError(message);
  }
}

Result<Instant> ParseTime(std::string_view text, Zone zone) {
  const std::string shown(text);
  auto bad = [&](std::string_view why) {
    return MakeError("malformed time '" + shown + "': " + std::string(why) +
                     "; write local time as 2026-11-28T14:00 or an instant as 2026-11-28T14:00-05:00 or "
                     "2026-11-28T19:00Z");
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!ReadDigits(text, 0, 4, &y) || text.size() < 10 || text[4] != '-' || !ReadDigits(text, 5, 2, &mo) ||
      text[7] != '-' || !ReadDigits(text, 8, 2, &d)) {
    return bad("the date must be YYYY-MM-DD");
  }
  if (text.size() < 16 || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !ReadDigits(text, 11, 2, &h) ||
      text[13] != ':' || !ReadDigits(text, 14, 2, &mi)) {
    return bad("the time of day must follow as THH:MM");
  }
  std::size_t pos = 16;
  if (pos < text.size() && text[pos] == ':') {
    if (!ReadDigits(text, pos + 1, 2, &s)) return bad("seconds must be two digits");
    pos += 3;
  }
  date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(mo)), date::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad("there is no such date");
  if (h > 23 || mi > 59 || s > 59) return bad("the time of day is out of range");
  date::local_seconds local = date::local_days(ymd) + hours(h) + minutes(mi) + seconds(s);

  if (pos < text.size()) {
    std::string_view rest = text.substr(pos);
    if (rest == "Z" || rest == "z") return Instant(local.time_since_epoch());
    int oh = 0, om = 0;
    bool sign_ok = rest[0] == '+' || rest[0] == '-';
    bool parsed = sign_ok && ReadDigits(rest, 1, 2, &oh) &&
                  ((rest.size() == 3) || (rest.size() == 6 && rest[3] == ':' && ReadDigits(rest, 4, 2, &om)) ||
                   (rest.size() == 5 && ReadDigits(rest, 3, 2, &om)));
    if (!parsed) return bad("the offset must be Z or ±HH:MM");
    if (oh > 18 || om > 59) return bad("the offset is out of range");
    seconds offset = hours(oh) + minutes(om);
    if (rest[0] == '-') offset = -offset;
    return Instant(local.time_since_epoch() - offset);
  }

  if (zone == nullptr) return bad("a local time needs a time zone");
  date::local_info info = zone->get_info(local);
  std::string local_text = FormatLocalIso(local);
  switch (info.result) {
    case date::local_info::unique:
      return Instant(local.time_since_epoch() - info.first.offset);
    case date::local_info::nonexistent: {
      Instant change = info.first.end;
      date::local_seconds before = date::local_seconds((change + info.first.offset).time_since_epoch());
      date::local_seconds after = date::local_seconds((change + info.second.offset).time_since_epoch());
      return MakeError(local_text + " does not exist in " + zone->name() + ": the clocks jumped from " +
                       FormatLocalIso(before).substr(11) + " " + info.first.abbrev + " to " +
                       FormatLocalIso(after).substr(11) + " " + info.second.abbrev +
                       " (a DST gap); write a time outside the gap, or an instant with its offset such as " +
                       local_text + FormatOffset(info.first.offset));
    }
    case date::local_info::ambiguous:
      return MakeError(local_text + " happens twice in " + zone->name() +
                       " (the clocks went back; a DST overlap); add the offset to say which: " + local_text +
                       FormatOffset(info.first.offset) + " (" + info.first.abbrev + ", the first) or " + local_text +
                       FormatOffset(info.second.offset) + " (" + info.second.abbrev + ", the second)");
  }
  return bad("it could not be read");
}

Instant AddOffset(Instant end, const Offset& offset, Zone zone) {
  switch (offset.unit) {
    case OffsetUnit::kMinutes: return end + minutes(offset.amount);
    case OffsetUnit::kHours: return end + hours(offset.amount);
    case OffsetUnit::kDays:
    case OffsetUnit::kWeeks: break;
  }
  date::days days(offset.unit == OffsetUnit::kWeeks ? offset.amount * 7 : offset.amount);
  date::local_seconds local = zone->to_local(end) + days;
  date::local_info info = zone->get_info(local);
  switch (info.result) {
    case date::local_info::unique: return Instant(local.time_since_epoch() - info.first.offset);
    case date::local_info::nonexistent: return info.first.end;
    case date::local_info::ambiguous: return Instant(local.time_since_epoch() - info.second.offset);
  }
  return Instant(local.time_since_epoch() - info.first.offset);
}

std::string FormatInstant(Instant instant, Zone zone) {
  auto info = zone->get_info(instant);
  date::local_seconds local{(instant + info.offset).time_since_epoch()};
  std::string out = FormatLocalIso(local);
  out += FormatOffset(info.offset);
  return out;
}

std::string FormatLocalShort(Instant instant, Zone zone) {
  return date::format("%a %d %b %H:%M", zone->to_local(instant));
}

std::string ZoneAbbreviation(Instant instant, Zone zone) { return zone->get_info(instant).abbrev; }

}  // namespace aftercare
