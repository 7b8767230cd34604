// The live dashboard in a real browser: Debian's headless Chromium loads GET /dashboard from
// a spawned tiercached after a short load run, with no console errors, charts drawn with
// data, a live refresh, and a screenshot of it. Also GET /v1/stats/history over HTTP.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/e2e/e2e_helpers.h"
#include "tests/support/headless_chromium.h"
#include "tests/support/poll.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

// Chromium, or a failed test saying how to get it: a browser test that silently passes
// without a browser would prove nothing.
std::string RequireChromium() {
  const auto path = FindChromium();
  if (!path) {
    FAIL("headless Chromium is needed for the dashboard tests and none was found: install "
         "Debian's `chromium` package (tools/install-deps.sh does) or set TIERCACHE_CHROMIUM "
         "to its path");
  }
  return *path;
}

nlohmann::json History(HttpClient& client) {
  const HttpResponse r = client.Get("/v1/stats/history");
  REQUIRE(r.status == 200);
  return nlohmann::json::parse(r.body);
}

// Samples of the history in which the load was running: requests were served and some
// GETs both hit and missed.
size_t LoadedSamples(const nlohmann::json& history) {
  size_t n = 0;
  for (const auto& s : history.at("samples")) {
    if (s.at("requests_per_second").get<double>() > 0 && s.at("hit_rate").is_number() &&
        s.at("hit_rate").get<double>() > 0 && s.at("hit_rate").get<double>() < 1) {
      ++n;
    }
  }
  return n;
}

// PUTs 500 keys, then GETs them (hits) mixed with absent keys (misses), for `duration`.
void RunLoad(HttpClient& client, std::chrono::milliseconds duration) {
  constexpr int kKeys = 500;
  for (int i = 0; i < kKeys; ++i) {
    REQUIRE(client.Put("/v1/keys/load:" + std::to_string(i), std::string(200, 'v')).status == 204);
  }
  const auto end = steady_clock::now() + duration;
  for (int i = 0; steady_clock::now() < end; ++i) {
    const HttpResponse hit = client.Get("/v1/keys/load:" + std::to_string(i % kKeys));
    REQUIRE(hit.status == 200);
    if (i % 4 == 0) REQUIRE(client.Get("/v1/keys/absent:" + std::to_string(i)).status == 404);
    if (i % 10 == 0) {
      REQUIRE(client.Put("/v1/keys/load:" + std::to_string(i % kKeys), "new").status == 204);
    }
  }
}

// Chromium's own log without the D-Bus complaints of a container that has no bus.
std::string BrowserLog(const HeadlessChromium& browser) {
  std::istringstream in(browser.Stderr());
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.find("dbus") == std::string::npos && out.size() < 4000) out += line + "\n";
  }
  return out;
}

std::string ConsoleReport(const HeadlessChromium& browser) {
  std::string report;
  for (const ConsoleEntry& e : browser.console()) {
    report += "  [" + e.level + "] " + e.origin + ": " + e.text + "\n";
  }
  return report.empty() ? "  (empty)\n" : report;
}

