// Helpers shared by the checks: reading lexicon TOML without exceptions escaping, and the word-level matching
// every check uses (tokens, plurals, phrases inside a question). Private to src/checks.
#ifndef AFTERCARE_SRC_CHECKS_LEXICON_UTIL_H_
#define AFTERCARE_SRC_CHECKS_LEXICON_UTIL_H_

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "aftercare/result.h"
#include "aftercare/toml_fields.h"

namespace aftercare::checks_internal {

// Collects the problems of one lexicon file; the first becomes the error message.
class LexiconErrors {
 public:
  explicit LexiconErrors(std::string origin) : origin_(std::move(origin)) {}
  void Add(std::string where, std::string message) { findings_.push_back({std::move(where), std::move(message)}); }
  bool empty() const { return findings_.empty(); }
  std::vector<Finding>* findings() { return &findings_; }
  // "<origin>: <where>: <message> (and N more problems)".
  Error ToError() const;

 private:
  std::string origin_;
  std::vector<Finding> findings_;
};

// Typed reads of one TOML table; a wrong type or a missing required key is recorded, never thrown.
class TableReader : public TomlFields {
 public:
  TableReader(const toml::table& table, std::string where, LexiconErrors* errors)
      : TomlFields(table, std::move(where), errors->findings()) {}
};

// Parses TOML text and checks `format_version`; calls `read` with the root table. toml::parse_error is caught here.
Result<bool> ReadLexicon(std::string_view toml_text, std::string_view origin,
                         const std::function<void(const toml::table&, LexiconErrors*)>& read);

// Each array-of-tables entry under `key` (an error if `key` is not an array of tables).
void ForEachTable(const toml::table& root, std::string_view key, LexiconErrors* errors,
                  const std::function<void(const toml::table&, std::string where)>& visit);

// A word without a plural ending: "tablets" -> "tablet", "bruises" -> "bruise", "sinus" stays.
std::string Singular(std::string_view word);

// NormalizeWords, then split digits from letters ("200mg" -> "200 mg"), then into words.
std::vector<std::string> Words(std::string_view text);
// Words() with each word made singular and those in `drop` removed.
std::vector<std::string> Key(std::string_view text, const std::vector<std::string>& drop = {});
std::string Join(const std::vector<std::string>& words, std::string_view separator = " ");
bool IsNumber(std::string_view word);

// Position of `phrase` as consecutive words of `words`, or npos.
std::size_t FindPhrase(const std::vector<std::string>& words, const std::vector<std::string>& phrase,
                       std::size_t from = 0);

// Adds `item` to `list` unless already there.
void AddUnique(std::vector<std::string>* list, const std::string& item);

}  // namespace aftercare::checks_internal

#endif  // AFTERCARE_SRC_CHECKS_LEXICON_UTIL_H_
