// tierctl monitor [--interval S] [--count N] [--export prometheus]: a live view of the
// server (rpc Status every interval). On a terminal the screen is redrawn in place; into a
// pipe or file, one plain line per interval. --export prometheus prints one scrape of the
// server's metrics and exits.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "command.h"

namespace tierctl {
namespace {

using nlohmann::json;

struct MonitorOptions {
  double interval_seconds = 1.0;
  uint64_t count = 0;  // 0: until interrupted
  std::string export_format;
};

double Number(const json& doc, std::initializer_list<const char*> path) {
  const json* node = &doc;
  for (const char* field : path) {
    const auto it = node->find(field);
    if (it == node->end()) return 0.0;
    node = &*it;
  }
  return node->is_number() ? node->get<double>() : 0.0;
}

// What one refresh shows, from two status documents `interval` apart.
struct View {
  double ops_per_second = 0;  // gets, sets and deletes
  std::optional<double> hit_rate;  // of the reads in the interval
  double reads_per_second = 0;
  double get_p99_ms = 0;      // since start (the server's histogram)
  double l1_bytes = 0, l1_max_bytes = 0, l1_entries = 0, rss_bytes = 0;
  std::string tiers;          // "L1 up, L2 up, L3 down"
};

double Operations(const json& status) {
  double n = 0;
  for (const char* op : {"get", "set", "delete"}) {
    n += Number(status, {"performance", "operations", op, "requests"});
  }
  return n;
}

View Compute(const json& previous, const json& now, double seconds) {
  View v;
  const double reads = Number(now, {"performance", "reads"}) - Number(previous, {"performance", "reads"});
  const double hits = Number(now, {"performance", "hits"}) - Number(previous, {"performance", "hits"});
  v.ops_per_second = (Operations(now) - Operations(previous)) / seconds;
  v.reads_per_second = reads / seconds;
  if (reads > 0) v.hit_rate = hits / reads;
  // The last second's p99 when the server keeps a history, else the one since start.
  v.get_p99_ms = now.contains("recent") ? Number(now, {"recent", "get_p99_ms"})
                                        : Number(now, {"performance", "operations", "get",
                                                       "latency_ms", "p99"});
  v.l1_bytes = Number(now, {"memory", "l1_bytes"});
  v.l1_max_bytes = Number(now, {"memory", "l1_max_bytes"});
  v.rss_bytes = Number(now, {"memory", "resident_bytes"});
  for (const json& t : now.value("tiers", json::array())) {
    if (t.value("name", "") == "L1") v.l1_entries = Number(t, {"entries"});
    if (!v.tiers.empty()) v.tiers += ", ";
    v.tiers += t.value("name", "?") + " " + t.value("state", "?");
  }
  return v;
}

std::string Fixed(double value, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string Mib(double bytes) { return Fixed(bytes / (1024 * 1024), 1) + " MiB"; }

std::string HitRate(const View& v) {
  return v.hit_rate ? Fixed(100 * *v.hit_rate, 1) + "%" : "-";
}

std::string PlainLine(const View& v) {
  char time[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(time, sizeof time, "%H:%M:%S", std::localtime(&t));
  return std::string(time) + " ops/s=" + Fixed(v.ops_per_second, 0) + " hit_rate=" + HitRate(v) +
         " get_p99_ms=" + Fixed(v.get_p99_ms, 3) + " l1_bytes=" + Fixed(v.l1_bytes, 0) +
         " rss_bytes=" + Fixed(v.rss_bytes, 0) + " tiers=\"" + v.tiers + "\"";
}

void DrawScreen(const View& v, const std::string& target) {
  // Home and clear, then the panel: one write, so the terminal never shows half of it.
  std::string s = "\x1b[H\x1b[2J";
  s += "tiercached at " + target + " (refreshing; Ctrl-C to quit)\n\n";
  s += "  hit rate     " + HitRate(v) + "\n";
  s += "  ops/s        " + Fixed(v.ops_per_second, 0) + " (reads " +
       Fixed(v.reads_per_second, 0) + ")\n";
  s += "  GET p99      " + Fixed(v.get_p99_ms, 3) + " ms\n";
  s += "  L1 memory    " + Mib(v.l1_bytes) + " of " + Mib(v.l1_max_bytes) + ", " +
       Fixed(v.l1_entries, 0) + " entries\n";
  if (v.rss_bytes > 0) s += "  resident     " + Mib(v.rss_bytes) + "\n";
  s += "  tiers        " + v.tiers + "\n";
  std::cout << s << std::flush;
}

int Monitor(const GlobalOptions& global, const MonitorOptions& options) {
  auto client = MakeClient(global);
  if (!options.export_format.empty()) {
    const auto reply = client->Status(/*include_metrics=*/true);
    if (!reply.status.ok()) return ReportFailure(*client, "Status", reply.status);
    std::cout << reply.response.metrics();
    return kExitOk;
  }
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  const auto interval = std::chrono::duration<double>(options.interval_seconds);
  json previous;
  auto previous_at = std::chrono::steady_clock::now();
  for (uint64_t shown = 0; options.count == 0 || shown < options.count;) {
    const auto reply = client->Status();
    const auto at = std::chrono::steady_clock::now();
    if (!reply.status.ok()) return ReportFailure(*client, "Status", reply.status);
    json now = json::parse(reply.response.json(), nullptr, /*allow_exceptions=*/false);
    if (!now.is_object()) {
      std::cerr << "tierctl: the server's status document is not JSON\n";
      return kExitServerError;
    }
    if (!previous.is_null()) {
      const View view =
          Compute(previous, now, std::chrono::duration<double>(at - previous_at).count());
      if (terminal) {
        DrawScreen(view, client->target());
      } else {
        std::cout << PlainLine(view) << std::endl;
      }
      ++shown;
    }
    previous = std::move(now);
    previous_at = at;
    if (options.count == 0 || shown < options.count) std::this_thread::sleep_for(interval);
  }
  return kExitOk;
}

}  // namespace

void RegisterMonitorCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<MonitorOptions>();
  CLI::App* sub = app.add_subcommand(
      "monitor", "Live view: hit rate, ops/s, p99, memory and tier health, every second");
  sub->add_option("--interval", options->interval_seconds, "Seconds between refreshes")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  sub->add_option("--count", options->count, "Stop after this many refreshes (0: never)")
      ->capture_default_str();
  sub->add_option("--export", options->export_format,
                  "Print one scrape in this format and exit (prometheus)")
      ->check(CLI::IsMember({"prometheus"}));
  sub->callback([options, &context] {
    const GlobalOptions& global = context.global;
    context.action = [&global, options] { return Monitor(global, *options); };
  });
}

}  // namespace tierctl
