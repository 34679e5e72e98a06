#include "aftercare/protocol.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "protocol_reader.h"
#include "aftercare/toml_fields.h"
#include "aftercare/text.h"

namespace aftercare {
namespace {

constexpr std::string_view kVerdictNames[] = {"avoid", "caution", "recommended", "allowed", "not_covered"};

template <typename T>
const T* FindById(const std::vector<T>& items, std::string_view id) {
  for (const auto& item : items) {
    if (item.id == id) return &item;
  }
  return nullptr;
}

template <typename T>
void CheckUniqueIds(const std::vector<T>& items, std::string_view kind, std::vector<Finding>* errors) {
  std::set<std::string> seen;
  for (const auto& item : items) {
    if (item.id.empty()) continue;
    if (!seen.insert(item.id).second) {
      errors->push_back({std::string(kind), "duplicate id '" + item.id + "': each id must be unique"});
    }
  }
}

class Reader {
 public:
  Reader(const toml::table& root, std::vector<Finding>* errors) : root_(root), errors_(errors) {}

  Protocol Read() {
    Protocol p;
    TomlFields top(root_, "file", errors_);
    top.CheckKeys({"format_version", "protocol", "sentences", "areas", "contexts", "activities", "rules",
                   "reactions", "series", "resolutions"});
    if (auto version = top.Integer("format_version", true)) {
      p.format_version = static_cast<int>(*version);
      if (*version != kProtocolFormatVersion) {
        top.Error("format_version " + std::to_string(*version) + " is not supported; this aftercare reads " +
                  std::to_string(kProtocolFormatVersion));
      }
    }
    if (const toml::table* meta = root_["protocol"].as_table()) {
      TomlFields f(*meta, "[protocol]", errors_);
      f.CheckKeys({"id", "name", "version", "sheet"});
      p.id = f.String("id", true);
      p.name = f.String("name", true);
      p.version = f.String("version", true);
      p.sheet = f.String("sheet", false);
    } else {
      errors_->push_back({"file", "missing the [protocol] table with id, name and version"});
    }
    ReadSentences(&p);
    ForEachTomlTable(root_, "areas", errors_, [&](const toml::table& t, const std::string& where) {
      TomlFields f(t, where, errors_);
      f.CheckKeys({"id", "label"});
      p.areas.push_back({f.String("id", true), f.String("label", true)});
    });
    ForEachTomlTable(root_, "contexts", errors_, [&](const toml::table& t, const std::string& where) {
      TomlFields f(t, where, errors_);
      f.CheckKeys({"id", "label"});
      p.contexts.push_back({f.String("id", true), f.String("label", true)});
    });
    ForEachTomlTable(root_, "activities", errors_, [&](const toml::table& t, const std::string& where) {
      TomlFields f(t, where, errors_);
      f.CheckKeys({"id", "label", "synonyms"});
      p.activities.push_back({f.String("id", true), f.String("label", true), f.Strings("synonyms")});
    });
    ReadRules(&p);
    ReadReactions(&p);
    ReadSeries(&p);
    ReadResolutions(&p);
    CheckUniqueIds(p.sentences, "sentences", errors_);
    CheckUniqueIds(p.areas, "areas", errors_);
    CheckUniqueIds(p.contexts, "contexts", errors_);
    CheckUniqueIds(p.activities, "activities", errors_);
    CheckUniqueIds(p.rules, "rules", errors_);
    CheckUniqueIds(p.reactions, "reactions", errors_);
    CheckUniqueIds(p.resolutions, "resolutions", errors_);
    CheckReferences(p);
    return p;
  }

 private:
  void ReadSentences(Protocol* p) {
    ForEachTomlTable(root_, "sentences", errors_, [&](const toml::table& t, const std::string& where) {
      TomlFields f(t, where, errors_);
      f.CheckKeys({"id", "section", "text", "informational"});
      Sentence s;
      s.id = f.String("id", true);
      s.section = f.String("section", false);
      s.text = f.String("text", true);
      s.informational = f.Bool("informational", false);
      p->sentences.push_back(std::move(s));
    });
  }

