// Skincare ingredients: the INCI list parser, the lexicon, and the check against a Plan.
#include <algorithm>
#include <cctype>

#include "aftercare/checks.h"
#include "aftercare/text.h"
#include "lexicon_util.h"

namespace aftercare {

using checks_internal::AddUnique;
using checks_internal::IsNumber;
using checks_internal::Join;
using checks_internal::Key;
using checks_internal::TableReader;

namespace {

std::string Trim(std::string_view text) {
  // Also a ")" left at the start or a "(" at the end by a "(+/-)" marker.
  std::size_t begin = text.find_first_not_of(" \t\r\n.:*)");
  if (begin == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(" \t\r\n.:*(");
  std::string out;
  for (char c : text.substr(begin, end - begin + 1)) {
    bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (space && !out.empty() && out.back() == ' ') continue;
    out.push_back(space ? ' ' : c);
  }
  return out;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void ReplaceAll(std::string* text, std::string_view from, std::string_view to) {
  std::size_t at = 0;
  while ((at = text->find(from, at)) != std::string::npos) {
    text->replace(at, from.size(), to);
    at += to.size();
  }
}

// Removes "2%", "0.5 %", "10 percent"-free forms: a number (with . or ,) directly before a percent sign.
std::string DropPercentages(std::string text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      // Walk back over spaces and the number.
      std::size_t j = out.size();
      while (j > 0 && out[j - 1] == ' ') --j;
      while (j > 0 && (std::isdigit(static_cast<unsigned char>(out[j - 1])) || out[j - 1] == '.' ||
                       out[j - 1] == ',')) {
        --j;
      }
      out.resize(j);
      continue;
    }
    out.push_back(text[i]);
  }
  return out;
}

// The key a printed name is looked up by: words, singular, numbers dropped.
std::string NameKey(std::string_view name) {
  std::vector<std::string> words;
  for (std::string& w : Key(name)) {
    if (!IsNumber(w)) words.push_back(std::move(w));
  }
  return Join(words);
}

// The names one printed item stands for: "Aqua (Water)" -> Aqua, Water; "Aqua/Water/Eau" -> each; the whole too.
std::vector<std::string> NamesOf(const std::string& printed) {
  std::vector<std::string> names;
  std::string outside;
  std::string inside;
  std::vector<std::string> parts_inside;
  int depth = 0;
  for (char c : printed) {
    if (c == '(' || c == '[') {
      if (depth++ == 0) inside.clear();
      outside.push_back(' ');
      continue;
    }
    if ((c == ')' || c == ']') && depth > 0) {
      if (--depth == 0) parts_inside.push_back(inside);
      continue;
    }
    (depth > 0 ? inside : outside).push_back(c);
  }
  if (depth > 0) parts_inside.push_back(inside);
  auto add = [&](const std::string& text) {
    std::string t = Trim(text);
    if (!t.empty() && !NormalizeWords(t).empty()) AddUnique(&names, t);
  };
  auto add_with_slashes = [&](const std::string& text) {
    add(text);
    if (text.find('/') != std::string::npos) {
      std::string spaced = text;
      std::replace(spaced.begin(), spaced.end(), '/', ' ');
      for (const std::string& part : SplitList(text, '/')) add(part);
    }
  };
  add_with_slashes(outside);
  for (const std::string& part : parts_inside) {
    for (const std::string& piece : SplitList(part, ',')) add_with_slashes(piece);
  }
  // The whole, parentheses read as words, when they sit inside the name: "Citrus Aurantium Dulcis (Orange) Peel Oil".
  std::size_t close = printed.find_last_of(")]");
  if (!parts_inside.empty() && close != std::string::npos && !Trim(printed.substr(close + 1)).empty()) {
    std::string whole = printed;
    std::replace_if(whole.begin(), whole.end(), [](char c) { return c == '(' || c == ')' || c == '[' || c == ']'; }, ' ');
    add(whole);
  }
  return names;
}

}  // namespace

std::vector<InciItem> ParseInciList(std::string_view input) {
  std::string text(input);
  // Bullets and middle dots used as separators (UTF-8), and "+/-" (may contain) before slashes are read as names.
  ReplaceAll(&text, "\xE2\x80\xA2", ",");
  ReplaceAll(&text, "\xC2\xB7", ",");
  ReplaceAll(&text, "+/-", " \x01 ");
  ReplaceAll(&text, "\xC2\xB1", " \x01 ");  // the ± sign
  text = DropPercentages(std::move(text));
  // Line breaks separate items only when the list has no other separator; otherwise they are wrapped lines.
  bool has_separator = text.find_first_of(",;") != std::string::npos;
  for (char& c : text) {
    if (c == '\r' || c == '\n' || c == '\t') c = has_separator ? ' ' : ',';
  }
  // ". " ends a sentence ("Active: Salicylic Acid 2%. Inactive: Water, ..."); a decimal point does not.
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] == '.' && text[i + 1] == ' ') text[i] = ',';
  }
  // Headings and "may contain" markers.
  std::string lower = Lower(text);
  for (std::string_view heading : {"inactive ingredients", "active ingredients", "inactive ingredient",
                                   "active ingredient", "ingredients", "ingredient", "inci"}) {
    std::size_t at = 0;
    while ((at = lower.find(heading, at)) != std::string::npos) {
      std::size_t end = at + heading.size();
      while (end < lower.size() && lower[end] == ' ') ++end;
      if (end < lower.size() && lower[end] == ':') {
        text.replace(at, end + 1 - at, std::string(end + 1 - at, ','));
        lower.replace(at, end + 1 - at, std::string(end + 1 - at, ','));
      }
      at = end;
    }
  }
  {
    std::size_t at = 0;
    while ((at = lower.find("may contain", at)) != std::string::npos) {
      std::string marker = ",\x01," + std::string(8, ' ');  // as long as "may contain"
      text.replace(at, marker.size(), marker);
      lower.replace(at, marker.size(), marker);
      at += marker.size();
    }
  }

  std::vector<InciItem> items;
  bool may_contain = false;
  std::string current;
  int depth = 0;
  auto flush = [&] {
    std::string printed = current;
    current.clear();
    if (printed.find('\x01') != std::string::npos) {
      may_contain = true;
      printed.erase(std::remove(printed.begin(), printed.end(), '\x01'), printed.end());
    }
    printed = Trim(printed);
    // An item that is only an empty bracket or a colon left from "May contain (+/-):".
    std::string words = NormalizeWords(printed);
    if (words.empty()) return;
    InciItem item;
    item.printed = printed;
    item.names = NamesOf(printed);
    item.may_contain = may_contain;
    if (!item.names.empty()) items.push_back(std::move(item));
  };
  for (char c : text) {
    // Square brackets group the "may contain" colourants: "[+/- CI 77491, CI 77492]"; they separate.
    if (c == '[' || c == ']') {
      flush();
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) --depth;
    if ((c == ',' || c == ';') && depth == 0) {
      flush();
      continue;
    }
    if (c == '\x01') {
      flush();
      may_contain = true;
      depth = 0;
      continue;
    }
    current.push_back(c);
  }
  flush();
  return items;
}

