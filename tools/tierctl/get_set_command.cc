// tierctl get KEY, tierctl set KEY VALUE and tierctl delete KEY: one key through every
// tier (rpc Get, Set, Delete).

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"

namespace tierctl {
namespace {

namespace v1 = tiercache::v1;

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", s);
  return buf;
}

int Get(const GlobalOptions& global, const std::string& key) {
  auto client = MakeClient(global);
  v1::GetRequest request;
  request.set_key(key);
  const auto reply = client->Get(request);
  if (!reply.status.ok()) return ReportFailure(*client, "Get", reply.status);
  const v1::GetResponse& r = reply.response;
  if (global.json) {
    nlohmann::json doc = {{"key", BytesToJson(key)}, {"found", r.found()}};
    if (r.found()) {
      doc["value"] = BytesToJson(r.value());
      doc["tier"] = r.tier();
      doc["ttl_seconds"] = r.ttl_seconds();
    }
    PrintJson(doc);
  } else if (r.found()) {
    // The value byte for byte, then a newline; where it came from goes to stderr so that
    // stdout stays the value.
    std::cout << r.value() << "\n";
    std::cerr << "(" << r.tier() << ", ttl " << Seconds(r.ttl_seconds()) << ")\n";
  } else {
    std::cerr << "tierctl: " << key << ": not found\n";
  }
  return r.found() ? kExitOk : kExitServerError;
}

struct SetOptions {
  std::string key;
  std::string value;
  double ttl_seconds = 0;
  std::vector<std::string> tags;
};

int Set(const GlobalOptions& global, const SetOptions& options) {
  auto client = MakeClient(global);
  v1::SetRequest request;
  request.set_key(options.key);
  request.set_value(options.value);
  request.set_ttl_seconds(options.ttl_seconds);
  for (const auto& t : options.tags) request.add_tags(t);
  const auto reply = client->Set(request);
  if (!reply.status.ok()) return ReportFailure(*client, "Set", reply.status);
  if (global.json) {
    PrintJson({{"key", BytesToJson(options.key)},
               {"stored", true},
               {"bytes", options.value.size()},
               {"ttl_seconds", options.ttl_seconds},
               {"tags", options.tags}});
    return kExitOk;
  }
  std::cout << "stored " << options.key << " (" << options.value.size() << " bytes, ttl "
            << (options.ttl_seconds > 0 ? Seconds(options.ttl_seconds) : "default");
  for (size_t i = 0; i < options.tags.size(); ++i) {
    std::cout << (i ? "," : ", tags ") << options.tags[i];
  }
  std::cout << ")\n";
  return kExitOk;
}

// Exit 1 (with NOT_FOUND on stderr) when no tier held the key.
int Delete(const GlobalOptions& global, const std::string& key) {
  auto client = MakeClient(global);
  v1::DeleteRequest request;
  request.set_key(key);
  const auto reply = client->Delete(request);
  if (!reply.status.ok()) return ReportFailure(*client, "Delete", reply.status);
  if (global.json) {
    PrintJson({{"key", BytesToJson(key)}, {"deleted", true}});
  } else {
    std::cout << "deleted " << key << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterGetSetCommands(CLI::App& app, CommandContext& context) {
  auto key = std::make_shared<std::string>();
  CLI::App* get = app.add_subcommand("get", "Read a key (the value on stdout)");
  get->add_option("KEY", *key, "The key")->required();
  get->callback([key, &context] {
    const GlobalOptions& global = context.global;
    const std::string k = *key;
    context.action = [&global, k] { return Get(global, k); };
  });

  auto options = std::make_shared<SetOptions>();
  CLI::App* set = app.add_subcommand("set", "Store a value in every tier");
  set->add_option("KEY", options->key, "The key")->required();
  set->add_option("VALUE", options->value, "The value")->required();
  set->add_option("--ttl", options->ttl_seconds, "Lifetime in seconds (default: the server's)")
      ->check(CLI::PositiveNumber);
  set->add_option("--tags", options->tags, "Tags of the entry (comma-separated, or repeated)")
      ->delimiter(',')
      ->allow_extra_args(false);
  set->callback([options, &context] {
    const GlobalOptions& global = context.global;
    const SetOptions o = *options;
    context.action = [&global, o] { return Set(global, o); };
  });

  auto delete_key = std::make_shared<std::string>();
  CLI::App* del = app.add_subcommand("delete", "Remove a key from every tier");
  del->add_option("KEY", *delete_key, "The key")->required();
  del->callback([delete_key, &context] {
    const GlobalOptions& global = context.global;
    const std::string k = *delete_key;
    context.action = [&global, k] { return Delete(global, k); };
  });
}

}  // namespace tierctl
