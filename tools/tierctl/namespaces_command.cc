// tierctl namespaces: lists the configured namespaces with their versions and traffic
// (rpc ListNamespaces), or moves one to its next version with --bump NAME (rpc
// BumpNamespace), which makes every older entry of it unreachable at once.

#include <iostream>
#include <string>
#include <vector>

#include "command.h"

namespace tierctl {
namespace {

namespace v1 = tiercache::v1;

nlohmann::json ToJson(const v1::Namespace& n) {
  return {{"name", n.name()},     {"prefix", n.prefix()}, {"version", n.version()},
          {"reads", n.reads()},   {"hits", n.hits()},     {"writes", n.writes()},
          {"deletes", n.deletes()}, {"bumps", n.bumps()}};
}

int List(const GlobalOptions& global) {
  auto client = MakeClient(global);
  const auto reply = client->ListNamespaces();
  if (!reply.status.ok()) return ReportFailure(*client, "ListNamespaces", reply.status);
  if (global.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& n : reply.response.namespaces()) list.push_back(ToJson(n));
    PrintJson({{"namespaces", list}});
    return kExitOk;
  }
  if (reply.response.namespaces().empty()) {
    std::cout << "no namespaces configured\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "PREFIX", "VERSION", "READS", "HIT RATE", "WRITES", "BUMPS"}};
  for (const auto& n : reply.response.namespaces()) {
    const std::string rate =
        n.reads() == 0 ? "-"
                       : std::to_string(static_cast<int>(100.0 * static_cast<double>(n.hits()) /
                                                         static_cast<double>(n.reads()))) +
                             "%";
    rows.push_back({n.name(), n.prefix(), std::to_string(n.version()), std::to_string(n.reads()),
                    rate, std::to_string(n.writes()), std::to_string(n.bumps())});
  }
  PrintTable(rows);
  return kExitOk;
}

int Bump(const GlobalOptions& global, const std::string& name) {
  auto client = MakeClient(global);
  const auto reply = client->BumpNamespace(name);
  if (!reply.status.ok()) return ReportFailure(*client, "BumpNamespace", reply.status);
  if (global.json) {
    PrintJson(ToJson(reply.response));
  } else {
    std::cout << "namespace " << reply.response.name() << " is at version "
              << reply.response.version() << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterNamespacesCommand(CLI::App& app, CommandContext& context) {
  auto bump_name = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "namespaces", "List namespaces and their versions, or move one to its next with --bump");
  CLI::Option* bump =
      sub->add_option("--bump", *bump_name, "Move this namespace to its next version");
  sub->callback([bump_name, bump, &context] {
    const GlobalOptions& global = context.global;
    if (bump->count() > 0) {
      const std::string name = *bump_name;
      context.action = [&global, name] { return Bump(global, name); };
    } else {
      context.action = [&global] { return List(global); };
    }
  });
}

}  // namespace tierctl
