// Questions in plain words -> an activity of the protocol or a medicine of the lexicon.
#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "aftercare/checks.h"
#include "aftercare/text.h"
#include "lexicon_util.h"

namespace aftercare {

using checks_internal::AddUnique;
using checks_internal::FindPhrase;
using checks_internal::Join;
using checks_internal::Key;
using checks_internal::TableReader;

Result<PhraseLexicon> PhraseLexicon::Parse(std::string_view toml_text, std::string_view origin) {
  PhraseLexicon lexicon;
  auto read = [&](const toml::table& root, checks_internal::LexiconErrors* errors) {
    TableReader top(root, "", errors);
    top.CheckKeys({"format_version", "leading", "trailing", "ignored", "medicine_verbs", "activities"});
    lexicon.leading_ = top.Strings("leading");
    lexicon.trailing_ = top.Strings("trailing");
    lexicon.ignored_ = top.Strings("ignored");
    lexicon.medicine_verbs_ = top.Strings("medicine_verbs");
    checks_internal::ForEachTable(root, "activities", errors, [&](const toml::table& t, std::string where) {
      TableReader r(t, where, errors);
      r.CheckKeys({"id", "phrases"});
      std::string id = r.String("id", true);
      std::vector<std::string> phrases = r.Strings("phrases");
      if (phrases.empty()) r.Error("'phrases' must list at least one phrase");
      for (auto& p : phrases) lexicon.phrases_.emplace_back(std::move(p), id);
    });
  };
  auto ok = checks_internal::ReadLexicon(toml_text, origin, read);
  if (!ok) return ok.error();
  return lexicon;
}

Result<PhraseLexicon> PhraseLexicon::LoadFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return text.error();
  return Parse(*text, path);
}

namespace {

struct Phrase {
  std::vector<std::string> words;
  std::string text;
  const Activity* activity;
};

// Removes `affixes` (longest first, repeatedly) from the start (or end) of `words`, erasing once at the end.
void StripAffixes(std::vector<std::string>* words, const std::vector<std::string>& affixes, bool leading) {
  std::vector<std::vector<std::string>> keys;
  for (const auto& a : affixes) keys.push_back(Key(a));
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  auto first = words->begin();  // the words left are [first, last)
  auto last = words->end();
  bool changed = true;
  while (changed) {
    changed = false;
    for (const auto& key : keys) {
      auto size = static_cast<std::ptrdiff_t>(key.size());
      if (key.empty() || size >= last - first) continue;
      auto begin = leading ? first : last - size;
      if (std::equal(key.begin(), key.end(), begin)) {
        if (leading) {
          first += size;
        } else {
          last -= size;
        }
        changed = true;
        break;
      }
    }
  }
  if (leading) {
    words->erase(words->begin(), first);
  } else {
    words->erase(last, words->end());
  }
}

std::vector<std::string> Drop(std::vector<std::string> words, const std::vector<std::string>& ignored) {
  words.erase(std::remove_if(words.begin(), words.end(),
                             [&](const std::string& w) {
                               return std::find(ignored.begin(), ignored.end(), w) != ignored.end();
                             }),
              words.end());
  return words;
}

}  // namespace

