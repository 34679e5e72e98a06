// Symptoms in a patient's words against the protocol's expected reactions.
#include <algorithm>
#include <cctype>

#include "aftercare/checks.h"
#include "aftercare/text.h"
#include "lexicon_util.h"

namespace aftercare {

using checks_internal::AddUnique;
using checks_internal::FindPhrase;
using checks_internal::IsNumber;
using checks_internal::Join;
using checks_internal::Key;
using checks_internal::TableReader;

std::string_view AssessmentName(Assessment assessment) {
  switch (assessment) {
    case Assessment::kExpected: return "expected";
    case Assessment::kLongerThanExpected: return "longer_than_expected";
    case Assessment::kEarlierThanExpected: return "earlier_than_expected";
    case Assessment::kNotDescribed: return "not_described";
  }
  return "not_described";
}

Result<SymptomLexicon> SymptomLexicon::Parse(std::string_view toml_text, std::string_view origin) {
  SymptomLexicon lexicon;
  auto read = [&](const toml::table& root, checks_internal::LexiconErrors* errors) {
    TableReader top(root, "", errors);
    top.CheckKeys({"format_version", "contact_advice", "not_described_advice", "warning_words", "filler_words",
                   "reactions"});
    lexicon.contact_advice_ = top.String("contact_advice", true);
    lexicon.not_described_advice_ = top.String("not_described_advice", true);
    lexicon.warning_words_ = top.Strings("warning_words");
    lexicon.filler_words_ = top.Strings("filler_words");
    if (lexicon.warning_words_.empty()) top.Error("'warning_words' must list at least one word");
    checks_internal::ForEachTable(root, "reactions", errors, [&](const toml::table& t, std::string where) {
      TableReader r(t, where, errors);
      r.CheckKeys({"id", "words"});
      std::string id = r.String("id", true);
      for (const std::string& w : r.Strings("words")) lexicon.reaction_words_.emplace_back(w, id);
    });
  };
  auto ok = checks_internal::ReadLexicon(toml_text, origin, read);
  if (!ok) return ok.error();
  return lexicon;
}

Result<SymptomLexicon> SymptomLexicon::LoadFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return text.error();
  return Parse(*text, path);
}

namespace {

int Concern(Assessment a) {
  switch (a) {
    case Assessment::kExpected: return 0;
    case Assessment::kEarlierThanExpected: return 1;
    case Assessment::kLongerThanExpected: return 2;
    case Assessment::kNotDescribed: return 3;
  }
  return 3;
}

// The parts of a question that each name one symptom: "red, flaky and itchy" -> "red", "flaky", "itchy".
std::vector<std::string> SplitParts(std::string_view text) {
  std::string spaced;
  for (char c : text) {
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    spaced.push_back(lower == ',' || lower == ';' || lower == '.' || lower == '&' || lower == '+' || lower == '/' ||
                             lower == '!' || lower == '?' || lower == '\n'
                         ? '|'
                         : lower);
  }
  spaced = " " + spaced + " ";
  for (std::string_view joiner : {" and ", " with ", " but ", " plus ", " also "}) {
    std::size_t at;
    while ((at = spaced.find(joiner)) != std::string::npos) spaced.replace(at, joiner.size(), " | ");
  }
  return SplitList(spaced, '|');
}

struct Phrase {
  std::vector<std::string> words;
  const Reaction* reaction;
};

std::string AreaLabels(const Protocol& protocol, const std::vector<std::string>& areas) {
  std::vector<std::string> labels;
  for (const auto& id : areas) {
    const Area* area = protocol.FindArea(id);
    labels.push_back(area ? area->label : id);
  }
  return JoinOr(labels, false);
}

}  // namespace

