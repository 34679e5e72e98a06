#include "lexicon_util.h"

#include <algorithm>
#include <cctype>

#include "aftercare/protocol.h"
#include "aftercare/text.h"

namespace aftercare::checks_internal {

Error LexiconErrors::ToError() const {
  std::string first = "invalid";
  if (!findings_.empty()) {
    const Finding& f = findings_.front();
    first = f.where.empty() ? f.message : f.where + ": " + f.message;
  }
  std::string text = origin_ + ": " + first;
  if (findings_.size() > 1) {
    text += " (and " + std::to_string(findings_.size() - 1) + " more problem" + (findings_.size() > 2 ? "s" : "") + ")";
  }
  return MakeError(std::move(text));
}

Result<bool> ReadLexicon(std::string_view toml_text, std::string_view origin,
                         const std::function<void(const toml::table&, LexiconErrors*)>& read) {
  LexiconErrors errors{std::string(origin)};
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return MakeError(std::string(origin) + ": line " + std::to_string(where.line) + ": " +
                     std::string(e.description()));
  }
  const toml::node* version = root.get("format_version");
  if (version == nullptr || !version->is_integer()) {
    errors.Add("", "missing 'format_version' (this build reads format_version = 1)");
    return errors.ToError();
  }
  if (version->as_integer()->get() != 1) {
    errors.Add("", "format_version " + std::to_string(version->as_integer()->get()) +
                       " is not supported (this build reads format_version = 1)");
    return errors.ToError();
  }
  read(root, &errors);
  if (!errors.empty()) return errors.ToError();
  return true;
}

void ForEachTable(const toml::table& root, std::string_view key, LexiconErrors* errors,
                  const std::function<void(const toml::table&, std::string where)>& visit) {
  ForEachTomlTable(root, key, errors->findings(),
                   [&](const toml::table& table, const std::string& where) { visit(table, where); });
}

std::string Singular(std::string_view word) {
  if (word.size() > 3 && word.back() == 's') {
    std::string_view ending = word.substr(word.size() - 2);
    if (ending != "ss" && ending != "us" && ending != "is" && ending != "os") {
      return std::string(word.substr(0, word.size() - 1));
    }
  }
  return std::string(word);
}

bool IsNumber(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::vector<std::string> Words(std::string_view text) {
  // Typographic quotes are apostrophes ("I’m" -> "im"); en and em dashes separate words.
  std::string plain(text);
  for (const auto& [from, to] : {std::pair<std::string_view, std::string_view>{"\xE2\x80\x99", ""},
                                 {"\xE2\x80\x98", ""}, {"\xE2\x80\x93", " "}, {"\xE2\x80\x94", " "}}) {
    std::size_t at = 0;
    while ((at = plain.find(from, at)) != std::string::npos) plain.replace(at, from.size(), to);
  }
  std::string normalized = NormalizeWords(plain);
  std::vector<std::string> words;
  std::string current;
  // A word needs an ASCII letter or digit: a dash or quote mark in UTF-8 ("—", "’") is not one.
  auto flush = [&] {
    if (std::any_of(current.begin(), current.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
      words.push_back(std::move(current));
    }
    current.clear();
  };
  for (std::size_t i = 0; i < normalized.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(normalized[i]);
    if (c == ' ') {
      flush();
      continue;
    }
    if (!current.empty()) {
      bool was_digit = std::isdigit(static_cast<unsigned char>(current.back())) != 0;
      bool is_digit = std::isdigit(c) != 0;
      if (was_digit != is_digit) flush();
    }
    current.push_back(static_cast<char>(c));
  }
  flush();
  return words;
}

std::vector<std::string> Key(std::string_view text, const std::vector<std::string>& drop) {
  std::vector<std::string> out;
  for (const std::string& word : Words(text)) {
    std::string singular = Singular(word);
    if (std::find(drop.begin(), drop.end(), singular) != drop.end()) continue;
    if (std::find(drop.begin(), drop.end(), word) != drop.end()) continue;
    out.push_back(std::move(singular));
  }
  return out;
}

std::string Join(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += separator;
    out += words[i];
  }
  return out;
}

std::size_t FindPhrase(const std::vector<std::string>& words, const std::vector<std::string>& phrase,
                       std::size_t from) {
  if (phrase.empty() || phrase.size() > words.size()) return std::string::npos;
  for (std::size_t i = from; i + phrase.size() <= words.size(); ++i) {
    if (std::equal(phrase.begin(), phrase.end(), words.begin() + static_cast<std::ptrdiff_t>(i))) return i;
  }
  return std::string::npos;
}

void AddUnique(std::vector<std::string>* list, const std::string& item) {
  if (std::find(list->begin(), list->end(), item) == list->end()) list->push_back(item);
}

}  // namespace aftercare::checks_internal