Result<Understood> ResolvePlainWords(const PhraseLexicon& lexicon, const MedicineLexicon& medicines,
                                     const Protocol& protocol, std::string_view question) {
  std::vector<std::string> words = Key(question);
  if (words.empty()) return MakeError("ask in words, e.g. \"go to the gym\" or \"take Advil\"");
  StripAffixes(&words, lexicon.leading(), true);
  StripAffixes(&words, lexicon.trailing(), false);
  std::vector<std::string> ignored;
  for (const auto& w : lexicon.ignored()) ignored.push_back(checks_internal::Singular(NormalizeWords(w)));

  Understood understood;
  understood.normalized = Join(words);

  // "take Advil", "take 2 Advil for the pain": a medicine verb and a medicine name.
  bool verb = words.size() > 1 && std::find(lexicon.medicine_verbs().begin(), lexicon.medicine_verbs().end(),
                                            words.front()) != lexicon.medicine_verbs().end();
  if (verb) {
    std::vector<std::string> rest(words.begin() + 1, words.end());
    auto match = medicines.Find(Join(rest));
    if (match.product != nullptr) {
      understood.kind = Understood::Kind::kMedicine;
      understood.medicine = Join(rest);
      understood.phrase = words.front() + " " + match.name;
      return understood;
    }
    // The longest medicine name inside the rest.
    std::vector<std::string> rest_key = Drop(rest, ignored);
    std::unordered_set<std::string_view> rest_words(rest_key.begin(), rest_key.end());
    std::size_t best = 0;
    std::string best_name;
    for (const auto& [name, index] : medicines.names()) {
      std::vector<std::string> name_words = Key(name);
      if (name_words.empty() || !rest_words.contains(name_words.front())) continue;  // cannot be inside
      if (name_words.size() > best && FindPhrase(rest_key, name_words) != std::string::npos) {
        best = name_words.size();
        best_name = name;
      }
    }
    if (best > 0) {
      understood.kind = Understood::Kind::kMedicine;
      understood.medicine = best_name;
      understood.phrase = words.front() + " " + best_name;
      return understood;
    }
  }

  // Every way the protocol and the phrase lexicon name an activity.
  std::vector<Phrase> phrases;
  auto add = [&](const std::string& text, const Activity* activity) {
    std::vector<std::string> key = Drop(Key(text), ignored);
    if (!key.empty()) phrases.push_back({std::move(key), text, activity});
  };
  for (const Activity& a : protocol.activities) {
    add(a.id, &a);
    add(a.label, &a);
    for (const auto& s : a.synonyms) add(s, &a);
  }
  for (const auto& [text, id] : lexicon.phrases()) {
    if (const Activity* a = protocol.FindActivity(id)) add(text, a);
  }
  std::vector<std::string> key = Drop(words, ignored);
  if (key.empty()) return MakeError("ask in words, e.g. \"go to the gym\" or \"take Advil\"");

  // A medicine named on its own ("Excedrin?") is a medicine question.
  auto alone = medicines.Find(Join(key));
  if (alone.product != nullptr && !alone.corrected) {
    understood.kind = Understood::Kind::kMedicine;
    understood.medicine = Join(key);
    understood.phrase = alone.name;
    return understood;
  }
  for (const Phrase& p : phrases) {
    if (p.words == key) {
      understood.activity = p.activity;
      understood.phrase = p.text;
      return understood;
    }
  }
  // The longest phrase inside the question; two activities tied is ambiguous.
  std::unordered_set<std::string_view> key_words(key.begin(), key.end());
  std::size_t best = 0;
  std::vector<const Phrase*> winners;
  for (const Phrase& p : phrases) {
    if (!key_words.contains(p.words.front())) continue;  // cannot be inside: saves the scan of a long question
    if (FindPhrase(key, p.words) == std::string::npos) continue;
    if (p.words.size() > best) {
      best = p.words.size();
      winners = {&p};
    } else if (p.words.size() == best) {
      winners.push_back(&p);
    }
  }
  std::vector<const Activity*> activities;
  for (const Phrase* p : winners) {
    if (std::find(activities.begin(), activities.end(), p->activity) == activities.end()) {
      activities.push_back(p->activity);
    }
  }
  if (activities.size() == 1) {
    understood.activity = activities.front();
    understood.phrase = winners.front()->text;
    return understood;
  }
  if (activities.size() > 1) {
    std::vector<std::string> names;
    for (const Activity* a : activities) names.push_back(a->id + " (" + a->label + ")");
    return MakeError("'" + std::string(question) + "' could mean " + JoinOr(names, false) +
                     "; ask about one of them");
  }
  // Nothing: the closest activities by any of their names.
  std::vector<std::string> texts;
  for (const Phrase& p : phrases) texts.push_back(Join(p.words));
  std::vector<std::string> closest;
  for (const std::string& near : ClosestNames(Join(key), texts, 12)) {
    for (const Phrase& p : phrases) {
      if (Join(p.words) == near) AddUnique(&closest, p.activity->id);
    }
    if (closest.size() >= 3) break;
  }
  if (closest.size() > 3) closest.resize(3);
  if (closest.empty()) {
    for (const Activity& a : protocol.activities) closest.push_back(a.id);
    return MakeError("could not tell what '" + std::string(question) + "' is about; the activities are " +
                     JoinOr(closest));
  }
  return MakeError("could not tell what '" + std::string(question) + "' is about; did you mean " + JoinOr(closest) +
                   "?");
}

}  // namespace aftercare
