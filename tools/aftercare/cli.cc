#include "cli.h"

#include <chrono>
#include <iostream>

#include "aftercare/text.h"

namespace aftercare::cli {

const Protocol& Cli::protocol() {
  if (protocol_path.empty()) return BuiltinProtocol();
  if (!loaded_) loaded_ = std::make_unique<Protocol>(Require(LoadProtocolFile(protocol_path)));
  return *loaded_;
}

void AddProcedureOptions(CLI::App* command, ProcedureArgs* args, bool with_at, bool required) {
  auto* end = command->add_option("--procedure-end", args->end,
                                  "When the procedure ended: local time in --tz (2026-11-28T14:00), an instant "
                                  "with offset (2026-11-28T14:00-05:00) or 'now'");
  auto* tz = command->add_option("--tz", args->tz, "The patient's IANA time zone, e.g. America/New_York");
  if (required) {
    end->required();
    tz->required();
  }
  command->add_option("--areas", args->areas, "Treated areas, comma-separated (face,periorbital,neck,...)");
  if (with_at) {
    command->add_option("--at", args->at, "The moment asked about, written like --procedure-end (default: now)");
  }
}

namespace {
Instant Now() { return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()); }

Instant ParseTimeArg(const std::string& text, Zone zone, const char* option) {
  if (text == "now") return Now();
  auto parsed = ParseTime(text, zone);
  if (!parsed) throw BadInput{std::string(option) + ": " + parsed.error().message};
  return *parsed;
}
}  // namespace

Plan BuildPlan(const Protocol& protocol, const ProcedureArgs& args) {
  Zone zone = Require(FindZone(args.tz));
  Procedure procedure;
  procedure.zone = zone;
  procedure.end = ParseTimeArg(args.end, zone, "--procedure-end");
  procedure.areas = SplitList(args.areas);
  for (auto& area : procedure.areas) area = NormalizeWords(area);
  return Require(Plan::Compile(protocol, std::move(procedure)));
}

Instant ResolveAt(const ProcedureArgs& args, Zone zone) {
  if (args.at.empty()) return Now();
  return ParseTimeArg(args.at, zone, "--at");
}

void PrintJson(const nlohmann::json& value) { std::cout << value.dump(2) << "\n"; }

}  // namespace aftercare::cli
