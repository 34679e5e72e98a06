// dispatch (notify_commands.cc).
#ifndef AFTERCARE_TOOLS_NOTIFY_COMMANDS_H_
#define AFTERCARE_TOOLS_NOTIFY_COMMANDS_H_

#include "cli.h"

namespace aftercare::cli {

void RegisterNotifyCommands(CLI::App& app, Cli& cli);

}  // namespace aftercare::cli

#endif  // AFTERCARE_TOOLS_NOTIFY_COMMANDS_H_
