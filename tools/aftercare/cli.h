// What every subcommand of the `aftercare` binary shares: the protocol in force, --json, the procedure options,
// and the rule that bad input is one line on stderr and exit code 2.
#ifndef AFTERCARE_TOOLS_CLI_H_
#define AFTERCARE_TOOLS_CLI_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "aftercare/engine.h"
#include "aftercare/protocol.h"

namespace aftercare::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;    // the command ran and the answer is "no" (lint found errors)
inline constexpr int kExitBadInput = 2;  // the user's input was wrong

// Thrown by helpers to stop a command with a one-line message and exit code 2; caught in main.
struct BadInput {
  std::string message;
};

struct Cli {
  std::string protocol_path;  // --protocol; empty: the built-in CIT protocol
  bool json = false;          // --json
  std::function<int()> action;  // set by the chosen subcommand's callback

  // The protocol in force; throws BadInput when --protocol names a bad file.
  const Protocol& protocol();

 private:
  std::unique_ptr<Protocol> loaded_;
};

// --procedure-end, --tz, --areas and, for questions about a moment, --at.
struct ProcedureArgs {
  std::string end;
  std::string tz;
  std::string areas;
  std::string at;
};
void AddProcedureOptions(CLI::App* command, ProcedureArgs* args, bool with_at, bool required = true);

// The compiled plan of the procedure the options describe; throws BadInput.
Plan BuildPlan(const Protocol& protocol, const ProcedureArgs& args);
// --at as an instant; empty or "now" is the current time (the CLI is the edge that reads the clock). Throws BadInput.
Instant ResolveAt(const ProcedureArgs& args, Zone zone);
// The value of a Result or BadInput with its message.
template <typename T>
T Require(Result<T> result) {
  if (!result) throw BadInput{result.error().message};
  return std::move(result).value();
}

// Prints JSON (pretty, one document) to stdout.
void PrintJson(const nlohmann::json& value);

// Each group of subcommands registers itself here.
void RegisterCoreCommands(CLI::App& app, Cli& cli);

}  // namespace aftercare::cli

#endif  // AFTERCARE_TOOLS_CLI_H_
