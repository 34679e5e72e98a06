// med, ingredients, symptom, series, and plain words for `can` (checks_commands.cc). Call after
// RegisterCoreCommands: it extends the core `can` subcommand.
#ifndef AFTERCARE_TOOLS_CHECKS_COMMANDS_H_
#define AFTERCARE_TOOLS_CHECKS_COMMANDS_H_

#include "cli.h"

namespace aftercare::cli {

void RegisterChecksCommands(CLI::App& app, Cli& cli);

}  // namespace aftercare::cli

#endif  // AFTERCARE_TOOLS_CHECKS_COMMANDS_H_
