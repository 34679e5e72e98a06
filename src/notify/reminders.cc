// Reminder definitions (lexicons/reminders.toml) and the reminders of a plan. Pure: no clock, no I/O.
#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "aftercare/notify.h"

namespace aftercare {
namespace notify_internal {
extern const std::string_view kRemindersToml;
}  // namespace notify_internal

namespace {

using std::chrono::minutes;

// "08:30" -> minutes after midnight.
std::optional<minutes> ParseClock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (!digit(0) || !digit(1) || !digit(3) || !digit(4)) return std::nullopt;
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return minutes(h * 60 + m);
}

bool ValidId(std::string_view id) {
  return !id.empty() && id.size() <= 60 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string Replace(std::string text, std::string_view key, const std::string& value) {
  for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size())) {
    text.replace(at, key.size(), value);
  }
  return text;
}

struct Fill {
  std::string name, when, until, min_count, max_count;
  std::string operator()(std::string text) const {
    text = Replace(std::move(text), "{name}", name);
    text = Replace(std::move(text), "{when}", when);
    text = Replace(std::move(text), "{until}", until);
    text = Replace(std::move(text), "{min_count}", min_count);
    return Replace(std::move(text), "{max_count}", max_count);
  }
};

// The first run of consecutive avoid segments (one window may be cut where its reasons change): [first, last].
std::optional<std::pair<const Segment*, const Segment*>> FirstAvoid(const ActivityTimeline& timeline) {
  const auto& segments = timeline.segments;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (segments[i].verdict != Verdict::kAvoid) continue;
    std::size_t last = i;
    while (last + 1 < segments.size() && segments[last + 1].verdict == Verdict::kAvoid) ++last;
    return std::pair(&segments[i], &segments[last]);
  }
  return std::nullopt;
}

const Segment* SegmentFrom(const ActivityTimeline& timeline, Instant from) {
  for (const auto& s : timeline.segments) {
    if (s.from == from) return &s;
  }
  return nullptr;
}

void AddSources(const Protocol& protocol, const std::vector<std::string>& ids, std::vector<const Sentence*>* out) {
  for (const auto& id : ids) {
    const Sentence* s = protocol.FindSentence(id);
    if (s && std::find(out->begin(), out->end(), s) == out->end()) out->push_back(s);
  }
}

void AddRuleSources(const Protocol& protocol, const Segment* segment, std::vector<const Sentence*>* out) {
  if (!segment) return;
  for (const Rule* rule : segment->rules) AddSources(protocol, rule->sources, out);
}

// Local midnight of the day `at` falls on in `zone`, as a local time.
date::local_seconds LocalDay(Instant at, Zone zone) {
  auto local = zone->to_local(at);
  return std::chrono::floor<date::days>(local);
}

Instant ToSys(date::local_seconds local, Zone zone) { return zone->to_sys(local, date::choose::latest); }

}  // namespace

