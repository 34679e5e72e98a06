// Lint: every problem of a protocol file at once, and the contradictions of the sheet with the reading taken.
#ifndef AFTERCARE_LINT_H_
#define AFTERCARE_LINT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aftercare/protocol.h"

namespace aftercare {

struct LintReport {
  std::vector<Finding> errors;       // the file is not usable while any remain
  std::vector<Finding> warnings;     // usable, but worth a look
  std::optional<Protocol> protocol;  // set when the file parsed
  bool ok() const { return errors.empty(); }
};

// Checks TOML text: syntax, unknown ids, bad durations and verdicts, windows that end before they start,
// overlapping windows with different verdicts and no resolution, sentences used by nothing and not marked
// informational. When `sheet_text` is given, also that each sentence is verbatim in it and that every statement of
// the sheet is in the file.
LintReport LintProtocolText(std::string_view toml_text, std::string_view origin,
                            std::optional<std::string_view> sheet_text);

// Lints a file; reads the sheet named by its `sheet` key when that file exists.
LintReport LintProtocolFile(const std::string& path);

}  // namespace aftercare

#endif  // AFTERCARE_LINT_H_
