#pragma once

// What every tierctl subcommand shares: the global options, exit codes, the client, and
// reporting of a failed call. Each subcommand lives in its own file and exports one
// Register...Command(app, context) that adds it to the command line; when it is the one
// given, its parse callback sets `context.action`, which main runs.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "client.h"

namespace tierctl {

// Exit status of tierctl.
enum ExitCode : int {
  kExitOk = 0,
  kExitServerError = 1,  // the server answered with an error (or `get` found nothing)
  kExitUsage = 2,        // bad command line
  kExitUnreachable = 3,  // no connection to the server
};

struct GlobalOptions {
  std::string server = "127.0.0.1:50051";  // HOST:PORT of tiercached's gRPC listener
  double timeout_seconds = 5.0;            // deadline of each call
  bool json = false;                       // one JSON object on stdout instead of text
  std::string ns;                          // the namespace keys are in (--namespace)
};

struct CommandContext {
  GlobalOptions global;
  // Set by the subcommand that was given; returns the exit status.
  std::function<int()> action;
};

// A client of global.server with global.timeout_seconds per call.
std::unique_ptr<Client> MakeClient(const GlobalOptions& global);

// Reports a failed call of `rpc` on stderr and returns its exit status: 3 for an
// unreachable server, 1 for an error answer ("tierctl: NOT_FOUND: message").
int ReportFailure(const Client& client, std::string_view rpc, const CallStatus& status);

// Prints `doc` as one line of JSON on stdout; bytes that are not UTF-8 are replaced.
void PrintJson(const nlohmann::json& doc);

// `bytes` as a JSON string when it is valid UTF-8, otherwise as {"base64": "..."}.
nlohmann::json BytesToJson(const std::string& bytes);

// The removals per tier of an invalidation or clear, for people: "L1 3, L2 3, L3 error: ...".
std::string FormatTierRemovals(
    const google::protobuf::RepeatedPtrField<tiercache::v1::TierRemoval>& tiers);

// The same as a JSON object: {"L1": 3, "L2": {"removed": 0, "error": "..."}}.
nlohmann::json TierRemovalsToJson(
    const google::protobuf::RepeatedPtrField<tiercache::v1::TierRemoval>& tiers);

// Prints `rows` (the first is the header) as left-aligned columns two spaces apart.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

void RegisterInvalidateCommand(CLI::App& app, CommandContext& context);
void RegisterJobsCommand(CLI::App& app, CommandContext& context);
void RegisterGetSetCommands(CLI::App& app, CommandContext& context);
void RegisterClearCommand(CLI::App& app, CommandContext& context);
void RegisterStatusCommand(CLI::App& app, CommandContext& context);
void RegisterWarmCommand(CLI::App& app, CommandContext& context);
void RegisterMonitorCommand(CLI::App& app, CommandContext& context);
void RegisterOptimizeCommand(CLI::App& app, CommandContext& context);
void RegisterNamespacesCommand(CLI::App& app, CommandContext& context);

// A warming source's state as JSON, in the shape of GET /v1/status "warming".
nlohmann::json WarmSourceToJson(const tiercache::v1::WarmSourceStatus& source);

// One line about a warming source for people: its last run, success rate and next run.
std::string FormatWarmSource(const tiercache::v1::WarmSourceStatus& source, int64_t now_unix_ms);

// Now, as milliseconds since the Unix epoch.
int64_t NowUnixMs();
// "2024-05-01 13:45:07" in local time.
std::string LocalTime(int64_t unix_ms);
// "in 42s", or "overdue 3s" for a time that has passed.
std::string DueIn(int64_t due_unix_ms, int64_t now_unix_ms);

}  // namespace tierctl
