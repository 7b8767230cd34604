// tierctl status: the server's version, uptime, one line per tier and one per warming
// source (rpc Status).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "command.h"

namespace tierctl {
namespace {

namespace v1 = tiercache::v1;

std::string Bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

// "12" or "12/1000" with a bound.
std::string OfMax(const std::string& value, uint64_t max, const std::string& max_text) {
  return max == 0 ? value : value + "/" + max_text;
}

std::string Uptime(double seconds) {
  auto s = static_cast<uint64_t>(seconds);
  char buf[48];
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>(s % 86400 / 3600));
  } else if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s % 3600 / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(s));
  }
  return buf;
}

std::string HitRate(uint64_t hits, uint64_t misses) {
  if (hits + misses == 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%",
                100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses));
  return buf;
}

std::string Millis(double seconds) {
  if (seconds <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fms", seconds * 1000.0);
  return buf;
}

nlohmann::json TierToJson(const v1::TierStatus& t) {
  return {{"name", t.name()},
          {"kind", t.kind()},
          {"state", t.state()},
          {"entries", t.entries()},
          {"bytes", t.bytes()},
          {"max_entries", t.max_entries()},
          {"max_bytes", t.max_bytes()},
          {"hits", t.hits()},
          {"misses", t.misses()},
          {"evictions", t.evictions()},
          {"expirations", t.expirations()},
          {"errors", t.errors()},
          {"last_error", t.last_error()},
          {"round_trip_seconds", t.round_trip_seconds()},
          {"write_behind_depth", t.write_behind_depth()}};
}

int Status(const GlobalOptions& global) {
  auto client = MakeClient(global);
  const auto reply = client->Status();
  if (!reply.status.ok()) return ReportFailure(*client, "Status", reply.status);
  const v1::StatusResponse& r = reply.response;
  if (global.json) {
    // The server's full status document (as GET /v1/status), else the RPC's summary.
    nlohmann::json doc = nlohmann::json::parse(r.json(), nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) {
      nlohmann::json tiers = nlohmann::json::array();
      for (const auto& t : r.tiers()) tiers.push_back(TierToJson(t));
      doc = {{"version", r.version()}, {"uptime_seconds", r.uptime_seconds()}, {"tiers", tiers}};
    }
    PrintJson(doc);
    return kExitOk;
  }
  std::cout << "tiercached " << r.version() << " at " << client->target() << ", up "
            << Uptime(r.uptime_seconds()) << "\n";
  std::vector<std::vector<std::string>> rows = {{"TIER", "KIND", "STATE", "ENTRIES", "BYTES",
                                                 "HITS", "MISSES", "HIT RATE", "EVICTED", "ERRORS",
                                                 "QUEUE", "PROBE"}};
  std::vector<std::string> errors;
  for (const v1::TierStatus& t : r.tiers()) {
    const bool lower = !t.kind().empty();
    rows.push_back(
        {t.name(), lower ? t.kind() : "memory", t.state().empty() ? "-" : t.state(),
         OfMax(std::to_string(t.entries()), t.max_entries(), std::to_string(t.max_entries())),
         OfMax(Bytes(t.bytes()), t.max_bytes(), Bytes(t.max_bytes())), std::to_string(t.hits()),
         std::to_string(t.misses()), HitRate(t.hits(), t.misses()), std::to_string(t.evictions()),
         lower ? std::to_string(t.errors()) : "-",
         lower ? std::to_string(t.write_behind_depth()) : "-",
         lower ? Millis(t.round_trip_seconds()) : "-"});
    if (!t.last_error().empty()) errors.push_back(t.name() + " last error: " + t.last_error());
  }
  PrintTable(rows);
  for (const auto& e : errors) std::cout << e << "\n";
  if (!r.warming().empty()) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::cout << "warming:\n";
    for (const v1::WarmSourceStatus& w : r.warming()) {
      std::cout << "  " << FormatWarmSource(w, now) << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void RegisterStatusCommand(CLI::App& app, CommandContext& context) {
  CLI::App* sub = app.add_subcommand("status", "Show the server's version, uptime and tiers");
  sub->callback([&context] {
    const GlobalOptions& global = context.global;
    context.action = [&global] { return Status(global); };
  });
}

}  // namespace tierctl
