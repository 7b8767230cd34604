// tierctl jobs: lists the server's scheduled work (rpc ListJobs), or cancels one job
// (rpc CancelJob with --cancel ID).

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"

namespace tierctl {
namespace {

namespace v1 = tiercache::v1;

std::string Period(double seconds) {
  if (seconds <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", seconds);
  return buf;
}

int ListJobs(const GlobalOptions& global) {
  auto client = MakeClient(global);
  const auto reply = client->ListJobs();
  if (!reply.status.ok()) return ReportFailure(*client, "ListJobs", reply.status);
  const int64_t now = NowUnixMs();
  if (global.json) {
    nlohmann::json jobs = nlohmann::json::array();
    for (const v1::Job& job : reply.response.jobs()) {
      jobs.push_back({{"id", job.id()},
                      {"kind", job.kind()},
                      {"description", job.description()},
                      {"due_unix_ms", job.due_unix_ms()},
                      {"due_in_seconds", static_cast<double>(job.due_unix_ms() - now) / 1000.0},
                      {"period_seconds", job.period_seconds()},
                      {"runs", job.runs()}});
    }
    PrintJson({{"jobs", jobs}});
    return kExitOk;
  }
  if (reply.response.jobs().empty()) {
    std::cout << "no jobs\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "KIND", "DUE", "PERIOD", "RUNS", "DESCRIPTION"}};
  for (const v1::Job& job : reply.response.jobs()) {
    rows.push_back({job.id(), job.kind(),
                    LocalTime(job.due_unix_ms()) + " (" + DueIn(job.due_unix_ms(), now) + ")",
                    Period(job.period_seconds()), std::to_string(job.runs()), job.description()});
  }
  PrintTable(rows);
  return kExitOk;
}

int CancelJob(const GlobalOptions& global, const std::string& id) {
  auto client = MakeClient(global);
  v1::CancelJobRequest request;
  request.set_id(id);
  const auto reply = client->CancelJob(request);
  if (!reply.status.ok()) return ReportFailure(*client, "CancelJob", reply.status);
  if (global.json) {
    PrintJson({{"cancelled", id}});
  } else {
    std::cout << "cancelled job " << id << "\n";
  }
  return kExitOk;
}

}  // namespace

void RegisterJobsCommand(CLI::App& app, CommandContext& context) {
  auto cancel_id = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("jobs", "List scheduled jobs, or cancel one with --cancel");
  CLI::Option* cancel = sub->add_option("--cancel", *cancel_id, "Cancel the job with this id");
  sub->callback([cancel_id, cancel, &context] {
    const GlobalOptions& global = context.global;
    if (cancel->count() > 0) {
      const std::string id = *cancel_id;
      context.action = [&global, id] { return CancelJob(global, id); };
    } else {
      context.action = [&global] { return ListJobs(global); };
    }
  });
}

}  // namespace tierctl