  void ReadRules(Protocol* p) {
    std::map<std::string, int> per_activity;
    ForEachTomlTable(root_, "rules", errors_, [&](const toml::table& t, const std::string& where) {
      TomlFields f(t, where, errors_);
      f.CheckKeys({"id", "activity", "verdict", "from", "until", "areas", "context", "repeat", "note", "sources"});
      Rule r;
      r.activity = f.String("activity", true);
      r.id = f.String("id", false);
      if (r.id.empty()) r.id = r.activity + "#" + std::to_string(++per_activity[r.activity]);
      std::string verdict = f.String("verdict", true);
      if (auto v = ParseVerdict(verdict); v && *v != Verdict::kNotCovered) {
        r.verdict = *v;
      } else if (!verdict.empty()) {
        f.Error("unknown verdict '" + verdict + "'; use avoid, caution, allowed or recommended");
      }
      if (auto from = f.Duration("from", true)) r.from = *from;
      r.until = f.Duration("until", false);
      if (r.until && r.until->NominalMinutes() <= r.from.NominalMinutes()) {
        f.Error("the window ends (" + r.until->ToString() + ") before it starts (" + r.from.ToString() +
                "); 'until' must be later than 'from'");
      }
      r.areas = f.Strings("areas");
      r.context = f.String("context", false);
      r.repeat_every = f.Duration("repeat", false);
      if (r.repeat_every && r.repeat_every->amount == 0) f.Error("'repeat' must be longer than 0");
      r.note = f.String("note", false);
      r.sources = f.Strings("sources");
      if (r.sources.empty()) f.Error("a rule needs 'sources': the ids of the sentences it comes from");
      p->rules.push_back(std::move(r));
    });
  }

  void ReadReactions(Protocol* p) {
    ForEachTomlTable(root_, "reactions", errors_, [&](const toml::table& t, const std::string& where) {
      TomlFields f(t, where, errors_);
      f.CheckKeys({"id", "label", "synonyms", "from", "until", "areas", "advice", "sources"});
      Reaction r;
      r.id = f.String("id", true);
      r.label = f.String("label", true);
      r.synonyms = f.Strings("synonyms");
      if (auto from = f.Duration("from", true)) r.from = *from;
      r.until = f.Duration("until", false);
      if (r.until && r.until->NominalMinutes() <= r.from.NominalMinutes()) {
        f.Error("the window ends before it starts; 'until' must be later than 'from'");
      }
      r.areas = f.Strings("areas");
      r.advice = f.String("advice", true);
      r.sources = f.Strings("sources");
      if (r.sources.empty()) f.Error("a reaction needs 'sources': the ids of the sentences it comes from");
      p->reactions.push_back(std::move(r));
    });
  }

  void ReadSeries(Protocol* p) {
    const toml::node* node = root_.get("series");
    if (node == nullptr) return;
    const toml::table* t = node->as_table();
    if (t == nullptr) {
      errors_->push_back({"series", "must be a [series] table"});
      return;
    }
    TomlFields f(*t, "[series]", errors_);
    f.CheckKeys({"min_interval", "min_count", "max_count", "sources"});
    Series s;
    if (auto interval = f.Duration("min_interval", true)) s.min_interval = *interval;
    s.min_count = static_cast<int>(f.Integer("min_count", true).value_or(1));
    s.max_count = static_cast<int>(f.Integer("max_count", true).value_or(1));
    if (s.min_count < 1 || s.max_count < s.min_count || s.max_count > 100) {
      f.Error("counts must satisfy 1 <= min_count <= max_count <= 100");
    }
    s.sources = f.Strings("sources");
    p->series = std::move(s);
  }

  void ReadResolutions(Protocol* p) {
    ForEachTomlTable(root_, "resolutions", errors_, [&](const toml::table& t, const std::string& where) {
      TomlFields f(t, where, errors_);
      f.CheckKeys({"id", "subject", "rules", "sentences", "conflict", "reading"});
      Resolution r;
      r.id = f.String("id", true);
      r.subject = f.String("subject", false);
      r.rules = f.Strings("rules");
      r.sentences = f.Strings("sentences");
      r.conflict = f.String("conflict", true);
      r.reading = f.String("reading", true);
      if (r.sentences.empty()) f.Error("a resolution needs 'sentences': the ids of the sentences in conflict");
      p->resolutions.push_back(std::move(r));
    });
  }

  void CheckSentences(const Protocol& p, const std::string& where, const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      if (p.FindSentence(id) == nullptr) Unknown(p, where, "sentence", id, SentenceIds(p));
    }
  }

  static std::vector<std::string> SentenceIds(const Protocol& p) {
    std::vector<std::string> ids;
    for (const auto& s : p.sentences) ids.push_back(s.id);
    return ids;
  }
  template <typename T>
  static std::vector<std::string> Ids(const std::vector<T>& items) {
    std::vector<std::string> ids;
    for (const auto& item : items) ids.push_back(item.id);
    return ids;
  }

