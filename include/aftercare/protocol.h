// A protocol: one clinic's aftercare sheet as data. Sentences of the sheet, verbatim with stable ids; activities a
// patient asks about; rules giving each activity a verdict over a window measured from the end of the procedure;
// expected reactions; the treatment series; and how the file resolves each place the sheet contradicts itself.
// The file format is documented in docs/protocol-format.md. Protocol objects are immutable once loaded and safe to
// share between threads.
#ifndef AFTERCARE_PROTOCOL_H_
#define AFTERCARE_PROTOCOL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aftercare/duration.h"
#include "aftercare/result.h"

namespace aftercare {

inline constexpr int kProtocolFormatVersion = 1;

// What the sheet says about an activity at a moment. kNotCovered: no rule of the sheet applies then.
enum class Verdict { kAvoid, kCaution, kRecommended, kAllowed, kNotCovered };

// "avoid", "caution", "recommended", "allowed", "not_covered".
std::string_view VerdictName(Verdict verdict);
std::optional<Verdict> ParseVerdict(std::string_view name);
// Lower is more restrictive: avoid < caution < recommended < allowed < not_covered.
inline int Restrictiveness(Verdict verdict) { return static_cast<int>(verdict); }

struct Sentence {
  std::string id;
  std::string section;      // "intro", "bullets", "day1" ... as the sheet groups them
  std::string text;         // verbatim from the sheet
  bool informational = false;  // explains or describes; states no rule
};

struct Area {
  std::string id;     // "face", "periorbital"
  std::string label;  // "around the eyes"
};

struct Context {
  std::string id;     // "outdoors"
  std::string label;
};

struct Activity {
  std::string id;     // canonical, e.g. "makeup"
  std::string label;  // in the patient's words
  std::vector<std::string> synonyms;
};

struct Rule {
  std::string id;        // stable; given in the file or "<activity>#<n>"
  std::string activity;  // Activity::id
  Verdict verdict = Verdict::kAllowed;
  Offset from;
  std::optional<Offset> until;  // none: the sheet gives no end
  std::vector<std::string> areas;  // applies only if one of these areas was treated; empty: always
  std::string context;             // applies only in this context ("outdoors"); empty: always
  std::optional<Offset> repeat_every;  // e.g. reapply every 2h (while in `context`)
  std::string note;                    // the sheet's qualifier in short: "SPF 30 or above"
  std::vector<std::string> sources;    // Sentence ids
};

struct Reaction {
  std::string id;
  std::string label;
  std::vector<std::string> synonyms;
  Offset from;
  std::optional<Offset> until;
  std::vector<std::string> areas;  // expected only if one of these was treated; empty: any
  std::string advice;
  std::vector<std::string> sources;
};

struct Series {
  Offset min_interval;
  int min_count = 1;
  int max_count = 1;
  std::vector<std::string> sources;
};

// Where the sheet contradicts itself or is silent, and the reading the file takes (the more restrictive).
struct Resolution {
  std::string id;
  std::string subject;              // activity or reaction id it concerns, if any
  std::vector<std::string> rules;   // Rule ids whose overlap it resolves
  std::vector<std::string> sentences;
  std::string conflict;
  std::string reading;
};

struct Protocol {
  int format_version = kProtocolFormatVersion;
  std::string id;
  std::string name;
  std::string version;
  std::string sheet;  // path of the verbatim sheet, relative to the protocol file; may be empty
  std::string origin;  // where it was loaded from ("built-in" or a path)

  std::vector<Sentence> sentences;
  std::vector<Area> areas;
  std::vector<Context> contexts;
  std::vector<Activity> activities;
  std::vector<Rule> rules;
  std::vector<Reaction> reactions;
  std::optional<Series> series;
  std::vector<Resolution> resolutions;

  const Sentence* FindSentence(std::string_view wanted) const;
  const Activity* FindActivity(std::string_view wanted) const;
  const Reaction* FindReaction(std::string_view wanted) const;
  const Rule* FindRule(std::string_view wanted) const;
  const Area* FindArea(std::string_view wanted) const;
  const Context* FindContext(std::string_view wanted) const;
};

// A problem found in a protocol file; `where` names the entry ("rules[3] (makeup#1)").
struct Finding {
  std::string where;
  std::string message;
};

// Parses and validates TOML text. Fails with the first problem (and how many more) if the file is not a
// valid protocol; `origin` names it in messages.
Result<Protocol> ParseProtocol(std::string_view toml_text, std::string_view origin);

// Reads and parses a protocol file.
Result<Protocol> LoadProtocolFile(const std::string& path);

// The CIT protocol compiled into the binary (protocols/cit.toml at build time).
const Protocol& BuiltinProtocol();
std::string_view BuiltinProtocolText();
// The clinic's sheet the built-in protocol quotes, verbatim (protocols/cit.sheet.txt).
std::string_view BuiltinSheetText();

// Reads a file whole; the error names the path and the reason.
Result<std::string> ReadTextFile(const std::string& path);

}  // namespace aftercare

#endif  // AFTERCARE_PROTOCOL_H_
