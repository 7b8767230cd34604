// tierctl warm: lists the server's warming sources (from rpc Status), or runs one now
// (rpc Warm {source}) and follows the run in rpc Status until it ends.

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "command.h"

namespace tierctl {
namespace {

namespace v1 = tiercache::v1;

// How often a run in progress is polled. Each poll builds the whole status document, and on
// a small host serving heavy traffic, polls every 250 ms were enough to lift GET p99.
constexpr std::chrono::milliseconds kPollInterval{1000};

// "1.2 s".
std::string Seconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  return buf;
}

// "every 300s", or "on demand" for a source without an interval.
std::string Interval(double seconds) {
  if (seconds <= 0) return "on demand";
  char buf[40];
  std::snprintf(buf, sizeof buf, "every %gs", seconds);
  return buf;
}

std::string Percent(double rate) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", rate * 100.0);
  return buf;
}

// "12000 attempted, 11990 stored, 10 failed".
std::string Counts(const v1::WarmRun& run) {
  return std::to_string(run.attempted()) + " attempted, " + std::to_string(run.written()) +
         " stored, " + std::to_string(run.failures()) + " failed";
}

// What the last run did: "running for 1.2 s: ...", "ok in 3.4 s: ...", "failed after ...".
std::string RunSummary(const v1::WarmSourceStatus& s) {
  if (!s.has_last_run()) return "never run";
  const v1::WarmRun& run = s.last_run();
  if (s.running()) return "running for " + Seconds(run.duration_seconds()) + ": " + Counts(run);
  if (!run.ok()) {
    return "failed after " + Seconds(run.duration_seconds()) + ": " + run.error() + " (" +
           Counts(run) + ")";
  }
  std::string text = "ok in " + Seconds(run.duration_seconds()) + ": " + Counts(run);
  if (run.failures() > 0 && !run.error().empty()) text += " (last failure: " + run.error() + ")";
  return text;
}

std::string NextRun(const v1::WarmSourceStatus& s, int64_t now) {
  if (s.next_run_unix_ms() == 0) return "-";
  return LocalTime(s.next_run_unix_ms()) + " (" + DueIn(s.next_run_unix_ms(), now) + ")";
}

const v1::WarmSourceStatus* FindSource(const v1::StatusResponse& status, const std::string& name) {
  for (const v1::WarmSourceStatus& s : status.warming()) {
    if (s.name() == name) return &s;
  }
  return nullptr;
}

int ListSources(const GlobalOptions& global) {
  auto client = MakeClient(global);
  const auto reply = client->Status();
  if (!reply.status.ok()) return ReportFailure(*client, "Status", reply.status);
  const auto& sources = reply.response.warming();
  if (global.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const v1::WarmSourceStatus& s : sources) list.push_back(WarmSourceToJson(s));
    PrintJson({{"sources", list}});
    return kExitOk;
  }
  if (sources.empty()) {
    std::cout << "no warming sources\n";
    return kExitOk;
  }
  const int64_t now = NowUnixMs();
  std::vector<std::vector<std::string>> rows = {
      {"SOURCE", "KIND", "INTERVAL", "RUNS", "FAILED", "LAST RUN", "RESULT", "SUCCESS", "NEXT RUN"}};
  for (const v1::WarmSourceStatus& s : sources) {
    rows.push_back({s.name(), s.kind(), Interval(s.interval_seconds()), std::to_string(s.runs()),
                    std::to_string(s.failed_runs()),
                    s.has_last_run() ? LocalTime(s.last_run().started_unix_ms()) : "-",
                    RunSummary(s), Percent(s.success_rate()), NextRun(s, now)});
  }
  PrintTable(rows);
  return kExitOk;
}

