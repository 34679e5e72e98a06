// aftercare: one binary, one subcommand per job. Bad input: one line on stderr, exit 2.
#include <exception>
#include <iostream>

#include "aftercare/text.h"
#include "checks_commands.h"
#include "cli.h"
#include "interop_commands.h"
#include "notify_commands.h"
#include "server_commands.h"

int main(int argc, char** argv) {
  using namespace aftercare::cli;
  CLI::App app{"aftercare: a personal, time-aware plan from a clinic's aftercare sheet"};
  app.set_version_flag("--version", "aftercare 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  Cli cli;
  app.add_option("--protocol", cli.protocol_path, "A protocol file to use instead of the built-in CIT protocol");
  app.add_flag("--json", cli.json, "Print JSON instead of text");
  RegisterCoreCommands(app, cli);
  RegisterChecksCommands(app, cli);
  RegisterInteropCommands(app, cli);
  RegisterServerCommands(app, cli);
  RegisterNotifyCommands(app, cli);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string message = e.what();
    if (message.empty()) message = "invalid command line";
    std::cerr << "aftercare: error: " << aftercare::OneLine(message) << " (run 'aftercare --help' for usage)\n";
    return kExitBadInput;
  }
  try {
    return cli.action ? cli.action() : kExitOk;
  } catch (const BadInput& e) {
    std::cerr << "aftercare: error: " << aftercare::OneLine(e.message) << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "aftercare: internal error: " << e.what() << "\n";
    return kExitFailed;
  }
}