  void Unknown(const Protocol&, const std::string& where, std::string_view kind, const std::string& id,
               const std::vector<std::string>& known) {
    std::string message = "unknown " + std::string(kind) + " '" + id + "'";
    auto close = ClosestNames(id, known, 1);
    if (!close.empty()) message += "; did you mean '" + close[0] + "'?";
    errors_->push_back({where, message});
  }

  void CheckAreas(const Protocol& p, const std::string& where, const std::vector<std::string>& areas) {
    for (const auto& area : areas) {
      if (p.FindArea(area) == nullptr) Unknown(p, where, "area", area, Ids(p.areas));
    }
  }

  void CheckReferences(const Protocol& p) {
    for (const auto& r : p.rules) {
      std::string where = "rule '" + r.id + "'";
      if (!r.activity.empty() && p.FindActivity(r.activity) == nullptr) {
        Unknown(p, where, "activity", r.activity, Ids(p.activities));
      }
      if (!r.context.empty() && p.FindContext(r.context) == nullptr) {
        Unknown(p, where, "context", r.context, Ids(p.contexts));
      }
      CheckAreas(p, where, r.areas);
      CheckSentences(p, where, r.sources);
    }
    for (const auto& r : p.reactions) {
      std::string where = "reaction '" + r.id + "'";
      CheckAreas(p, where, r.areas);
      CheckSentences(p, where, r.sources);
    }
    if (p.series) CheckSentences(p, "[series]", p.series->sources);
    for (const auto& r : p.resolutions) {
      std::string where = "resolution '" + r.id + "'";
      CheckSentences(p, where, r.sentences);
      for (const auto& rule : r.rules) {
        if (p.FindRule(rule) == nullptr) Unknown(p, where, "rule", rule, Ids(p.rules));
      }
      if (!r.subject.empty() && p.FindActivity(r.subject) == nullptr && p.FindReaction(r.subject) == nullptr) {
        std::vector<std::string> known = Ids(p.activities);
        for (const auto& reaction : p.reactions) known.push_back(reaction.id);
        Unknown(p, where, "subject", r.subject, known);
      }
    }
  }

  const toml::table& root_;
  std::vector<Finding>* errors_;
};

}  // namespace

std::string_view VerdictName(Verdict verdict) { return kVerdictNames[static_cast<int>(verdict)]; }

std::optional<Verdict> ParseVerdict(std::string_view name) {
  for (int i = 0; i < 5; ++i) {
    if (kVerdictNames[i] == name) return static_cast<Verdict>(i);
  }
  return std::nullopt;
}

const Sentence* Protocol::FindSentence(std::string_view wanted) const { return FindById(sentences, wanted); }
const Activity* Protocol::FindActivity(std::string_view wanted) const { return FindById(activities, wanted); }
const Reaction* Protocol::FindReaction(std::string_view wanted) const { return FindById(reactions, wanted); }
const Rule* Protocol::FindRule(std::string_view wanted) const { return FindById(rules, wanted); }
const Area* Protocol::FindArea(std::string_view wanted) const { return FindById(areas, wanted); }
const Context* Protocol::FindContext(std::string_view wanted) const { return FindById(contexts, wanted); }

std::optional<Protocol> ReadProtocol(std::string_view toml_text, std::string_view origin,
                                     std::vector<Finding>* errors) {
  toml::table root;
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    errors->push_back({std::string(origin) + ":" + std::to_string(e.source().begin.line),
                       "not valid TOML: " + std::string(e.description())});
    return std::nullopt;
  }
  Protocol protocol = Reader(root, errors).Read();
  protocol.origin = std::string(origin);
  return protocol;
}

Result<Protocol> ParseProtocol(std::string_view toml_text, std::string_view origin) {
  std::vector<Finding> errors;
  std::optional<Protocol> protocol = ReadProtocol(toml_text, origin, &errors);
  if (!errors.empty()) {
    std::string message = std::string(origin) + ": " + errors.front().where + ": " + errors.front().message;
    if (errors.size() > 1) {
      message += " (and " + std::to_string(errors.size() - 1) + " more problems; run 'aftercare lint' to see all)";
    }
    return MakeError(message);
  }
  return std::move(*protocol);
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("cannot read '" + path + "': no such file or not readable");
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return MakeError("cannot read '" + path + "': read error");
  return out.str();
}

Result<Protocol> LoadProtocolFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return text.error();
  return ParseProtocol(*text, path);
}

}  // namespace aftercare