Result<ReminderDefinitions> ParseReminderDefinitions(std::string_view toml_text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    return MakeError(std::string(origin) + ": " + std::string(e.description()));
  }
  std::vector<std::string> problems;
  auto problem = [&](std::string where, std::string message) { problems.push_back(where + ": " + message); };
  for (const auto& [key, value] : root) {
    if (key != "format_version" && key != "morning" && key != "quiet_hours" && key != "reminders") {
      problem(std::string(key.str()), "unknown key (known: format_version, morning, quiet_hours, reminders)");
    }
  }
  ReminderDefinitions out;
  auto version = root["format_version"].value<std::int64_t>();
  if (!version || *version != kRemindersFormatVersion) {
    problem("format_version", "must be " + std::to_string(kRemindersFormatVersion));
  }
  if (auto morning = root["morning"].value<std::string>()) {
    if (auto m = ParseClock(*morning)) {
      out.morning = *m;
    } else {
      problem("morning", "'" + *morning + "' is not a local time like \"08:30\"");
    }
  } else {
    problem("morning", "missing (a local time like \"08:30\")");
  }
  if (const auto* quiet = root["quiet_hours"].as_table()) {
    auto from = (*quiet)["from"].value<std::string>();
    auto until = (*quiet)["until"].value<std::string>();
    auto f = from ? ParseClock(*from) : std::nullopt;
    auto u = until ? ParseClock(*until) : std::nullopt;
    if (!f || !u) {
      problem("quiet_hours", "needs from and until as local times like \"21:00\"");
    } else {
      out.quiet_from = *f;
      out.quiet_until = *u;
    }
  } else if (root.contains("quiet_hours")) {
    problem("quiet_hours", "must be a table { from = \"21:00\", until = \"08:00\" }");
  } else {
    out.quiet_from = out.quiet_until = minutes(0);
  }
  const auto* list = root["reminders"].as_array();
  if (!list || list->empty()) problem("reminders", "at least one [[reminders]] entry is needed");
  std::set<std::string> seen;
  if (list) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      std::string where = "reminders[" + std::to_string(i) + "]";
      const auto* t = list->get(i)->as_table();
      if (!t) {
        problem(where, "must be a table");
        continue;
      }
      ReminderDefinition d;
      for (const auto& [key, value] : *t) {
        static const std::set<std::string_view> kKnown = {"id", "trigger", "activities", "after", "subject", "text"};
        if (!kKnown.count(key.str())) problem(where, "unknown key '" + std::string(key.str()) + "'");
      }
      d.id = (*t)["id"].value_or(std::string());
      if (!ValidId(d.id)) problem(where, "id must be lower-case letters, digits and _ (at most 60)");
      if (!seen.insert(d.id).second) problem(where, "id '" + d.id + "' is used twice");
      where += " (" + d.id + ")";
      std::string trigger = (*t)["trigger"].value_or(std::string());
      if (trigger == "avoid_ends") {
        d.trigger = ReminderTrigger::kAvoidEnds;
      } else if (trigger == "daily_while_avoided") {
        d.trigger = ReminderTrigger::kDailyWhileAvoided;
      } else if (trigger == "series_next") {
        d.trigger = ReminderTrigger::kSeriesNext;
      } else {
        problem(where, "trigger must be avoid_ends, daily_while_avoided or series_next");
      }
      for (const char* key : {"activities", "after"}) {
        std::vector<std::string>& target = std::string_view(key) == "after" ? d.after : d.activities;
        if (const auto* a = (*t)[key].as_array()) {
          for (const auto& item : *a) {
            if (auto s = item.value<std::string>()) {
              target.push_back(*s);
            } else {
              problem(where, std::string(key) + " must be a list of activity ids");
            }
          }
        } else if (t->contains(key)) {
          problem(where, std::string(key) + " must be a list of activity ids");
        }
      }
      if (d.trigger != ReminderTrigger::kSeriesNext && d.activities.empty()) {
        problem(where, "activities: at least one activity id");
      }
      if (d.trigger == ReminderTrigger::kDailyWhileAvoided && d.activities.size() != 1) {
        problem(where, "a daily reminder follows exactly one activity");
      }
      d.subject = (*t)["subject"].value_or(std::string());
      d.text = (*t)["text"].value_or(std::string());
      if (d.subject.empty() || d.subject.size() > 200 || d.subject.find_first_of("\r\n") != std::string::npos) {
        problem(where, "subject: one line of at most 200 characters");
      }
      if (d.text.empty()) problem(where, "text is missing");
      out.reminders.push_back(std::move(d));
    }
  }
  if (!problems.empty()) {
    std::string message = std::string(origin) + ": " + problems.front();
    if (problems.size() > 1) message += " (and " + std::to_string(problems.size() - 1) + " more problems)";
    return MakeError(message);
  }
  return out;
}

const ReminderDefinitions& BuiltinReminderDefinitions() {
  static const ReminderDefinitions kDefinitions = [] {
    auto parsed = ParseReminderDefinitions(notify_internal::kRemindersToml, "lexicons/reminders.toml");
    if (!parsed) throw std::logic_error("the built-in reminders are invalid: " + parsed.error().message);
    return std::move(parsed).value();
  }();
  return kDefinitions;
}

Instant OutOfQuietHours(Instant at, Zone zone, const ReminderDefinitions& definitions) {
  const minutes from = definitions.quiet_from, until = definitions.quiet_until;
  if (from == until || zone == nullptr) return at;
  date::local_seconds day = LocalDay(at, zone);
  auto minute_of_day = std::chrono::duration_cast<minutes>(zone->to_local(at) - day);
  bool quiet = from < until ? (minute_of_day >= from && minute_of_day < until)
                            : (minute_of_day >= from || minute_of_day < until);
  if (!quiet) return at;
  // The quiet period ends at `until` today if we are before it, else tomorrow.
  date::local_seconds end = day + until;
  if (minute_of_day >= until) end += date::days(1);
  return std::max(at, ToSys(end, zone));
}

