// Medicines: the lexicon (products -> ingredients -> classes) and the check against a Plan.
#include <algorithm>
#include <map>

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

// Words that say how a medicine comes, not which it is: dropped before matching ("Advil 200mg tablets").
const std::vector<std::string>& FormWords() {
  static const std::vector<std::string> words = {
      "tablet", "tab", "caplet", "capsule", "cap", "gelcap", "liquigel", "softgel", "pill", "chewable", "coated",
      "enteric", "film", "oral", "suspension", "liquid", "syrup", "drop", "dose", "a", "an", "the", "some", "my",
      "of", "x"};
  return words;
}
// Dose units, dropped together with numbers at the second level.
const std::vector<std::string>& UnitWords() {
  static const std::vector<std::string> words = {"mg", "mcg", "g", "ml", "iu", "unit", "hr", "hour", "strength"};
  return words;
}

std::vector<std::string> LevelOne(std::string_view text) {
  // "dose" is a form word only after a number ("2 doses"); "low dose" keeps it.
  std::vector<std::string> words = Key(text);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    bool form = std::find(FormWords().begin(), FormWords().end(), w) != FormWords().end();
    if (w == "dose" && (i == 0 || !IsNumber(words[i - 1]))) form = false;
    if (!form) out.push_back(w);
  }
  return out;
}

std::vector<std::string> LevelTwo(const std::vector<std::string>& level_one) {
  std::vector<std::string> out;
  for (const std::string& w : level_one) {
    if (IsNumber(w) || std::find(UnitWords().begin(), UnitWords().end(), w) != UnitWords().end()) continue;
    out.push_back(w);
  }
  return out;
}

bool HasDose(const std::vector<std::string>& level_one) { return LevelTwo(level_one).size() != level_one.size(); }

std::string Sorted(std::vector<std::string> words) {
  std::sort(words.begin(), words.end());
  return Join(words);
}

int Rank(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAvoid: return 0;
    case Verdict::kCaution: return 1;
    case Verdict::kNotCovered: return 2;
    case Verdict::kRecommended: return 3;
    case Verdict::kAllowed: return 4;
  }
  return 2;
}

// The lexicon's indexes: level-one keys (doses kept), level-two keys (no doses; only names written without one),
// and both with their words sorted.
struct Index {
  std::map<std::string, std::size_t> one, one_sorted, two, two_sorted;
};

}  // namespace