std::string_view IngredientStatusName(IngredientStatus status) {
  switch (status) {
    case IngredientStatus::kFlagged: return "flagged";
    case IngredientStatus::kNotFlagged: return "not_flagged";
    case IngredientStatus::kUnknown: return "unknown";
    case IngredientStatus::kNotListed: return "not_listed";
  }
  return "not_listed";
}

Result<IngredientLexicon> IngredientLexicon::Parse(std::string_view toml_text, std::string_view origin) {
  IngredientLexicon lexicon;
  auto read = [&](const toml::table& root, checks_internal::LexiconErrors* errors) {
    TableReader top(root, "", errors);
    top.CheckKeys({"format_version", "flagged_activity", "suspicious_words", "unknown_advice", "categories",
                   "ingredients"});
    lexicon.flagged_activity_ = top.String("flagged_activity", true);
    lexicon.unknown_advice_ = top.String("unknown_advice", true);
    for (const std::string& w : top.Strings("suspicious_words")) lexicon.suspicious_words_.push_back(NormalizeWords(w));

    checks_internal::ForEachTable(root, "categories", errors, [&](const toml::table& t, std::string where) {
      TableReader r(t, where, errors);
      r.CheckKeys({"id", "label", "flagged"});
      SkinCategory c;
      c.id = r.String("id", true);
      c.label = r.String("label", true);
      c.flagged = r.Bool("flagged", false);
      if (lexicon.FindCategory(c.id) != nullptr) r.Error("category '" + c.id + "' is defined twice");
      lexicon.categories_.push_back(std::move(c));
    });
    checks_internal::ForEachTable(root, "ingredients", errors, [&](const toml::table& t, std::string where) {
      TableReader r(t, where, errors);
      r.CheckKeys({"name", "aliases", "category", "note"});
      SkinIngredient i;
      i.name = r.String("name", true);
      i.aliases = r.Strings("aliases");
      i.category = r.String("category", true);
      i.note = r.String("note", false);
      if (!i.category.empty() && lexicon.FindCategory(i.category) == nullptr) {
        r.Error("unknown category '" + i.category + "'");
      }
      std::size_t index = lexicon.ingredients_.size();
      std::vector<std::string> names = {i.name};
      names.insert(names.end(), i.aliases.begin(), i.aliases.end());
      for (const std::string& n : names) {
        std::string key = NameKey(n);
        for (const auto& [other, other_index] : lexicon.names_) {
          if (other == key && other_index != index) {
            r.Error("the name '" + n + "' is also '" + lexicon.ingredients_[other_index].name + "'");
          }
        }
        lexicon.names_.emplace_back(key, index);
      }
      lexicon.ingredients_.push_back(std::move(i));
    });
  };
  auto ok = checks_internal::ReadLexicon(toml_text, origin, read);
  if (!ok) return ok.error();
  return lexicon;
}