uint32_t BigEndian32(const std::string& bytes, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

// Every chart canvas has at least `points` values plotted and pixels in its series colours.
std::string ChartsDrawnExpression(int points) {
  return "document.body.dataset.state === 'live' && "
         "document.querySelectorAll('canvas.chart').length === 4 && "
         "[...document.querySelectorAll('canvas.chart')].every(c => Number(c.dataset.points) >= " +
         std::to_string(points) + " && Number(c.dataset.ink) > 0)";
}

TEST_CASE("GET /v1/stats/history has a sample a second with rates over that second",
          "[dashboard]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());

  RunLoad(client, 2500ms);
  REQUIRE(PollUntil([&] { return LoadedSamples(History(client)) >= 2; }, 5s));

  const nlohmann::json history = History(client);
  INFO("history: " << history.dump().substr(0, 2000));
  CHECK(history.at("capacity") == 900);
  CHECK(history.at("tiers").at(0).at("name") == "L1");
  CHECK(history.at("tiers").at(0).at("state") == "up");
  CHECK(history.at("tiers").at(0).at("entries").get<uint64_t>() >= 500);
  const auto& samples = history.at("samples");
  REQUIRE(samples.size() >= 2);
  for (size_t i = 1; i < samples.size(); ++i) {
    CHECK(samples[i].at("unix_ms").get<int64_t>() > samples[i - 1].at("unix_ms").get<int64_t>());
  }
  // The last sample during the load (the newest may be after it).
  nlohmann::json loaded;
  for (const auto& s : samples) {
    if (s.at("hit_rate").is_number()) loaded = s;
  }
  REQUIRE(loaded.is_object());
  CHECK(loaded.at("hit_rate").get<double>() > 0.5);
  CHECK(loaded.at("hit_rate").get<double>() < 1.0);
  CHECK(loaded.at("l1_hit_rate").get<double>() > 0.5);
  CHECK(loaded.at("requests_per_second").get<double>() > 10);
  CHECK(loaded.at("get_p99_ms").get<double>() > 0);
  CHECK(loaded.at("get_p99_ms").get<double>() <= 1000);
  CHECK(loaded.at("l1_entries").get<uint64_t>() >= 500);
  CHECK(loaded.at("l1_bytes").get<uint64_t>() > 500 * 200);
  CHECK(loaded.at("resident_bytes").get<uint64_t>() > 1024 * 1024);
}

TEST_CASE("GET /dashboard is one self-contained HTML page", "[dashboard]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  const HttpResponse r = client.Get("/dashboard");
  REQUIRE(r.status == 200);
  CHECK(r.Header("Content-Type") == "text/html; charset=utf-8");
  CHECK(r.Header("Content-Security-Policy").find("default-src 'none'") != std::string::npos);
  CHECK(r.body.starts_with("<!doctype html>"));
  // No outside network: nothing in the page names another origin.
  CHECK(r.body.find("http://") == std::string::npos);
  CHECK(r.body.find("https://") == std::string::npos);
  CHECK(r.body.find("<link rel=\"icon\" href=\"data:,\">") != std::string::npos);
}

// Also: a later poll brings new samples (live), and a 1280x900 screenshot is taken.
TEST_CASE(
    "the dashboard renders in headless Chromium with no console errors and data in all four "
    "charts after a load run",
    "[dashboard]") {
  const std::string chromium = RequireChromium();
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  RunLoad(client, 3000ms);
  REQUIRE(PollUntil([&] { return LoadedSamples(History(client)) >= 2; }, 5s));

  HeadlessChromium browser(chromium);
  browser.Navigate("http://127.0.0.1:" + std::to_string(daemon.http_port()) + "/dashboard");
  const bool drawn = browser.WaitUntil(ChartsDrawnExpression(2), 20s);
  INFO("chromium stderr (its own log, not the console):\n" << BrowserLog(browser));
  INFO("page state: " << browser.Evaluate(
                             "JSON.stringify({state: document.body.dataset.state, status: "
                             "document.getElementById('status').textContent, charts: "
                             "[...document.querySelectorAll('canvas.chart')].map(c => "
                             "[c.id, c.dataset.points, c.dataset.ink])})")
                             .dump());
  INFO("console:\n" << ConsoleReport(browser));
  REQUIRE(drawn);

  // Live: a later poll brings the samples taken since.
  const int first = std::stoi(browser.Evaluate("document.body.dataset.samples").get<std::string>());
  CHECK(browser.WaitUntil("Number(document.body.dataset.samples) > " + std::to_string(first), 10s));
  CHECK(browser.Evaluate("document.querySelector('#tier-list li[data-tier=\"L1\"]')"
                         "?.dataset.state") == "up");

  const std::string png = browser.CaptureScreenshotPng();
  const std::filesystem::path shot = daemon.dir() / "dashboard.png";
  std::ofstream(shot, std::ios::binary) << png;
  if (const char* keep = std::getenv("TIERCACHE_DASHBOARD_SCREENSHOT"); keep && *keep) {
    std::ofstream(keep, std::ios::binary) << png;
  }
  INFO("screenshot: " << shot << " (" << png.size() << " bytes)");
  REQUIRE(png.size() > 24);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  CHECK(BigEndian32(png, 16) == 1280);  // IHDR width
  CHECK(BigEndian32(png, 20) == 900);   // IHDR height
  // A page of text alone compresses to a few KB; four charts of lines make it much bigger.
  CHECK(png.size() > 30'000);

  CHECK(browser.Errors().empty());
}

TEST_CASE("the dashboard shows a lower tier that is down", "[dashboard]") {
  const std::string chromium = RequireChromium();
  // Nothing listens there: every connection is refused and the tier is marked down.
  const uint16_t closed = PickFreePorts(1)[0];
  DaemonProcess daemon("tier_health: {interval: 250ms}\ntiers:\n  - type: redis\n"
                       "    url: redis://127.0.0.1:" + std::to_string(closed) +
                       "\n    connect_timeout: 200ms\n");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  HttpClient client(daemon.http_port());
  for (int i = 0; i < 5; ++i) client.Get("/v1/keys/miss-" + std::to_string(i));
  const auto l2_state = [&](const nlohmann::json& history) {
    return history.at("tiers").size() == 2 ? history.at("tiers")[1].value("state", "") : "";
  };
  REQUIRE(PollUntil(
      [&] {
        const nlohmann::json h = History(client);
        return l2_state(h) == "down" && !h.at("samples").empty() &&
               h.at("samples").back().at("tiers").value("L2", "") == "down";
      },
      10s));

  HeadlessChromium browser(chromium);
  browser.Navigate("http://127.0.0.1:" + std::to_string(daemon.http_port()) + "/dashboard");
  const std::string l2 = "document.querySelector('#tier-list li[data-tier=\"L2\"]')";
  CHECK(browser.WaitUntil(l2 + "?.dataset.state === 'down'", 20s));
  CHECK(browser.Evaluate(l2 + ".textContent.includes('last error')") == true);
  INFO("console:\n" << ConsoleReport(browser));
  CHECK(browser.Errors().empty());
}

}  // namespace
}  // namespace tiercache::test
