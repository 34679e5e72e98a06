// Small text helpers shared by every part that matches what people type: normalisation and "did you mean".
#ifndef AFTERCARE_TEXT_H_
#define AFTERCARE_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace aftercare {

// Lower-case ASCII, punctuation and '_' / '-' as spaces, runs of spaces collapsed, trimmed: "Sun_Tanning!" -> "sun tanning".
std::string NormalizeWords(std::string_view text);

// Levenshtein distance over bytes.
std::size_t EditDistance(std::string_view a, std::string_view b);
// The same when it is at most `limit`, else limit + 1; cheap when the lengths differ by more than `limit`.
std::size_t EditDistanceWithin(std::string_view a, std::string_view b, std::size_t limit);

// Up to `max` candidates closest to `query` (case-insensitive), nearest first, only those within a plausible distance.
std::vector<std::string> ClosestNames(std::string_view query, const std::vector<std::string>& candidates,
                                      std::size_t max = 3);

// "a, b or c"; quoted: "'a', 'b' or 'c'".
std::string JoinOr(const std::vector<std::string>& items, bool quoted = true);

// `message` on one line: line breaks and other control characters written as escapes ("\\n", "\\x1b"), since a
// message may quote what the user sent. Tabs stay.
std::string OneLine(std::string_view message);

// Splits on a single-character separator, trimming spaces; empty items dropped.
std::vector<std::string> SplitList(std::string_view text, char separator = ',');

}  // namespace aftercare

#endif  // AFTERCARE_TEXT_H_