Result<SymptomAnswer> AssessSymptoms(const SymptomLexicon& lexicon, const Plan& plan, std::string_view words,
                                     Instant at) {
  if (NormalizeWords(words).empty()) {
    return MakeError("describe the symptom in words, e.g. \"still red\" or \"flaking\"");
  }
  const Protocol& protocol = plan.protocol();
  std::vector<Phrase> phrases;
  for (const Reaction& reaction : protocol.reactions) {
    std::vector<std::string> names = reaction.synonyms;
    names.push_back(reaction.id);
    for (const auto& [word, id] : lexicon.reaction_words()) {
      if (id == reaction.id) names.push_back(word);
    }
    for (const auto& name : names) {
      std::vector<std::string> key = Key(name);
      if (!key.empty()) phrases.push_back({std::move(key), &reaction});
    }
  }
  // Longest phrases first, so "micro bruising" wins over "bruising".
  std::stable_sort(phrases.begin(), phrases.end(),
                   [](const Phrase& a, const Phrase& b) { return a.words.size() > b.words.size(); });
  std::vector<std::vector<std::string>> warnings;
  for (const auto& w : lexicon.warning_words()) warnings.push_back(Key(w));
  std::vector<std::string> filler;
  for (const auto& w : lexicon.filler_words()) filler.push_back(checks_internal::Singular(NormalizeWords(w)));

  SymptomAnswer answer;
  answer.query = std::string(words);
  answer.assessment = Assessment::kExpected;
  auto add_finding = [&](SymptomFinding finding) {
    if (Concern(finding.assessment) > Concern(answer.assessment)) answer.assessment = finding.assessment;
    if (finding.reaction != nullptr) {
      for (const auto& s : finding.reaction->sources) AddUnique(&answer.sources, s);
    }
    answer.findings.push_back(std::move(finding));
  };

  for (const std::string& part : SplitParts(words)) {
    std::vector<std::string> tokens = Key(part);
    if (tokens.empty()) continue;
    // Warning words make the part not described, whatever else it says.
    std::vector<std::string> warned;
    for (const auto& warning : warnings) {
      bool hit = FindPhrase(tokens, warning) != std::string::npos;
      // A long single warning word also matches as the start of a word: "feverish", "blistered".
      if (!hit && warning.size() == 1 && warning[0].size() >= 4) {
        hit = std::any_of(tokens.begin(), tokens.end(),
                          [&](const std::string& t) { return t.rfind(warning[0], 0) == 0; });
      }
      if (hit) AddUnique(&warned, Join(warning));
    }
    // Cover the tokens with reaction phrases, longest first.
    std::vector<const Reaction*> covered(tokens.size(), nullptr);
    std::vector<const Reaction*> found;
    for (const Phrase& phrase : phrases) {
      std::size_t from = 0;
      while ((from = FindPhrase(tokens, phrase.words, from)) != std::string::npos) {
        bool free = std::all_of(covered.begin() + static_cast<std::ptrdiff_t>(from),
                                covered.begin() + static_cast<std::ptrdiff_t>(from + phrase.words.size()),
                                [](const Reaction* r) { return r == nullptr; });
        if (free) {
          std::fill(covered.begin() + static_cast<std::ptrdiff_t>(from),
                    covered.begin() + static_cast<std::ptrdiff_t>(from + phrase.words.size()), phrase.reaction);
          if (std::find(found.begin(), found.end(), phrase.reaction) == found.end()) found.push_back(phrase.reaction);
        }
        from += phrase.words.size();
      }
    }
    std::vector<std::string> unrecognised;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (covered[i] != nullptr || IsNumber(tokens[i])) continue;
      if (std::find(filler.begin(), filler.end(), tokens[i]) != filler.end()) continue;
      AddUnique(&unrecognised, tokens[i]);
    }
    std::string text = Join(Key(part));
    for (const Reaction* reaction : found) {
      SymptomFinding finding;
      finding.text = text;
      finding.reaction = reaction;
      if (!reaction->areas.empty() && !plan.AppliesToAreas(reaction->areas)) {
        finding.assessment = Assessment::kNotDescribed;
        finding.note = "The sheet describes " + reaction->label + " only when CIT was performed on " +
                       AreaLabels(protocol, reaction->areas) + "; that area was not treated.";
      } else {
        Instant from = plan.At(reaction->from);
        finding.expected_from = from;
        if (reaction->until) finding.expected_until = plan.At(*reaction->until);
        if (at < from) {
          finding.assessment = Assessment::kEarlierThanExpected;
          finding.note = "The sheet expects " + reaction->label + " from " + reaction->from.ToString() +
                         " after the procedure.";
        } else if (finding.expected_until && at >= *finding.expected_until) {
          finding.assessment = Assessment::kLongerThanExpected;
          finding.note = "The sheet expects " + reaction->label + " only until " + reaction->until->ToString() +
                         " after the procedure.";
        } else {
          finding.assessment = Assessment::kExpected;
          AddUnique(&answer.advice, reaction->advice);
        }
      }
      add_finding(std::move(finding));
    }
    // Words that are neither a reaction nor filler make the part something the sheet does not describe ("red
    // bumps": redness is described, bumps are not). A part of filler only ("is that normal") adds nothing.
    if (!warned.empty() || !unrecognised.empty()) {
      SymptomFinding finding;
      finding.text = text;
      finding.assessment = Assessment::kNotDescribed;
      finding.unrecognised = warned.empty() ? unrecognised : warned;
      finding.note = lexicon.not_described_advice();
      add_finding(std::move(finding));
    }
  }
  if (answer.findings.empty()) {
    // Nothing but filler words ("is this normal?"): nothing the sheet describes was named.
    SymptomFinding finding;
    finding.text = NormalizeWords(words);
    finding.unrecognised.push_back(finding.text);
    finding.assessment = Assessment::kNotDescribed;
    finding.note = lexicon.not_described_advice();
    add_finding(std::move(finding));
  }
  if (answer.assessment != Assessment::kExpected) AddUnique(&answer.advice, lexicon.contact_advice());
  return answer;
}

}  // namespace aftercare
