// tierctl optimize [--output FILE]: recommendations from the server's live statistics
// (rpc Status), each with the evidence behind it.

#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "recommendations.h"

namespace tierctl {
namespace {

int Optimize(const GlobalOptions& global, const std::string& output) {
  auto client = MakeClient(global);
  const auto reply = client->Status();
  if (!reply.status.ok()) return ReportFailure(*client, "Status", reply.status);
  const nlohmann::json status =
      nlohmann::json::parse(reply.response.json(), nullptr, /*allow_exceptions=*/false);
  if (!status.is_object()) {
    std::cerr << "tierctl: the server's status document is not JSON\n";
    return kExitServerError;
  }
  const std::vector<Recommendation> recommendations = Recommend(status);
  nlohmann::json doc = {{"recommendations", nlohmann::json::array()}};
  for (const Recommendation& r : recommendations) {
    doc["recommendations"].push_back({{"kind", r.kind},
                                      {"subject", r.subject},
                                      {"message", r.message},
                                      {"evidence", r.evidence}});
  }
  if (status.value("monitoring", true) == false) {
    doc["note"] = "monitoring is off on the server (monitoring.enabled): no statistics to judge";
  }
  if (!output.empty()) {
    std::ofstream file(output);
    file << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    if (!file) {
      std::cerr << "tierctl: cannot write " << output << "\n";
      return kExitServerError;
    }
  }
  if (global.json) {
    PrintJson(doc);
    return kExitOk;
  }
  if (doc.contains("note")) std::cout << doc["note"].get<std::string>() << "\n";
  if (recommendations.empty()) {
    std::cout << "no recommendations: nothing in the statistics so far calls for a change\n";
  }
  for (const Recommendation& r : recommendations) {
    std::cout << "[" << r.kind << "] " << r.message << "\n";
  }
  if (!output.empty()) std::cout << "written to " << output << "\n";
  return kExitOk;
}

}  // namespace

void RegisterOptimizeCommand(CLI::App& app, CommandContext& context) {
  auto output = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "optimize", "Recommend changes (TTLs, L1 size, tags, tiers) from the live statistics");
  sub->add_option("--output", *output, "Also write the recommendations to FILE as JSON");
  sub->callback([output, &context] {
    const GlobalOptions& global = context.global;
    context.action = [&global, output] { return Optimize(global, *output); };
  });
}

}  // namespace tierctl
