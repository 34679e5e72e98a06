// ics, fhir plandefinition, fhir careplan: the plan for a patient's calendar and for a clinic's FHIR system.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "interop_commands.h"

#include "aftercare/calendar.h"
#include "aftercare/fhir.h"

namespace aftercare::cli {
namespace {

// --procedure-id, --now and the rest that both exports of one procedure share.
struct ExportArgs {
  std::string procedure_id;
  std::string now;
};

void AddExportOptions(CLI::App* command, ExportArgs* args) {
  command->add_option("--procedure-id", args->procedure_id,
                      "Stable id of the procedure (UIDs, CarePlan.id); default: derived from end, zone and areas");
  command->add_option("--now", args->now,
                      "The moment of issue (DTSTAMP, CarePlan.created), written like --procedure-end; default: now");
}

Instant ResolveNow(const ExportArgs& args, Zone zone) {
  if (args.now.empty() || args.now == "now") {
    return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  }
  auto parsed = ParseTime(args.now, zone);
  if (!parsed) throw BadInput{"--now: " + parsed.error().message};
  return *parsed;
}

std::string ResolveProcedureId(const ExportArgs& args, const Plan& plan) {
  if (args.procedure_id.empty()) return DeriveProcedureId(plan.procedure());
  Require(CheckProcedureId(args.procedure_id));
  return args.procedure_id;
}

// "08:00" -> 480 minutes.
std::chrono::minutes ParseTimeOfDay(const std::string& text) {
  unsigned hours = 0, minutes = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%2u:%2u%c", &hours, &minutes, &tail) != 2 || hours > 23 || minutes > 59) {
    throw BadInput{"--reminder-time: '" + text + "' is not a time of day; write it as HH:MM, e.g. 08:00"};
  }
  return std::chrono::hours(hours) + std::chrono::minutes(minutes);
}

void WriteOutput(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw BadInput{"cannot write '" + path + "'"};
}

}  // namespace

void RegisterInteropCommands(CLI::App& app, Cli& cli) {
  {
    auto args = std::make_shared<ProcedureArgs>();
    auto exported = std::make_shared<ExportArgs>();
    auto output = std::make_shared<std::string>();
    auto sequence = std::make_shared<int>(0);
    auto reminder = std::make_shared<std::string>("08:00");
    auto* command = app.add_subcommand("ics", "The plan as an iCalendar file to import into the patient's calendar");
    AddProcedureOptions(command, args.get(), false);
    AddExportOptions(command, exported.get());
    command->add_option("--sequence", *sequence, "SEQUENCE of every event; raise it when reissuing with changes")
        ->check(CLI::NonNegativeNumber);
    command->add_option("--reminder-time", *reminder, "Local time of the daily sunscreen reminder (default 08:00)");
    command->add_option("-o,--output", *output, "Write the calendar to this file instead of stdout");
    command->callback([&cli, args, exported, output, sequence, reminder] {
      cli.action = [&cli, args, exported, output, sequence, reminder] {
        Plan plan = BuildPlan(cli.protocol(), *args);
        CalendarOptions options;
        options.procedure_id = ResolveProcedureId(*exported, plan);
        options.now = ResolveNow(*exported, plan.procedure().zone);
        options.sequence = *sequence;
        options.reminder_time = ParseTimeOfDay(*reminder);
        WriteOutput(*output, Require(CalendarIcs(plan, options)));
        return kExitOk;
      };
    });
  }
  auto* fhir = app.add_subcommand("fhir", "FHIR R4 JSON: the protocol or one patient's plan");
  fhir->require_subcommand(1);
  {
    auto output = std::make_shared<std::string>();
    auto* command = fhir->add_subcommand("plandefinition", "The protocol as a FHIR R4 PlanDefinition");
    command->add_option("-o,--output", *output, "Write the JSON to this file instead of stdout");
    command->callback([&cli, output] {
      cli.action = [&cli, output] {
        WriteOutput(*output, PlanDefinitionJson(cli.protocol()).dump(2) + "\n");
        return kExitOk;
      };
    });
  }
  {
    auto args = std::make_shared<ProcedureArgs>();
    auto exported = std::make_shared<ExportArgs>();
    auto patient = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    auto* command = fhir->add_subcommand("careplan", "One patient's plan as a FHIR R4 CarePlan");
    AddProcedureOptions(command, args.get(), false);
    AddExportOptions(command, exported.get());
    command->add_option("--patient", *patient, "Reference to the patient, e.g. Patient/123");
    command->add_option("-o,--output", *output, "Write the JSON to this file instead of stdout");
    command->callback([&cli, args, exported, patient, output] {
      cli.action = [&cli, args, exported, patient, output] {
        Plan plan = BuildPlan(cli.protocol(), *args);
        CarePlanOptions options;
        options.procedure_id = ResolveProcedureId(*exported, plan);
        options.now = ResolveNow(*exported, plan.procedure().zone);
        options.patient_reference = *patient;
        WriteOutput(*output, Require(CarePlanJson(plan, options)).dump(2) + "\n");
        return kExitOk;
      };
    });
  }
}

}  // namespace aftercare::cli
