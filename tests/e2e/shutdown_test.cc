// Graceful stop: SIGTERM (or SIGINT) while clients hammer the server. Every request the
// server took gets a complete, valid response; new requests after the listener closed are
// refused; the daemon exits 0 within its shutdown_timeout.

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "tests/e2e/e2e_helpers.h"

namespace tiercache::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// What one load thread saw.
struct LoadTally {
  uint64_t complete = 0;              // complete responses with the expected status and body
  uint64_t closed_unanswered = 0;     // the connection closed before any response byte
  uint64_t refused = 0;               // connect failed: the listener had closed
  std::vector<std::string> problems;  // truncated or wrong responses
};

// Stores a key and reads it back, over and over, until `stop`, or until a connection is
// refused because the server began stopping.
void HammerUntilRefused(uint16_t port, int thread_id, const std::atomic<bool>& stop,
                        std::atomic<uint64_t>& completed, LoadTally& tally) {
  HttpClient client(port, seconds(60));
  for (uint64_t i = 0; !stop.load(); ++i) {
    const std::string key = "load:" + std::to_string(thread_id) + ":" + std::to_string(i % 64);
    // Mostly small values; now and then a large one, whose response takes a while to
    // write, so that some responses are mid-write when the signal comes.
    const size_t padding = i % 16 == 15 ? 512 * 1024 : i % 200;
    const std::string value = "value " + std::to_string(i) + std::string(padding, '.');
    for (const bool put : {true, false}) {
      if (!client.connected() && client.TryConnect()) {
        ++tally.refused;
        return;
      }
      const HttpOutcome outcome = put ? client.TryRequest("PUT", "/v1/keys/" + key, value)
                                      : client.TryRequest("GET", "/v1/keys/" + key);
      if (!outcome.ok()) {
        if (outcome.got_response_bytes) {
          tally.problems.push_back("truncated response to " + std::string(put ? "PUT " : "GET ") +
                                   key + ": " + outcome.error.message());
        } else {
          ++tally.closed_unanswered;
        }
        break;  // after a failed PUT, the GET has nothing to check
      }
      const HttpResponse& r = outcome.response;
      const bool valid = put ? r.status == 204 : (r.status == 200 && r.body == value);
      if (!valid) {
        tally.problems.push_back((put ? "PUT " : "GET ") + key + " answered " +
                                 std::to_string(r.status) + " " + r.body.substr(0, 100));
        break;
      }
      ++tally.complete;
      completed.fetch_add(1);
    }
  }
}

void CheckGracefulStop(int signal_number) {
  DaemonProcess daemon(R"(
server:
  io_threads: 2
  shutdown_timeout: 20s
)");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);

  constexpr int kThreads = 6;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> completed{0};
  std::vector<LoadTally> tallies(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(HammerUntilRefused, daemon.http_port(), t, std::cref(stop),
                         std::ref(completed), std::ref(tallies[t]));
  }

  // Let the load run for a while, then signal in the middle of it.
  const auto load_deadline = steady_clock::now() + seconds(20);
  while (completed.load() < 3000 && steady_clock::now() < load_deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  const uint64_t before_signal = completed.load();
  const auto signalled = steady_clock::now();
  daemon.Signal(signal_number);
  const std::optional<int> status = daemon.WaitForExit(seconds(40));
  const auto stopped_after = steady_clock::now() - signalled;
  stop.store(true);
  for (auto& t : threads) t.join();

  REQUIRE(status.has_value());
  CHECK(*status == 0);
  // Within shutdown_timeout (20 s).
  CHECK(stopped_after < seconds(20));

  uint64_t complete = 0, unanswered = 0, refused = 0;
  for (const auto& tally : tallies) {
    complete += tally.complete;
    unanswered += tally.closed_unanswered;
    refused += tally.refused;
    for (const auto& p : tally.problems) UNSCOPED_INFO(p);
    CHECK(tally.problems.empty());
  }
  INFO("complete " << complete << ", closed before an answer " << unanswered << ", refused "
                   << refused << ", completed before the signal " << before_signal);
  CHECK(before_signal > 0);
  CHECK(complete >= before_signal);
  const std::string log = daemon.Stderr();
  CHECK(log.find("stopped") != std::string::npos);
}

TEST_CASE("SIGTERM during a load run: requests taken complete and the daemon exits 0",
          "[shutdown]") {
  CheckGracefulStop(SIGTERM);
}

TEST_CASE("SIGINT during a load run: requests taken complete and the daemon exits 0",
          "[shutdown]") {
  CheckGracefulStop(SIGINT);
}

TEST_CASE("SIGTERM stops an idle daemon with exit status 0", "[shutdown]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient idle(daemon.http_port());
  REQUIRE(idle.Get("/healthz").status == 200);  // an idle keep-alive connection stays open
  const auto signalled = steady_clock::now();
  CHECK(daemon.Stop(seconds(30)) == 0);
  // The idle connection doesn't hold the stop up to shutdown_timeout (10 s by default).
  CHECK(steady_clock::now() - signalled < seconds(8));
}

}  // namespace
}  // namespace tiercache::test