// Runs `name` now (or joins the run going on) and, unless `no_wait`, follows it to its end.
int WarmSource(const GlobalOptions& global, const std::string& name, bool no_wait) {
  auto client = MakeClient(global);
  // The finished runs before this one: the run followed is over once there are more.
  const auto before = client->Status();
  if (!before.status.ok()) return ReportFailure(*client, "Status", before.status);
  const v1::WarmSourceStatus* known = FindSource(before.response, name);
  const uint64_t runs_before = known ? known->runs() : 0;

  v1::WarmRequest request;
  request.set_source(name);
  const auto reply = client->Warm(request);
  bool running_already = false;
  if (reply.status.code_name == "ABORTED") {
    running_already = true;  // the server's answer for a source that is running already
  } else if (!reply.status.ok()) {
    return ReportFailure(*client, "Warm", reply.status);
  }
  if (no_wait) {
    if (global.json) {
      PrintJson({{"source", name}, {"started", !running_already}, {"running_already", running_already}});
    } else {
      std::cout << name << (running_already ? ": running already" : ": started") << "\n";
    }
    return kExitOk;
  }
  if (running_already && !global.json) {
    std::cout << name << ": running already; following the run in progress" << std::endl;
  }

  for (;;) {
    std::this_thread::sleep_for(kPollInterval);
    const auto status = client->Status();
    if (!status.status.ok()) return ReportFailure(*client, "Status", status.status);
    const v1::WarmSourceStatus* s = FindSource(status.response, name);
    if (!s) {
      std::cerr << "tierctl: NOT_FOUND: the server no longer reports warming source '" << name
                << "'\n";
      return kExitServerError;
    }
    if (s->runs() > runs_before && !s->running()) {
      const v1::WarmRun& run = s->last_run();
      if (global.json) {
        PrintJson(WarmSourceToJson(*s));
      } else if (run.ok()) {
        std::cout << name << ": done in " << Seconds(run.duration_seconds()) << ": " << Counts(run)
                  << "\n";
        if (run.failures() > 0 && !run.error().empty()) {
          std::cout << name << ": last failure: " << run.error() << "\n";
        }
      } else {
        std::cerr << "tierctl: " << name << ": failed after " << Seconds(run.duration_seconds())
                  << ": " << run.error() << " (" << Counts(run) << ")\n";
      }
      return run.ok() ? kExitOk : kExitServerError;
    }
    if (s->running() && s->has_last_run() && !global.json) {
      const v1::WarmRun& run = s->last_run();
      std::cout << name << ": " << Counts(run) << ", " << Seconds(run.duration_seconds())
                << std::endl;
    }
  }
}

}  // namespace

nlohmann::json WarmSourceToJson(const v1::WarmSourceStatus& s) {
  nlohmann::json doc = {
      {"name", s.name()},
      {"kind", s.kind()},
      {"interval_seconds", s.interval_seconds()},
      {"runs", s.runs()},
      {"failed_runs", s.failed_runs()},
      {"attempted", s.attempted()},
      {"written", s.written()},
      {"failures", s.failures()},
      {"success_rate", s.success_rate()},
      {"running", s.running()},
      {"next_run_unix_ms",
       s.next_run_unix_ms() == 0 ? nlohmann::json() : nlohmann::json(s.next_run_unix_ms())},
  };
  if (s.has_last_run()) {
    const v1::WarmRun& run = s.last_run();
    doc["last_run"] = {{"started_unix_ms", run.started_unix_ms()},
                       {"duration_seconds", run.duration_seconds()},
                       {"attempted", run.attempted()},
                       {"written", run.written()},
                       {"failures", run.failures()},
                       {"ok", run.ok()},
                       {"error", run.error()}};
  }
  return doc;
}

std::string FormatWarmSource(const v1::WarmSourceStatus& s, int64_t now_unix_ms) {
  std::string line = s.name() + " (" + s.kind() + ", " + Interval(s.interval_seconds()) + "): ";
  if (s.has_last_run() && !s.running()) {
    line += "last run " + LocalTime(s.last_run().started_unix_ms()) + " ";
  }
  line += RunSummary(s) + "; runs " + std::to_string(s.runs()) + ", " +
          std::to_string(s.failed_runs()) + " failed; success " + Percent(s.success_rate());
  if (s.next_run_unix_ms() != 0) line += "; next run " + NextRun(s, now_unix_ms);
  return line;
}

void RegisterWarmCommand(CLI::App& app, CommandContext& context) {
  struct Options {
    std::string source;
    bool no_wait = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "warm", "List the warming sources, or run one now with --source and follow the run");
  CLI::Option* source =
      sub->add_option("--source", options->source, "Run this warming source now");
  sub->add_flag("--no-wait", options->no_wait, "Return once the run has started")->needs(source);
  sub->callback([options, source, &context] {
    const GlobalOptions& global = context.global;
    if (source->count() > 0) {
      const Options o = *options;
      context.action = [&global, o] { return WarmSource(global, o.source, o.no_wait); };
    } else {
      context.action = [&global] { return ListSources(global); };
    }
  });
}

}  // namespace tierctl
