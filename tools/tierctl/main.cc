// tierctl: the management CLI of tiercached, over gRPC.
//
// tierctl [--server HOST:PORT] [--timeout S] [--json] SUBCOMMAND ...
// Exit status: 0 success, 1 the server answered with an error, 2 bad usage, 3 the server
// could not be reached. See tools/tierctl/README.md.

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "command.h"

int main(int argc, char** argv) {
  using namespace tierctl;
  CommandContext context;
  CLI::App app("tierctl: manage a running tiercached over gRPC", "tierctl");
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "tierctl: " + std::string(e.what()) + "\nRun 'tierctl --help' for more information.\n";
  });
  // The global options may also follow the subcommand (`tierctl jobs --json`).
  app.fallthrough();
  app.add_option("--server", context.global.server, "tiercached's gRPC address, HOST:PORT")
      ->capture_default_str();
  app.add_option("--timeout", context.global.timeout_seconds, "Deadline of each call, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", context.global.json, "Print one JSON object instead of text");
  app.add_option("--namespace", context.global.ns,
                 "The namespace the keys of get, set, delete, invalidate and warm are in");

  RegisterInvalidateCommand(app, context);
  RegisterJobsCommand(app, context);
  RegisterGetSetCommands(app, context);
  RegisterClearCommand(app, context);
  RegisterStatusCommand(app, context);
  RegisterWarmCommand(app, context);
  RegisterMonitorCommand(app, context);
  RegisterOptimizeCommand(app, context);
  RegisterNamespacesCommand(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!context.action) {
    std::cerr << app.help();
    return kExitUsage;
  }
  return context.action();
}
