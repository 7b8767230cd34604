// tierctl clear [--yes]: empties every tier (rpc Clear), once confirmed at the terminal or
// by --yes.

#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "command.h"

namespace tierctl {
namespace {

bool Confirm(const std::string& server) {
  std::cerr << "Remove every entry from every tier of the tiercached at " << server
            << "? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

int Clear(const GlobalOptions& global) {
  auto client = MakeClient(global);
  const auto reply = client->Clear();
  if (!reply.status.ok()) return ReportFailure(*client, "Clear", reply.status);
  const auto& r = reply.response;
  if (global.json) {
    PrintJson({{"removed", r.removed()}, {"tiers", TierRemovalsToJson(r.tiers())}});
  } else {
    std::cout << "cleared " << r.removed() << " (" << FormatTierRemovals(r.tiers()) << ")\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterClearCommand(CLI::App& app, CommandContext& context) {
  auto yes = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "clear", "Empty every tier (asks for confirmation; --yes to skip the question)");
  sub->add_flag("--yes", *yes, "Confirm: remove every entry of this server");
  sub->callback([yes, &context] {
    // Without a terminal to ask, only --yes may confirm: a script must say so.
    if (!*yes && isatty(STDIN_FILENO) != 1) {
      throw CLI::ValidationError("clear empties every tier; confirm with --yes");
    }
    const GlobalOptions& global = context.global;
    const bool confirmed = *yes;
    context.action = [&global, confirmed] {
      if (!confirmed && !Confirm(global.server)) {
        std::cerr << "tierctl: clear cancelled\n";
        return static_cast<int>(kExitUsage);
      }
      return Clear(global);
    };
  });
}

}  // namespace tierctl
