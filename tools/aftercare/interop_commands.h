// ics, fhir plandefinition, fhir careplan (interop_commands.cc).
#ifndef AFTERCARE_TOOLS_INTEROP_COMMANDS_H_
#define AFTERCARE_TOOLS_INTEROP_COMMANDS_H_

#include "cli.h"

namespace aftercare::cli {

void RegisterInteropCommands(CLI::App& app, Cli& cli);

}  // namespace aftercare::cli

#endif  // AFTERCARE_TOOLS_INTEROP_COMMANDS_H_
