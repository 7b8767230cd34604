#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace tiercache::test {

// Debian's chromium: the program named by $TIERCACHE_CHROMIUM, else `chromium` or
// `chromium-browser` found in PATH; nullopt when there is none (tools/install-deps.sh
// installs it).
std::optional<std::string> FindChromium();

// What the page's DevTools console showed, as a person with DevTools open would see it.
struct ConsoleEntry {
  std::string level;   // "error", "warning", "info", ...
  std::string origin;  // "console.error", "exception", or a browser log source ("network")
  std::string text;
};

// A headless Chromium driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe), one page, a fixed viewport.
//
// The console is watched through the protocol rather than Chromium's stderr: stderr logs
// every console call at the same INFO level, and never shows the browser's own errors
// (a 404 for a favicon or a fetch), which DevTools reports as console errors.
//
// The constructor starts Chromium with a fresh profile in its own temporary directory and
// opens a blank page; it throws std::runtime_error (with Chromium's stderr) if that fails.
// Every call waits at most `command_timeout` for Chromium's answer and throws on expiry.
// The destructor closes the browser (SIGKILL if it does not exit). Not thread-safe.
class HeadlessChromium {
 public:
  struct Options {
    int width = 1280;
    int height = 900;
    std::chrono::milliseconds command_timeout = std::chrono::seconds(30);
  };

  explicit HeadlessChromium(const std::string& program) : HeadlessChromium(program, Options{}) {}
  HeadlessChromium(const std::string& program, Options options);
  ~HeadlessChromium();
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;

  // Loads `url` and waits for its load event.
  void Navigate(const std::string& url);
  // The value of a JavaScript expression in the page (JSON-serializable values only);
  // throws if it throws.
  nlohmann::json Evaluate(const std::string& expression);
  // Evaluates `expression` every 100 ms until it is true; false if it never was within
  // `timeout`. Console messages keep being collected meanwhile.
  bool WaitUntil(const std::string& expression, std::chrono::milliseconds timeout);
  // The viewport as a PNG.
  std::string CaptureScreenshotPng();

  // Every console entry so far, in order.
  const std::vector<ConsoleEntry>& console() const { return console_; }
  // Those at level "error": console.error and console.assert, uncaught exceptions and
  // rejections, failed loads, Content-Security-Policy violations.
  std::vector<ConsoleEntry> Errors() const;
  // What Chromium wrote to stderr (its own log; not the page's console).
  std::string Stderr() const;

 private:
  // Sends one command (to the page's session unless `browser`) and returns its result,
  // handling the events that arrive first.
  nlohmann::json Call(const std::string& method, nlohmann::json params = nlohmann::json::object(),
                      bool browser = false);
  // The next message, or nullopt when `deadline` passes first; throws if Chromium closed
  // the pipe.
  std::optional<nlohmann::json> Read(std::chrono::steady_clock::time_point deadline);
  // Reads and handles events until `deadline`.
  void Pump(std::chrono::steady_clock::time_point deadline);
  void HandleEvent(const nlohmann::json& message);

  const Options options_;
  TempDir dir_;
  pid_t pid_ = -1;
  int to_browser_ = -1;    // our end of Chromium's fd 3
  int from_browser_ = -1;  // our end of Chromium's fd 4
  std::string buffer_;     // bytes read past the last complete message
  int next_id_ = 1;
  std::string session_;
  bool loaded_ = false;  // Page.loadEventFired since the last Navigate
  std::vector<ConsoleEntry> console_;
};

// Decodes standard base64 (the protocol's binary encoding); throws on a bad character.
std::string DecodeBase64(const std::string& text);

}  // namespace tiercache::test