Result<MedicineLexicon> MedicineLexicon::Parse(std::string_view toml_text, std::string_view origin) {
  MedicineLexicon lexicon;
  auto read = [&](const toml::table& root, checks_internal::LexiconErrors* errors) {
    TableReader top(root, "", errors);
    top.CheckKeys({"format_version", "unknown_advice", "not_covered_advice", "classes", "ingredients", "products"});
    lexicon.unknown_advice_ = top.String("unknown_advice", true);
    lexicon.not_covered_advice_ = top.String("not_covered_advice", true);

    checks_internal::ForEachTable(root, "classes", errors, [&](const toml::table& t, std::string where) {
      TableReader r(t, where, errors);
      r.CheckKeys({"id", "label", "activity", "at_most", "advice"});
      MedicineClass c;
      c.id = r.String("id", true);
      c.label = r.String("label", true);
      c.activity = r.String("activity", false);
      std::string at_most = r.String("at_most", false);
      if (!at_most.empty()) {
        c.at_most = ParseVerdict(at_most);
        if (!c.at_most) r.Error("'at_most' must be a verdict (avoid, caution, recommended, allowed), not '" + at_most + "'");
      }
      c.advice = r.String("advice", false);
      if (lexicon.FindClass(c.id) != nullptr) r.Error("class '" + c.id + "' is defined twice");
      lexicon.classes_.push_back(std::move(c));
    });

    checks_internal::ForEachTable(root, "ingredients", errors, [&](const toml::table& t, std::string where) {
      TableReader r(t, where, errors);
      r.CheckKeys({"id", "rxnorm", "atc", "classes", "aliases"});
      MedicineIngredient ing;
      ing.id = r.String("id", true);
      ing.rxnorm = r.String("rxnorm", true);
      ing.atc = r.Strings("atc");
      ing.classes = r.Strings("classes");
      ing.aliases = r.Strings("aliases");
      if (ing.classes.empty()) r.Error("ingredient '" + ing.id + "' needs at least one class");
      for (const std::string& c : ing.classes) {
        if (lexicon.FindClass(c) == nullptr) r.Error("unknown class '" + c + "'");
      }
      for (const std::string& code : ing.atc) {
        bool shaped = code.size() == 7 && std::isupper(static_cast<unsigned char>(code[0])) &&
                      std::isdigit(static_cast<unsigned char>(code[1])) && std::isdigit(static_cast<unsigned char>(code[2]));
        if (!shaped) r.Error("'" + code + "' is not an ATC code (like M01AE01)");
      }
      if (lexicon.FindIngredient(ing.id) != nullptr) r.Error("ingredient '" + ing.id + "' is defined twice");
      lexicon.ingredients_.push_back(std::move(ing));
    });

    checks_internal::ForEachTable(root, "products", errors, [&](const toml::table& t, std::string where) {
      TableReader r(t, where, errors);
      r.CheckKeys({"name", "kind", "rx", "ingredients", "classes", "aliases"});
      MedicineProduct p;
      p.name = r.String("name", true);
      p.kind = r.String("kind", true);
      if (!p.kind.empty() && p.kind != "brand" && p.kind != "generic") r.Error("'kind' must be 'brand' or 'generic'");
      p.rx = r.Bool("rx", false);
      p.ingredients = r.Strings("ingredients");
      p.classes = r.Strings("classes");
      p.aliases = r.Strings("aliases");
      if (p.ingredients.empty()) r.Error("product '" + p.name + "' needs at least one ingredient");
      for (const std::string& i : p.ingredients) {
        if (lexicon.FindIngredient(i) == nullptr) r.Error("unknown ingredient '" + i + "'");
      }
      for (const std::string& c : p.classes) {
        if (lexicon.FindClass(c) == nullptr) r.Error("unknown class '" + c + "'");
      }
      lexicon.products_.push_back(std::move(p));
    });

    // Index every name; a name claimed by two products is an error.
    std::map<std::string, std::size_t> owner;
    auto claim = [&](const std::string& name, std::size_t product, bool from_file) -> bool {
      std::string key = Join(LevelOne(name));
      if (key.empty()) {
        if (from_file) errors->Add("products", "'" + name + "' has no words once dose and form words are dropped");
        return false;
      }
      auto [it, inserted] = owner.emplace(key, product);
      if (!inserted && it->second != product) {
        if (from_file) {
          errors->Add("products", "the name '" + name + "' is claimed by both '" + lexicon.products_[it->second].name +
                                      "' and '" + lexicon.products_[product].name + "'");
        }
        return false;
      }
      if (inserted) lexicon.names_.emplace_back(key, product);
      return true;
    };
    std::size_t file_products = lexicon.products_.size();
    for (std::size_t i = 0; i < file_products; ++i) {
      claim(lexicon.products_[i].name, i, true);
      for (const std::string& alias : lexicon.products_[i].aliases) claim(alias, i, true);
    }
    // An ingredient's own names answer too, when no product already uses them.
    for (const MedicineIngredient& ing : lexicon.ingredients_) {
      std::vector<std::string> names = {ing.rxnorm};
      names.insert(names.end(), ing.aliases.begin(), ing.aliases.end());
      std::size_t index = lexicon.products_.size();
      MedicineProduct p;
      p.name = ing.rxnorm;
      p.kind = "ingredient";
      p.ingredients = {ing.id};
      lexicon.products_.push_back(p);
      bool any = false;
      for (const std::string& n : names) {
        if (owner.count(Join(LevelOne(n))) == 0) {
          any = claim(n, index, false) || any;
        }
      }
      if (!any) lexicon.products_.pop_back();
    }
  };
  auto ok = checks_internal::ReadLexicon(toml_text, origin, read);
  if (!ok) return ok.error();
  for (const auto& [name, index] : lexicon.names_) {
    lexicon.sorted_names_.push_back(Sorted(Key(name)));
    lexicon.dosed_names_.push_back(HasDose(Key(name)));
  }
  return lexicon;
}

