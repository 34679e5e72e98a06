// serve, admin create-clinic, admin backup (server_commands.cc).
#ifndef AFTERCARE_TOOLS_SERVER_COMMANDS_H_
#define AFTERCARE_TOOLS_SERVER_COMMANDS_H_

#include "cli.h"

namespace aftercare::cli {

void RegisterServerCommands(CLI::App& app, Cli& cli);

}  // namespace aftercare::cli

#endif  // AFTERCARE_TOOLS_SERVER_COMMANDS_H_
