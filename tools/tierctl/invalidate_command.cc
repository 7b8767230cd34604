// tierctl invalidate: removes entries by keys, tags, pattern or model from every tier, now
// (rpc Invalidate) or after --in seconds (rpc ScheduleInvalidation).

#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"

namespace tierctl {
namespace {

namespace v1 = tiercache::v1;

struct InvalidateOptions {
  std::vector<std::string> keys;
  std::vector<std::string> tags;
  std::string pattern;
  std::string model;
  std::string instance_id;
  std::string event;
  std::vector<std::string> fields;  // name=value
  std::vector<std::string> urls;
  std::vector<std::string> url_prefixes;
  double in_seconds = 0;            // with --in
};

// The request of `options`; throws CLI::ValidationError for a bad combination.
v1::InvalidateRequest BuildRequest(const InvalidateOptions& options) {
  if (options.keys.empty() && options.tags.empty() && options.pattern.empty() &&
      options.model.empty() && options.urls.empty() && options.url_prefixes.empty()) {
    throw CLI::ValidationError("invalidate needs at least one criterion: --keys, --tags, "
                               "--pattern, --model, --urls or --url-prefixes");
  }
  v1::InvalidateRequest request;
  for (const auto& k : options.keys) request.add_keys(k);
  for (const auto& t : options.tags) request.add_tags(t);
  request.set_pattern(options.pattern);
  request.set_model(options.model);
  request.set_instance_id(options.instance_id);
  request.set_event(options.event);
  for (const auto& u : options.urls) request.add_urls(u);
  for (const auto& p : options.url_prefixes) request.add_url_prefixes(p);
  for (const auto& field : options.fields) {
    const size_t eq = field.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw CLI::ValidationError("--field", "expected name=value, got '" + field + "'");
    }
    (*request.mutable_fields())[field.substr(0, eq)] = field.substr(eq + 1);
  }
  return request;
}

int InvalidateNow(const GlobalOptions& global, const v1::InvalidateRequest& request) {
  auto client = MakeClient(global);
  const auto reply = client->Invalidate(request);
  if (!reply.status.ok()) return ReportFailure(*client, "Invalidate", reply.status);
  const v1::InvalidateResponse& r = reply.response;
  if (global.json) {
    nlohmann::json models = nlohmann::json::array();
    for (const auto& m : r.models()) models.push_back(m);
    PrintJson({{"invalidated", r.invalidated()},
               {"by_keys", r.by_keys()},
               {"by_tags", r.by_tags()},
               {"by_pattern", r.by_pattern()},
               {"tiers", TierRemovalsToJson(r.tiers())},
               {"models", models}});
    return kExitOk;
  }
  std::cout << "invalidated " << r.invalidated() << " (" << FormatTierRemovals(r.tiers()) << ")\n";
  if (!r.models().empty()) {
    std::cout << "models:";
    for (int i = 0; i < r.models_size(); ++i) std::cout << (i ? ", " : " ") << r.models(i);
    std::cout << "\n";
  }
  return kExitOk;
}

int InvalidateLater(const GlobalOptions& global, double delay_seconds,
                    const v1::InvalidateRequest& request) {
  auto client = MakeClient(global);
  v1::ScheduleInvalidationRequest schedule;
  schedule.set_delay_seconds(delay_seconds);
  *schedule.mutable_criteria() = request;
  const auto reply = client->ScheduleInvalidation(schedule);
  if (!reply.status.ok()) return ReportFailure(*client, "ScheduleInvalidation", reply.status);
  if (global.json) {
    PrintJson({{"job_id", reply.response.job_id()}, {"delay_seconds", delay_seconds}});
  } else {
    std::cout << "scheduled job " << reply.response.job_id() << " (due in "
              << std::llround(delay_seconds) << "s)\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterInvalidateCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<InvalidateOptions>();
  CLI::App* sub = app.add_subcommand(
      "invalidate", "Remove entries by keys, tags, pattern or model from every tier");
  sub->add_option("--keys", options->keys, "Keys to remove (several may follow)");
  sub->add_option("--tags", options->tags, "Tags whose entries to remove (comma-separated too)")
      ->delimiter(',');
  sub->add_option("--pattern", options->pattern,
                  "RE2 regular expression searched in every key (anchor with ^ and $)");
  sub->add_option("--urls", options->urls,
                  "Paths whose responses the caching proxy stored (every variant) to purge");
  sub->add_option("--url-prefixes", options->url_prefixes,
                  "Path prefixes: purge the proxy's stored responses of every path under them");
  CLI::Option* model =
      sub->add_option("--model", options->model, "Model whose invalidation rule to apply");
  sub->add_option("--id", options->instance_id, "The model instance's id ({id} in the rule)")
      ->needs(model);
  sub->add_option("--event", options->event, "What happened to the instance (default save)")
      ->check(CLI::IsMember({"save", "delete"}))
      ->needs(model);
  sub->add_option("--field", options->fields, "Another field of the instance, name=value")
      ->needs(model);
  CLI::Option* in =
      sub->add_option("--in", options->in_seconds,
                      "Schedule the invalidation SECONDS from now instead of running it now")
          ->check(CLI::NonNegativeNumber);
  sub->callback([options, in, &context] {
    const v1::InvalidateRequest request = BuildRequest(*options);
    const GlobalOptions& global = context.global;
    if (in->count() > 0) {
      const double delay = options->in_seconds;
      context.action = [&global, delay, request] {
        return InvalidateLater(global, delay, request);
      };
    } else {
      context.action = [&global, request] { return InvalidateNow(global, request); };
    }
  });
}

}  // namespace tierctl