Result<MedicineLexicon> MedicineLexicon::LoadFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return text.error();
  return Parse(*text, path);
}

std::string MedicineLexicon::NotCoveredAdvice(const MedicineClass& cls) const {
  std::string out = not_covered_advice_;
  std::size_t at = out.find("{label}");
  if (at != std::string::npos) out.replace(at, 7, cls.label);
  return out;
}

const MedicineClass* MedicineLexicon::FindClass(std::string_view id) const {
  for (const auto& c : classes_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const MedicineIngredient* MedicineLexicon::FindIngredient(std::string_view id) const {
  for (const auto& i : ingredients_) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

std::vector<const MedicineClass*> MedicineLexicon::ClassesOf(const MedicineProduct& product) const {
  std::vector<const MedicineClass*> out;
  auto add = [&](const std::string& id) {
    const MedicineClass* c = FindClass(id);
    if (c != nullptr && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  if (!product.classes.empty()) {
    for (const auto& id : product.classes) add(id);
    return out;
  }
  for (const auto& ing_id : product.ingredients) {
    if (const MedicineIngredient* ing = FindIngredient(ing_id)) {
      for (const auto& id : ing->classes) add(id);
    }
  }
  return out;
}

MedicineLexicon::Match MedicineLexicon::Find(std::string_view query) const {
  Match match;
  std::vector<std::string> one = LevelOne(query);
  std::vector<std::string> two = LevelTwo(one);
  if (two.empty()) return match;

  auto found = [&](std::size_t index, const std::string& name, bool corrected) {
    match.product = &products_[index];
    match.name = name;
    match.corrected = corrected;
    return match;
  };
  std::string key_one = Join(one), sorted_one = Sorted(one), key_two = Join(two), sorted_two = Sorted(two);
  // Level one: the name as typed, doses kept ("aspirin 81 mg"). Level two: doses dropped, only against names
  // written without a dose, so "aspirin 325mg" is aspirin and never "aspirin 81 mg".
  for (const auto& [name, index] : names_) {
    if (name == key_one) return found(index, name, false);
  }
  for (std::size_t k = 0; k < names_.size(); ++k) {
    if (sorted_names_[k] == sorted_one) return found(names_[k].second, names_[k].first, false);
  }
  std::vector<std::size_t> undosed;  // indices into names_
  for (std::size_t k = 0; k < names_.size(); ++k) {
    if (!dosed_names_[k]) undosed.push_back(k);
  }
  for (std::size_t k : undosed) {
    if (names_[k].first == key_two) return found(names_[k].second, names_[k].first, false);
  }
  for (std::size_t k : undosed) {
    if (sorted_names_[k] == sorted_two) return found(names_[k].second, names_[k].first, false);
  }
  // A small misspelling, only when one product is clearly closest. Distances above `allowed` all count as
  // allowed + 1: they can neither win nor tie with a winner.
  std::size_t allowed = key_two.size() <= 4 ? 0 : key_two.size() <= 7 ? 1 : 2;
  std::size_t best = std::string::npos;
  std::vector<std::size_t> best_products;
  std::string best_name;
  for (std::size_t k : undosed) {
    const auto& [name, index] = names_[k];
    std::size_t d = EditDistanceWithin(key_two, name, allowed);
    if (d < best) {
      best = d;
      best_products = {index};
      best_name = name;
    } else if (d == best && std::find(best_products.begin(), best_products.end(), index) == best_products.end()) {
      best_products.push_back(index);
    }
  }
  if (best != std::string::npos && best <= allowed && best_products.size() == 1) {
    return found(best_products.front(), best_name, true);
  }
  std::vector<std::string> candidates;
  for (std::size_t k : undosed) candidates.push_back(names_[k].first);
  for (const std::string& close : ClosestNames(key_two, candidates, 5)) {
    for (std::size_t k : undosed) {
      if (names_[k].first == close) AddUnique(&match.suggestions, products_[names_[k].second].name);
    }
  }
  if (match.suggestions.size() > 3) match.suggestions.resize(3);
  return match;
}

std::string MedicineVerdictName(const MedicineAnswer& answer) {
  return answer.known() ? std::string(VerdictName(answer.verdict)) : "unknown";
}

MedicineAnswer CheckMedicine(const MedicineLexicon& lexicon, const Plan& plan, std::string_view query, Instant at) {
  MedicineAnswer answer;
  answer.query = std::string(query);
  answer.match = lexicon.Find(query);
  if (!answer.known()) {
    answer.advice.push_back(lexicon.unknown_advice());
    return answer;
  }
  const MedicineProduct& product = *answer.match.product;
  answer.verdict = Verdict::kAllowed;
  for (const MedicineClass* cls : lexicon.ClassesOf(product)) {
    MedicineClassFinding finding;
    finding.cls = cls;
    for (const auto& ing_id : product.ingredients) {
      const MedicineIngredient* ing = lexicon.FindIngredient(ing_id);
      if (ing == nullptr) continue;
      bool in_class = !product.classes.empty() ||
                      std::find(ing->classes.begin(), ing->classes.end(), cls->id) != ing->classes.end();
      if (in_class) finding.ingredients.push_back(ing);
    }
    Result<Answer> protocol_answer =
        cls->activity.empty() ? Result<Answer>(MakeError("")) : plan.Can(cls->activity, at);
    if (protocol_answer) {
      finding.answer = *protocol_answer;
      finding.verdict = protocol_answer->verdict();
      if (cls->at_most && Restrictiveness(finding.verdict) < Restrictiveness(*cls->at_most)) {
        finding.verdict = *cls->at_most;
        finding.capped = true;
      }
      finding.advice = cls->advice;
      for (const Rule* rule : protocol_answer->segment->rules) {
        for (const auto& s : rule->sources) AddUnique(&answer.sources, s);
      }
    } else {
      finding.verdict = Verdict::kNotCovered;
      finding.advice = cls->advice.empty() ? lexicon.NotCoveredAdvice(*cls) : cls->advice;
    }
    if (finding.verdict == Verdict::kNotCovered && finding.advice.empty()) finding.advice = lexicon.NotCoveredAdvice(*cls);
    if (Rank(finding.verdict) < Rank(answer.verdict)) answer.verdict = finding.verdict;
    answer.classes.push_back(std::move(finding));
  }
  if (answer.classes.empty()) answer.verdict = Verdict::kNotCovered;
  for (const auto& finding : answer.classes) {
    if (!finding.advice.empty()) AddUnique(&answer.advice, finding.advice);
    if (finding.verdict == answer.verdict && finding.answer) {
      auto change = finding.answer->changes_at();
      if (change && (!answer.changes_at || *change < *answer.changes_at)) answer.changes_at = change;
    }
  }
  return answer;
}

std::vector<std::string> MissingActivities(const MedicineLexicon& lexicon, const Protocol& protocol) {
  std::vector<std::string> missing;
  for (const auto& cls : lexicon.classes()) {
    if (!cls.activity.empty() && protocol.FindActivity(cls.activity) == nullptr) AddUnique(&missing, cls.activity);
  }
  return missing;
}

}  // namespace aftercare