std::vector<Reminder> PlanReminders(const Plan& plan, const ReminderDefinitions& definitions, Instant not_before,
                                    const std::string& display_name) {
  const Protocol& protocol = plan.protocol();
  const Zone zone = plan.procedure().zone;
  const Instant end = plan.procedure().end;
  Fill fill;
  fill.name = display_name.empty() ? "there" : display_name;
  if (protocol.series) {
    fill.min_count = std::to_string(protocol.series->min_count);
    fill.max_count = std::to_string(protocol.series->max_count);
  }
  std::vector<Reminder> out;
  auto add = [&](const ReminderDefinition& d, std::string key, Instant milestone, std::vector<const Sentence*> sources,
                 Fill f) {
    Reminder r;
    r.key = std::move(key);
    r.definition = d.id;
    r.milestone = milestone;
    r.due = OutOfQuietHours(milestone, zone, definitions);
    f.when = FormatLocalShort(milestone, zone);
    r.subject = f(d.subject);
    r.text = f(d.text);
    r.sources = std::move(sources);
    if (r.due >= not_before) out.push_back(std::move(r));
  };
  // When the first avoid window of an activity ends; nullopt if it has none or it never ends.
  auto avoid_end = [&](const std::string& activity) -> std::optional<std::pair<const ActivityTimeline*, Instant>> {
    const ActivityTimeline* timeline = plan.FindTimeline(activity);
    if (!timeline) return std::nullopt;
    auto avoid = FirstAvoid(*timeline);
    if (!avoid || !avoid->second->until) return std::nullopt;
    return std::pair(timeline, *avoid->second->until);
  };
  // The sentences behind an avoid window (all its segments) and behind what follows it.
  auto window_sources = [&](const ActivityTimeline& timeline, Instant until, bool with_next,
                            std::vector<const Sentence*>* sources) {
    auto avoid = FirstAvoid(timeline);
    for (const Segment* s = avoid->first; s <= avoid->second; ++s) AddRuleSources(protocol, s, sources);
    if (with_next) AddRuleSources(protocol, SegmentFrom(timeline, until), sources);
  };

  for (const auto& d : definitions.reminders) {
    switch (d.trigger) {
      case ReminderTrigger::kAvoidEnds: {
        std::optional<Instant> milestone;
        std::vector<const Sentence*> sources;
        for (const auto& activity : d.activities) {
          auto ends = avoid_end(activity);
          if (!ends) continue;
          milestone = milestone ? std::max(*milestone, ends->second) : ends->second;
          window_sources(*ends->first, ends->second, true, &sources);
        }
        if (milestone) add(d, d.id, *milestone, std::move(sources), fill);
        break;
      }
      case ReminderTrigger::kDailyWhileAvoided: {
        auto ends = avoid_end(d.activities.front());
        if (!ends) break;
        Instant start = std::max(end, FirstAvoid(*ends->first)->first->from);
        for (const auto& activity : d.after) {
          if (auto after = avoid_end(activity)) start = std::max(start, after->second);
        }
        std::vector<const Sentence*> sources;
        window_sources(*ends->first, ends->second, false, &sources);
        Fill f = fill;
        f.until = FormatLocalShort(ends->second, zone);
        for (date::local_seconds day = LocalDay(start, zone);; day += date::days(1)) {
          Instant at = ToSys(day + definitions.morning, zone);
          if (at >= ends->second) break;
          if (at < start) continue;
          add(d, d.id + "." + date::format("%F", day), at, sources, f);
        }
        break;
      }
      case ReminderTrigger::kSeriesNext: {
        if (!protocol.series) break;
        std::vector<const Sentence*> sources;
        AddSources(protocol, protocol.series->sources, &sources);
        add(d, d.id, plan.At(protocol.series->min_interval), std::move(sources), fill);
        break;
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const Reminder& a, const Reminder& b) { return a.due < b.due; });
  return out;
}

}  // namespace aftercare
