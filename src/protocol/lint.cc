#include "aftercare/lint.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "protocol_reader.h"

namespace aftercare {
namespace {

// Collapses every run of whitespace to one space.
std::string CollapseSpaces(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

bool Overlap(const Rule& a, const Rule& b) {
  auto end = [](const Rule& r) { return r.until ? r.until->NominalMinutes() : INT64_MAX; };
  return a.from.NominalMinutes() < end(b) && b.from.NominalMinutes() < end(a);
}

bool CanApplyTogether(const Rule& a, const Rule& b) {
  return a.context.empty() || b.context.empty() || a.context == b.context;
}

bool Resolved(const Protocol& p, const Rule& a, const Rule& b) {
  for (const auto& r : p.resolutions) {
    bool has_a = std::find(r.rules.begin(), r.rules.end(), a.id) != r.rules.end();
    bool has_b = std::find(r.rules.begin(), r.rules.end(), b.id) != r.rules.end();
    if (has_a && has_b) return true;
  }
  return false;
}

void CheckOverlaps(const Protocol& p, LintReport* report) {
  for (std::size_t i = 0; i < p.rules.size(); ++i) {
    for (std::size_t j = i + 1; j < p.rules.size(); ++j) {
      const Rule& a = p.rules[i];
      const Rule& b = p.rules[j];
      if (a.activity != b.activity || a.verdict == b.verdict) continue;
      if (!Overlap(a, b) || !CanApplyTogether(a, b) || Resolved(p, a, b)) continue;
      report->errors.push_back(
          {"rules '" + a.id + "' and '" + b.id + "'",
           "overlapping windows with different verdicts (" + std::string(VerdictName(a.verdict)) + ", " +
               std::string(VerdictName(b.verdict)) +
               ") and no stated resolution; add a [[resolutions]] entry listing both rules and the reading taken"});
    }
  }
}

void CheckUse(const Protocol& p, LintReport* report) {
  std::set<std::string> used;
  for (const auto& r : p.rules) used.insert(r.sources.begin(), r.sources.end());
  for (const auto& r : p.reactions) used.insert(r.sources.begin(), r.sources.end());
  if (p.series) used.insert(p.series->sources.begin(), p.series->sources.end());
  for (const auto& s : p.sentences) {
    if (s.informational && used.count(s.id)) {
      report->warnings.push_back({"sentence '" + s.id + "'", "marked informational but a rule cites it"});
    }
    if (!s.informational && !used.count(s.id)) {
      report->errors.push_back({"sentence '" + s.id + "'",
                                "used by no rule, reaction or series and not marked informational; cite it from "
                                "the rule it states, or set informational = true"});
    }
  }
  for (const auto& a : p.activities) {
    bool has_rule = std::any_of(p.rules.begin(), p.rules.end(), [&](const Rule& r) { return r.activity == a.id; });
    if (!has_rule) report->warnings.push_back({"activity '" + a.id + "'", "no rule mentions it"});
  }
}

void CheckSheet(const Protocol& p, std::string_view sheet_text, LintReport* report) {
  std::string sheet = CollapseSpaces(sheet_text);
  std::string rest = sheet;
  for (const auto& s : p.sentences) {
    std::string text = CollapseSpaces(s.text);
    std::size_t at = sheet.find(text);
    if (at == std::string::npos) {
      report->errors.push_back({"sentence '" + s.id + "'", "not found verbatim in the sheet"});
      continue;
    }
    std::size_t in_rest = rest.find(text);
    if (in_rest != std::string::npos) rest.replace(in_rest, text.size(), std::string(1, '\n'));
  }
  // What is left must be only bullets, spaces and the line breaks that replaced each sentence.
  std::string fragment;
  auto flush = [&] {
    std::string trimmed = CollapseSpaces(fragment);
    if (!trimmed.empty()) {
      report->errors.push_back({"sheet", "the sheet says \"" + trimmed + "\" but no sentence of the file holds it"});
    }
    fragment.clear();
  };
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\n') {
      flush();
    } else if (rest.compare(i, 3, "\xE2\x80\xA2") == 0) {  // the bullet sign
      i += 2;
    } else {
      fragment.push_back(rest[i]);
    }
  }
  flush();
}

}  // namespace

LintReport LintProtocolText(std::string_view toml_text, std::string_view origin,
                            std::optional<std::string_view> sheet_text) {
  LintReport report;
  report.protocol = ReadProtocol(toml_text, origin, &report.errors);
  if (!report.protocol) return report;
  CheckOverlaps(*report.protocol, &report);
  CheckUse(*report.protocol, &report);
  if (sheet_text) CheckSheet(*report.protocol, *sheet_text, &report);
  return report;
}

LintReport LintProtocolFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) {
    LintReport report;
    report.errors.push_back({path, text.error().message});
    return report;
  }
  LintReport first = LintProtocolText(*text, path, std::nullopt);
  if (!first.protocol || first.protocol->sheet.empty()) return first;
  std::filesystem::path sheet_path = std::filesystem::path(path).parent_path() / first.protocol->sheet;
  auto sheet = ReadTextFile(sheet_path.string());
  if (!sheet) {
    first.warnings.push_back({"[protocol] sheet", sheet.error().message + "; the sentences were not checked"});
    return first;
  }
  return LintProtocolText(*text, path, std::string_view(*sheet));
}

}  // namespace aftercare
