// med, ingredients, symptom, series; and `can` in plain words. Each command parses its options, calls the checks
// library, and prints JSON or text; no aftercare logic lives here.
#include "checks_commands.h"

#include <iostream>
#include <iterator>
#include <memory>

#include "aftercare/check_views.h"
#include "aftercare/checks.h"
#include "aftercare/text.h"
#include "aftercare/views.h"

namespace aftercare::cli {
namespace {

using nlohmann::json;

// When no procedure is given, questions are answered for the moment the procedure ends, and times are said as
// offsets from it ("48 h after the procedure").
constexpr Instant kAssumedEnd{std::chrono::seconds(0)};

struct Moment {
  std::unique_ptr<Plan> plan;
  Instant at;
  bool assumed = false;  // no --procedure-end: "right after the procedure"
};

Moment ResolveMoment(const Protocol& protocol, const ProcedureArgs& args) {
  Moment m;
  if (args.end.empty()) {
    if (!args.at.empty()) throw BadInput{"--at needs --procedure-end (and --tz)"};
    if (!args.tz.empty() && !FindZone(args.tz)) throw BadInput{FindZone(args.tz).error().message};
    Procedure procedure;
    procedure.end = kAssumedEnd;
    procedure.zone = Require(FindZone(args.tz.empty() ? "UTC" : args.tz));
    procedure.areas = SplitList(args.areas);
    for (auto& area : procedure.areas) area = NormalizeWords(area);
    m.plan = std::make_unique<Plan>(Require(Plan::Compile(protocol, std::move(procedure))));
    m.at = kAssumedEnd;
    m.assumed = true;
    return m;
  }
  if (args.tz.empty()) throw BadInput{"--procedure-end needs --tz (the patient's IANA zone, e.g. America/New_York)"};
  m.plan = std::make_unique<Plan>(BuildPlan(protocol, args));
  m.at = ResolveAt(args, m.plan->procedure().zone);
  if (m.at < m.plan->procedure().end) throw BadInput{"--at is before the procedure ended"};
  return m;
}

// An instant for people: "Thu 4 Mar 10:00 EST" or "48 h after the procedure".
std::string WhenText(const Moment& m, Instant t) {
  if (m.assumed) return FormatSpan(t - m.plan->procedure().end) + " after the procedure";
  return FormatLocalShort(t, m.plan->procedure().zone) + " " + ZoneAbbreviation(t, m.plan->procedure().zone);
}

// The moment as the shared check views take it.
CheckMoment ViewOf(const Moment& m) { return {*m.plan, m.at, m.assumed}; }

std::string MomentText(const Moment& m) {
  return m.assumed ? "right after the procedure (no --procedure-end given)" : "at " + WhenText(m, m.at);
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string Quotes(const Protocol& protocol, const std::vector<std::string>& ids, const std::string& indent) {
  std::string out;
  for (const auto& id : ids) {
    if (const Sentence* s = protocol.FindSentence(id)) out += indent + "\"" + s->text + "\"\n";
  }
  return out;
}

std::vector<std::string> RuleSources(const Answer& answer) {
  std::vector<std::string> ids;
  for (const Rule* r : answer.segment->rules) {
    for (const auto& s : r->sources) {
      if (std::find(ids.begin(), ids.end(), s) == ids.end()) ids.push_back(s);
    }
  }
  return ids;
}

// ---- med -------------------------------------------------------------------------------------------------------

std::string MedicineText(const Moment& m, const MedicineAnswer& a) {
  const MedicineProduct* p = a.match.product;
  std::string out;
  if (p == nullptr) {
    out = "'" + a.query + "': UNKNOWN - not in the medicine list.\n";
    if (!a.match.suggestions.empty()) out += "  Did you mean " + JoinOr(a.match.suggestions) + "?\n";
    for (const auto& advice : a.advice) out += "  " + advice + "\n";
    return out;
  }
  out = p->name;
  if (a.match.corrected) out += " (you typed '" + a.query + "'; matched the name '" + a.match.name + "')";
  out += ": " + Upper(MedicineVerdictName(a)) + " " + MomentText(m) + "\n";
  for (const auto& f : a.classes) {
    std::vector<std::string> names;
    for (const auto* ing : f.ingredients) {
      std::string name = ing->rxnorm;
      if (!ing->atc.empty()) name += " (ATC " + Join(ing->atc) + ")";
      names.push_back(name);
    }
    out += "  " + JoinOr(names, false) + ": " + f.cls->label + " - " + std::string(VerdictName(f.verdict)) + "\n";
  }
  for (const auto& advice : a.advice) out += "  " + advice + "\n";
  if (a.changes_at) out += "  Changes " + WhenText(m, *a.changes_at) + ".\n";
  if (!a.sources.empty()) out += "  The sheet says:\n" + Quotes(m.plan->protocol(), a.sources, "    ");
  return out;
}

// ---- can, in plain words ---------------------------------------------------------------------------------------

struct CanArgs {
  ProcedureArgs procedure;
  std::string question;
  std::string context;
};

int RunCan(Cli& cli, const CanArgs& can) {
  const ProcedureArgs& args = can.procedure;
  const std::string& question = can.question;
  const std::string& context = can.context;
  const Protocol& protocol = cli.protocol();
  Plan plan = BuildPlan(protocol, args);
  Instant at = ResolveAt(args, plan.procedure().zone);
  // An activity id answers exactly as the core command does; anything else is read as plain words.
  std::string normalized = NormalizeWords(question);
  for (const Activity& a : protocol.activities) {
    if (NormalizeWords(a.id) == normalized) {
      Answer answer = Require(plan.Can(a.id, at, context));
      if (cli.json) {
        PrintJson(AnswerJson(plan, answer));
      } else {
        std::cout << AnswerText(plan, answer, at);
      }
      return kExitOk;
    }
  }
  auto understood = ResolvePlainWords(PhraseLexicon::Builtin(), MedicineLexicon::Builtin(), protocol, question);
  if (!understood) {
    // The engine's own matching (labels, synonyms) has the last word before the error.
    auto direct = plan.Can(question, at, context);
    if (!direct) throw BadInput{understood.error().message};
    Understood from_engine;
    from_engine.activity = &direct->activity();
    from_engine.phrase = question;
    understood = from_engine;
  }
  json understood_json = {{"question", question}, {"phrase", understood->phrase}};
  if (understood->kind == Understood::Kind::kMedicine) {
    Moment m{std::make_unique<Plan>(std::move(plan)), at, false};
    if (at < m.plan->procedure().end) throw BadInput{"--at is before the procedure ended"};
    MedicineAnswer answer = CheckMedicine(MedicineLexicon::Builtin(), *m.plan, understood->medicine, at);
    understood_json["medicine"] = understood->medicine;
    if (cli.json) {
      json out = MedicineAnswerJson(ViewOf(m), answer);
      out["understood"] = understood_json;
      PrintJson(out);
    } else {
      std::cout << "Understood '" << question << "' as a question about the medicine '" << understood->medicine
                << "'.\n"
                << MedicineText(m, answer);
    }
    return kExitOk;
  }
  Answer answer = Require(plan.Can(understood->activity->id, at, context));
  understood_json["activity"] = understood->activity->id;
  if (cli.json) {
    json out = AnswerJson(plan, answer);
    out["understood"] = understood_json;
    PrintJson(out);
  } else {
    std::cout << "Understood '" << question << "' as: " << understood->activity->label << " (from '"
              << understood->phrase << "').\n"
              << AnswerText(plan, answer, at);
  }
  return kExitOk;
}

// ---- ingredients -----------------------------------------------------------------------------------------------

std::string IngredientsText(const Moment& m, const IngredientsAnswer& a) {
  std::string out;
  if (a.verdict == "none_flagged") {
    out = "NONE FLAGGED " + MomentText(m) + ": no exfoliant or acid the sheet warns about was recognised.\n";
  } else if (a.verdict == "unknown") {
    out = "UNKNOWN " + MomentText(m) + ": an ingredient looks like an acid or exfoliant but is not in the list.\n";
  } else {
    out = "Exfoliants or acids: " + Upper(a.verdict) + " " + MomentText(m) + "\n";
  }
  std::vector<std::string> others;
  for (const auto& f : a.items) {
    std::string may = f.item.may_contain ? " (may contain)" : "";
    switch (f.status) {
      case IngredientStatus::kFlagged:
        out += "  ! " + f.item.printed + may + ": " + f.category->label + "\n";
        break;
      case IngredientStatus::kNotFlagged:
        out += "  - " + f.item.printed + may + ": not flagged, " + f.category->label + "\n";
        break;
      case IngredientStatus::kUnknown:
        out += "  ? " + f.item.printed + may + ": not in the list; ask your clinic\n";
        break;
      case IngredientStatus::kNotListed:
        others.push_back(f.item.printed);
        break;
    }
  }
  if (!others.empty()) out += "  Not recognised as exfoliants or acids: " + Join(others) + "\n";
  for (const auto& advice : a.advice) out += "  " + advice + "\n";
  if (a.answer && a.verdict != "none_flagged" && a.verdict != "unknown") {
    if (a.answer->next) {
      out += "  Changes to " + std::string(VerdictName(a.answer->next->verdict)) + " " +
             WhenText(m, a.answer->next->from) + ".\n";
    }
    for (const Rule* r : a.answer->segment->rules) {
      if (!r->note.empty()) out += "  " + r->note + "\n";
    }
    out += "  The sheet says:\n" + Quotes(m.plan->protocol(), RuleSources(*a.answer), "    ");
  }
  return out;
}

// ---- symptom ---------------------------------------------------------------------------------------------------

std::string SymptomText(const Moment& m, const SymptomAnswer& a) {
  std::string out = Upper(AssessmentName(a.assessment)) + " " + MomentText(m) + ", " +
                    FormatSpan(m.at - m.plan->procedure().end) + " after the procedure\n";
  for (const auto& f : a.findings) {
    out += "  " + std::string(AssessmentName(f.assessment)) + ": ";
    if (f.reaction) {
      out += f.reaction->label;
      if (f.expected_from) {
        out += " (the sheet expects it from " + WhenText(m, *f.expected_from) +
               (f.expected_until ? " until " + WhenText(m, *f.expected_until) : std::string()) + ")";
      }
    } else {
      out += "'" + Join(f.unrecognised) + "'";
    }
    if (!f.note.empty()) out += ". " + f.note;
    out += "\n";
  }
  for (const auto& advice : a.advice) out += "  " + advice + "\n";
  if (!a.sources.empty()) out += "  The sheet says:\n" + Quotes(m.plan->protocol(), a.sources, "    ");
  return out;
}

// ---- series ----------------------------------------------------------------------------------------------------

// A date alone ("2026-03-02") is noon local time, so no DST gap can touch it; it is then shown as a date.
struct SeriesTime {
  Instant at;
  bool date_only = false;
};

SeriesTime ParseSeriesTime(const std::string& text, Zone zone, const char* option) {
  bool date_only = text.size() == 10 && text[4] == '-' && text[7] == '-';
  auto parsed = ParseTime(date_only ? text + "T12:00" : text, zone);
  if (!parsed) throw BadInput{std::string(option) + ": " + parsed.error().message};
  return {*parsed, date_only};
}

std::string ShowTime(Instant t, Zone zone, bool date_only) {
  std::string iso = FormatInstant(t, zone);
  return date_only ? iso.substr(0, 10) : iso;
}

std::string ShowText(Instant t, Zone zone, bool date_only) {
  std::string local = FormatLocalShort(t, zone);  // "Mon 30 Mar 12:00"
  if (date_only) return local.substr(0, local.rfind(' ')) + " (" + FormatInstant(t, zone).substr(0, 10) + ")";
  return local + " " + ZoneAbbreviation(t, zone);
}

}  // namespace

void RegisterChecksCommands(CLI::App& app, Cli& cli) {
  {
    auto args = std::make_shared<ProcedureArgs>();
    auto names = std::make_shared<std::vector<std::string>>();
    auto* command = app.add_subcommand("med", "May I take this medicine? Products, ingredients and classes");
    command->add_option("name", *names, "One or more medicine names as typed: Advil, 'Tylenol PM', 'aspirin 81mg'")
        ->required();
    AddProcedureOptions(command, args.get(), true, false);
    command->callback([&cli, args, names] {
      cli.action = [&cli, args, names] {
        Moment m = ResolveMoment(cli.protocol(), *args);
        json list = json::array();
        std::string text;
        for (const auto& name : *names) {
          if (NormalizeWords(name).empty()) throw BadInput{"a medicine name needs letters: '" + name + "'"};
          MedicineAnswer answer = CheckMedicine(MedicineLexicon::Builtin(), *m.plan, name, m.at);
          list.push_back(MedicineAnswerJson(ViewOf(m), answer));
          text += (text.empty() ? "" : "\n") + MedicineText(m, answer);
        }
        if (cli.json) {
          PrintJson(list.size() == 1 ? list[0] : list);
        } else {
          std::cout << text;
        }
        return kExitOk;
      };
    });
  }
  {
    auto args = std::make_shared<ProcedureArgs>();
    auto list = std::make_shared<std::string>();
    auto* command = app.add_subcommand("ingredients", "Does this skincare product hold exfoliants or acids?");
    command->add_option("list", *list, "The ingredient (INCI) list as printed, quoted; '-' reads it from stdin")
        ->required();
    AddProcedureOptions(command, args.get(), true, false);
    command->callback([&cli, args, list] {
      cli.action = [&cli, args, list] {
        std::string text = *list;
        if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        Moment m = ResolveMoment(cli.protocol(), *args);
        IngredientsAnswer answer = Require(CheckIngredients(IngredientLexicon::Builtin(), *m.plan, text, m.at));
        if (cli.json) {
          PrintJson(IngredientsAnswerJson(ViewOf(m), answer));
        } else {
          std::cout << IngredientsText(m, answer);
        }
        return kExitOk;
      };
    });
  }
  {
    auto args = std::make_shared<ProcedureArgs>();
    auto words = std::make_shared<std::vector<std::string>>();
    auto* command = app.add_subcommand("symptom", "Is this reaction what the sheet expects at this point?");
    command->add_option("words", *words, "The symptom in your words: still red, flaking, bruising")->required();
    AddProcedureOptions(command, args.get(), true, true);
    command->callback([&cli, args, words] {
      cli.action = [&cli, args, words] {
        Moment m = ResolveMoment(cli.protocol(), *args);
        std::string text;
        for (const auto& w : *words) text += (text.empty() ? "" : " ") + w;
        SymptomAnswer answer = Require(AssessSymptoms(SymptomLexicon::Builtin(), *m.plan, text, m.at));
        if (cli.json) {
          PrintJson(SymptomAnswerJson(ViewOf(m), answer));
        } else {
          std::cout << SymptomText(m, answer);
        }
        return kExitOk;
      };
    });
  }
  {
    auto* series = app.add_subcommand("series", "The treatment series: plan sessions, check a booking");
    series->require_subcommand(1);
    struct PlanArgs {
      std::string first, tz;
      int count = 0;
    };
    auto plan_args = std::make_shared<PlanArgs>();
    auto* plan = series->add_subcommand("plan", "Plan the sessions of a series from the first one");
    plan->add_option("--first", plan_args->first, "The first session: a date (2026-03-02) or a local time")
        ->required();
    plan->add_option("--tz", plan_args->tz, "The patient's IANA time zone")->required();
    plan->add_option("--count", plan_args->count, "How many sessions (the sheet: 3-5; default the fewest)");
    plan->callback([&cli, plan_args] {
      cli.action = [&cli, plan_args] {
        const Protocol& protocol = cli.protocol();
        Zone zone = Require(FindZone(plan_args->tz));
        SeriesTime first = ParseSeriesTime(plan_args->first, zone, "--first");
        if (!protocol.series) throw BadInput{"the protocol does not describe a treatment series"};
        int count = plan_args->count == 0 ? protocol.series->min_count : plan_args->count;
        auto sessions = Require(PlanSeries(protocol, first.at, count, zone));
        const Series& s = *protocol.series;
        if (cli.json) {
          json list = json::array();
          for (std::size_t i = 0; i < sessions.size(); ++i) {
            list.push_back({{"number", i + 1}, {"at", ShowTime(sessions[i], zone, first.date_only)}});
          }
          PrintJson({{"count", count},
                     {"min_count", s.min_count},
                     {"max_count", s.max_count},
                     {"min_interval", s.min_interval.ToString()},
                     {"zone", plan_args->tz},
                     {"sessions", list},
                     {"sources", SourcesJson(protocol, s.sources)}});
        } else {
          std::cout << "A series of " << count << " sessions (the sheet: " << s.min_count << "-" << s.max_count
                    << ", at least " << s.min_interval.ToString() << " apart):\n";
          for (std::size_t i = 0; i < sessions.size(); ++i) {
            std::cout << "  " << i + 1 << ". " << ShowText(sessions[i], zone, first.date_only) << "\n";
          }
          std::cout << "  The sheet says:\n" << Quotes(protocol, s.sources, "    ");
        }
        return kExitOk;
      };
    });
    struct CheckArgs {
      std::string last, proposed, tz;
    };
    auto check_args = std::make_shared<CheckArgs>();
    auto* check = series->add_subcommand("check", "Is a proposed session far enough after the last one?");
    check->add_option("--last", check_args->last, "The last session: a date or a local time")->required();
    check->add_option("--proposed", check_args->proposed, "The proposed session: a date or a local time")
        ->required();
    check->add_option("--tz", check_args->tz, "The patient's IANA time zone")->required();
    check->callback([&cli, check_args] {
      cli.action = [&cli, check_args] {
        const Protocol& protocol = cli.protocol();
        Zone zone = Require(FindZone(check_args->tz));
        SeriesTime last = ParseSeriesTime(check_args->last, zone, "--last");
        SeriesTime proposed = ParseSeriesTime(check_args->proposed, zone, "--proposed");
        bool dates = last.date_only && proposed.date_only;
        BookingCheck result = Require(CheckBooking(protocol, last.at, proposed.at, zone));
        if (cli.json) {
          PrintJson({{"ok", result.ok},
                     {"last", ShowTime(last.at, zone, last.date_only)},
                     {"proposed", ShowTime(proposed.at, zone, proposed.date_only)},
                     {"earliest", ShowTime(result.earliest, zone, dates)},
                     {"min_interval", result.min_interval.ToString()},
                     {"sources", SourcesJson(protocol, protocol.series->sources)}});
        } else if (result.ok) {
          std::cout << "OK: " << ShowText(proposed.at, zone, proposed.date_only) << " is at least "
                    << result.min_interval.ToString() << " after the last session.\n";
        } else {
          std::cout << "TOO EARLY: the sheet allows repeat treatments as early as "
                    << result.min_interval.ToString() << " after the last one; the earliest is "
                    << ShowText(result.earliest, zone, dates) << ".\n";
        }
        if (!cli.json) std::cout << "  The sheet says:\n" << Quotes(protocol, protocol.series->sources, "    ");
        return result.ok ? kExitOk : kExitFailed;
      };
    });
  }
  // `can`: an activity id, label or synonym answers from the engine; anything else is read as plain words, which may
  // name an activity or a medicine.
  {
    auto args = std::make_shared<CanArgs>();
    auto* command = app.add_subcommand(
        "can", "May I ... now? An activity (makeup), plain words (go to the gym) or a medicine (take Advil)");
    command->add_option("activity", args->question,
                        "An activity id (makeup), a label or synonym (foundation), plain words (\"go to the gym\") "
                        "or a medicine (\"take Advil\")")
        ->required();
    command->add_option("--context", args->context, "A situation some rules depend on, e.g. outdoors");
    AddProcedureOptions(command, &args->procedure, true);
    command->callback([&cli, args] { cli.action = [&cli, args] { return RunCan(cli, *args); }; });
  }
}

}  // namespace aftercare::cli
