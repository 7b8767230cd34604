// tierctl clear --yes: empties every tier (rpc Clear).

#include <iostream>
#include <memory>

#include "command.h"

namespace tierctl {
namespace {

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
  CLI::App* sub = app.add_subcommand("clear", "Empty every tier (needs --yes)");
  sub->add_flag("--yes", *yes, "Confirm: remove every entry of this server");
  sub->callback([yes, &context] {
    if (!*yes) throw CLI::ValidationError("clear empties every tier; confirm with --yes");
    const GlobalOptions& global = context.global;
    context.action = [&global] { return Clear(global); };
  });
}

}  // namespace tierctl