Result<IngredientLexicon> IngredientLexicon::LoadFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return text.error();
  return Parse(*text, path);
}

const SkinCategory* IngredientLexicon::FindCategory(std::string_view id) const {
  for (const auto& c : categories_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const SkinIngredient* IngredientLexicon::Find(std::string_view name) const {
  std::string key = NameKey(name);
  if (key.empty()) return nullptr;
  for (const auto& [other, index] : names_) {
    if (other == key) return &ingredients_[index];
  }
  return nullptr;
}

bool IngredientLexicon::LooksLikeAcidOrExfoliant(std::string_view name) const {
  for (const std::string& word : checks_internal::Words(name)) {
    for (const std::string& suspicious : suspicious_words_) {
      // Short words ("aha") match whole words only; longer ones the start of a word ("salicyl" -> "salicylate").
      if (suspicious.size() <= 3 ? word == suspicious : word.rfind(suspicious, 0) == 0) return true;
    }
  }
  return false;
}

Result<IngredientsAnswer> CheckIngredients(const IngredientLexicon& lexicon, const Plan& plan, std::string_view inci,
                                           Instant at) {
  std::vector<InciItem> items = ParseInciList(inci);
  if (items.empty()) {
    return MakeError("no ingredient names in the list; give it as printed, e.g. \"Aqua, Glycolic Acid, Glycerin\"");
  }
  IngredientsAnswer answer;
  bool flagged = false;
  bool unknown = false;
  for (InciItem& item : items) {
    IngredientFinding finding;
    for (const std::string& name : item.names) {
      if (const SkinIngredient* entry = lexicon.Find(name)) {
        const SkinCategory* category = lexicon.FindCategory(entry->category);
        bool is_flagged = category != nullptr && category->flagged;
        // A flagged name wins over an unflagged alias of the same item.
        if (finding.entry == nullptr || is_flagged) {
          finding.entry = entry;
          finding.category = category;
          finding.status = is_flagged ? IngredientStatus::kFlagged : IngredientStatus::kNotFlagged;
        }
      }
    }
    if (finding.entry == nullptr) {
      bool suspicious = std::any_of(item.names.begin(), item.names.end(),
                                    [&](const std::string& n) { return lexicon.LooksLikeAcidOrExfoliant(n); });
      finding.status = suspicious ? IngredientStatus::kUnknown : IngredientStatus::kNotListed;
    }
    flagged = flagged || finding.status == IngredientStatus::kFlagged;
    unknown = unknown || finding.status == IngredientStatus::kUnknown;
    if (finding.entry != nullptr && !finding.entry->note.empty() && finding.status == IngredientStatus::kFlagged) {
      AddUnique(&answer.advice, finding.entry->name + ": " + finding.entry->note + ".");
    }
    finding.item = std::move(item);
    answer.items.push_back(std::move(finding));
  }
  auto protocol_answer = plan.Can(lexicon.flagged_activity(), at);
  if (protocol_answer) answer.answer = *protocol_answer;
  if (flagged) {
    answer.verdict = protocol_answer ? std::string(VerdictName(protocol_answer->verdict())) : "unknown";
    if (!protocol_answer) AddUnique(&answer.advice, lexicon.unknown_advice());
  } else if (unknown) {
    answer.verdict = "unknown";
    AddUnique(&answer.advice, lexicon.unknown_advice());
  } else {
    answer.verdict = "none_flagged";
  }
  return answer;
}

}  // namespace aftercare
