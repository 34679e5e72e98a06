// plan, status, lint, activities: the core engine from the command line. `can` lives with the checks
// (checks_commands.cc) because it also understands plain words and medicines.
#include <iostream>
#include <memory>

#include "cli.h"
#include "aftercare/lint.h"
#include "aftercare/views.h"

namespace aftercare::cli {

void RegisterCoreCommands(CLI::App& app, Cli& cli) {
  {
    auto args = std::make_shared<ProcedureArgs>();
    auto* command = app.add_subcommand("plan", "The whole timeline of one procedure, moment by moment");
    AddProcedureOptions(command, args.get(), false);
    command->callback([&cli, args] {
      cli.action = [&cli, args] {
        Plan plan = BuildPlan(cli.protocol(), *args);
        if (cli.json) {
          PrintJson(PlanJson(plan));
        } else {
          std::cout << PlanText(plan);
        }
        return kExitOk;
      };
    });
  }
  {
    auto args = std::make_shared<ProcedureArgs>();
    auto* command = app.add_subcommand("status", "Every activity's verdict at one moment");
    AddProcedureOptions(command, args.get(), true);
    command->callback([&cli, args] {
      cli.action = [&cli, args] {
        Plan plan = BuildPlan(cli.protocol(), *args);
        Instant at = ResolveAt(*args, plan.procedure().zone);
        auto answers = Require(plan.Status(at));
        if (cli.json) {
          PrintJson(StatusJson(plan, at, answers));
        } else {
          std::cout << StatusText(plan, at, answers);
        }
        return kExitOk;
      };
    });
  }
  {
    auto file = std::make_shared<std::string>();
    auto* command = app.add_subcommand(
        "lint", "Validate a protocol file and list the sheet's contradictions with the reading taken");
    command->add_option("file", *file, "The protocol file (default: --protocol, else the built-in CIT protocol)");
    command->callback([&cli, file] {
      cli.action = [&cli, file] {
        std::string path = file->empty() ? cli.protocol_path : *file;
        LintReport report;
        if (path.empty()) {
          path = "built-in cit.toml";
          report = LintProtocolText(BuiltinProtocolText(), path, BuiltinSheetText());
        } else {
          auto text = ReadTextFile(path);
          if (!text) throw BadInput{text.error().message};
          report = LintProtocolFile(path);
        }
        if (cli.json) {
          PrintJson(LintJson(report));
        } else {
          std::cout << LintText(report, path);
        }
        return report.ok() ? kExitOk : kExitFailed;
      };
    });
  }
  {
    auto* command = app.add_subcommand("activities", "The activities the protocol knows, with their synonyms");
    command->callback([&cli] {
      cli.action = [&cli] {
        const Protocol& p = cli.protocol();
        if (cli.json) {
          nlohmann::json list = nlohmann::json::array();
          for (const auto& a : p.activities) {
            list.push_back({{"id", a.id}, {"label", a.label}, {"synonyms", a.synonyms}});
          }
          PrintJson(list);
        } else {
          for (const auto& a : p.activities) {
            std::string line = a.id;
            line.resize(32, ' ');
            std::cout << line << a.label << "\n";
          }
        }
        return kExitOk;
      };
    });
  }
}

}  // namespace aftercare::cli
