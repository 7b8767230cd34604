#include "tests/support/headless_chromium.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace tiercache::test {

namespace {

using std::chrono::steady_clock;

std::runtime_error SystemError(const std::string& what, int error = errno) {
  return std::runtime_error(what + ": " + std::strerror(error));
}

// A socket pair rather than a pipe: our writes use MSG_NOSIGNAL, so a browser that died
// fails the test with a message instead of killing it with SIGPIPE. Chromium only reads
// and writes the descriptors, which sockets allow.
std::pair<int, int> SocketPair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw SystemError("socketpair");
  }
  return {fds[0], fds[1]};
}

// Moves `fd` above the descriptors the child gets (3 and 4), so the dup2s of the spawn
// cannot overwrite one another.
int AboveChildDescriptors(int fd) {
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (moved < 0) throw SystemError("fcntl F_DUPFD_CLOEXEC");
  ::close(fd);
  return moved;
}

std::string ArgumentsText(const nlohmann::json& args) {
  std::string text;
  for (const auto& a : args) {
    if (!text.empty()) text += " ";
    if (a.contains("value")) {
      text += a["value"].is_string() ? a["value"].get<std::string>() : a["value"].dump();
    } else {
      text += a.value("description", a.value("type", "?"));
    }
  }
  return text;
}

}  // namespace

std::optional<std::string> FindChromium() {
  if (const char* path = std::getenv("TIERCACHE_CHROMIUM"); path && *path) return path;
  const char* search = std::getenv("PATH");
  std::stringstream dirs(search && *search ? search : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::filesystem::path candidate = std::filesystem::path(dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return std::nullopt;
}

HeadlessChromium::HeadlessChromium(const std::string& program, Options options)
    : options_(options) {
  auto [ours_in, theirs_in] = SocketPair();    // Chromium reads commands on fd 3
  auto [ours_out, theirs_out] = SocketPair();  // and writes answers and events on fd 4
  to_browser_ = ours_in;
  from_browser_ = ours_out;
  theirs_in = AboveChildDescriptors(theirs_in);
  theirs_out = AboveChildDescriptors(theirs_out);

  const std::vector<std::string> argv = {
      program,
      "--headless",
      // As root in a container there is no user namespace for the sandbox.
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      // Nothing but the page under test may touch the network.
      "--disable-quic",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-extensions",
      "--user-data-dir=" + (dir_.path() / "profile").string(),
      "--window-size=" + std::to_string(options.width) + "," + std::to_string(options.height),
      "--remote-debugging-pipe",
      "about:blank",
  };
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  const std::string out = (dir_.path() / "stdout").string();
  const std::string err = (dir_.path() / "stderr").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, theirs_in, 3);
  posix_spawn_file_actions_adddup2(&actions, theirs_out, 4);
  const int rc = SpawnWithDefaultSignals(pid_, args.data(), actions, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(theirs_in);
  ::close(theirs_out);
  if (rc != 0) {
    pid_ = -1;
    ::close(to_browser_);
    ::close(from_browser_);
    throw SystemError("posix_spawn " + program, rc);
  }

  try {
    // A page of our own, rather than finding the one opened at start: no race with it.
    const std::string target =
        Call("Target.createTarget", {{"url", "about:blank"}}, /*browser=*/true)
            .at("targetId")
            .get<std::string>();
    session_ = Call("Target.attachToTarget", {{"targetId", target}, {"flatten", true}},
                    /*browser=*/true)
                   .at("sessionId")
                   .get<std::string>();
    Call("Runtime.enable");
    Call("Log.enable");
    Call("Page.enable");
    Call("Emulation.setDeviceMetricsOverride", {{"width", options.width},
                                                {"height", options.height},
                                                {"deviceScaleFactor", 1},
                                                {"mobile", false}});
  } catch (const std::exception& e) {
    // The destructor does not run for a constructor that throws: end the browser here.
    ::kill(pid_, SIGKILL);
    WaitForExit(pid_, std::chrono::seconds(10));
    ::close(to_browser_);
    ::close(from_browser_);
    throw std::runtime_error(std::string("headless Chromium did not start: ") + e.what() +
                             "\nits stderr:\n" + Stderr());
  }
}

HeadlessChromium::~HeadlessChromium() {
  if (pid_ > 0) {
    const nlohmann::json close = {{"id", next_id_++}, {"method", "Browser.close"}};
    const std::string text = close.dump() + '\0';
    ::send(to_browser_, text.data(), text.size(), MSG_NOSIGNAL);
    if (!WaitForExit(pid_, std::chrono::seconds(10))) {
      ::kill(pid_, SIGKILL);
      WaitForExit(pid_, std::chrono::seconds(10));
    }
  }
  if (to_browser_ >= 0) ::close(to_browser_);
  if (from_browser_ >= 0) ::close(from_browser_);
}

std::string HeadlessChromium::Stderr() const { return ReadFile(dir_.path() / "stderr"); }

std::vector<ConsoleEntry> HeadlessChromium::Errors() const {
  std::vector<ConsoleEntry> errors;
  for (const ConsoleEntry& e : console_) {
    if (e.level == "error") errors.push_back(e);
  }
  return errors;
}

nlohmann::json HeadlessChromium::Call(const std::string& method, nlohmann::json params,
                                      bool browser) {
  const int id = next_id_++;
  nlohmann::json command = {{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (!browser) command["sessionId"] = session_;
  const std::string text = command.dump() + '\0';
  for (size_t sent = 0; sent < text.size();) {
    const ssize_t n = ::send(to_browser_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SystemError("sending " + method + " to Chromium");
    }
    sent += static_cast<size_t>(n);
  }
  const auto deadline = steady_clock::now() + options_.command_timeout;
  while (true) {
    auto message = Read(deadline);
    if (!message) throw std::runtime_error("Chromium did not answer " + method + " in time");
    if (message->contains("id") && (*message)["id"] == id) {
      if (message->contains("error")) {
        throw std::runtime_error(method + " failed: " + (*message)["error"].dump());
      }
      return message->value("result", nlohmann::json::object());
    }
    HandleEvent(*message);
  }
}

std::optional<nlohmann::json> HeadlessChromium::Read(steady_clock::time_point deadline) {
  while (true) {
    if (const size_t end = buffer_.find('\0'); end != std::string::npos) {
      nlohmann::json message = nlohmann::json::parse(buffer_.substr(0, end));
      buffer_.erase(0, end + 1);
      return message;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{from_browser_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) throw SystemError("poll");
    if (ready <= 0) continue;
    char chunk[64 * 1024];
    const ssize_t n = ::recv(from_browser_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SystemError("reading from Chromium");
    if (n == 0) throw std::runtime_error("Chromium closed its DevTools pipe (did it crash?)");
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

void HeadlessChromium::Pump(steady_clock::time_point deadline) {
  while (auto message = Read(deadline)) HandleEvent(*message);
}

void HeadlessChromium::HandleEvent(const nlohmann::json& message) {
  const std::string method = message.value("method", "");
  const nlohmann::json params = message.value("params", nlohmann::json::object());
  if (method == "Page.loadEventFired") {
    loaded_ = true;
  } else if (method == "Runtime.consoleAPICalled") {
    const std::string type = params.value("type", "log");
    // console.error and a failed console.assert show as errors in DevTools.
    const std::string level = type == "error" || type == "assert" ? "error"
                              : type == "warning"                 ? "warning"
                                                                  : "info";
    console_.push_back({level, "console." + type, ArgumentsText(params.value("args", nlohmann::json::array()))});
  } else if (method == "Runtime.exceptionThrown") {
    const nlohmann::json details = params.value("exceptionDetails", nlohmann::json::object());
    std::string text = details.value("text", "exception");
    if (details.contains("exception")) {
      text += " " + details["exception"].value("description", details["exception"].dump());
    }
    text += " at " + details.value("url", "?") + ":" +
            std::to_string(details.value("lineNumber", -1) + 1);
    console_.push_back({"error", "exception", text});
  } else if (method == "Log.entryAdded") {
    const nlohmann::json entry = params.value("entry", nlohmann::json::object());
    std::string text = entry.value("text", "");
    if (entry.contains("url")) text += " (" + entry["url"].get<std::string>() + ")";
    console_.push_back({entry.value("level", "info"), entry.value("source", "browser"), text});
  }
}

void HeadlessChromium::Navigate(const std::string& url) {
  loaded_ = false;
  const nlohmann::json result = Call("Page.navigate", {{"url", url}});
  if (result.contains("errorText")) {
    throw std::runtime_error("navigating to " + url + ": " + result["errorText"].dump());
  }
  const auto deadline = steady_clock::now() + options_.command_timeout;
  while (!loaded_) {
    auto message = Read(deadline);
    if (!message) throw std::runtime_error(url + " did not finish loading in time");
    HandleEvent(*message);
  }
}

nlohmann::json HeadlessChromium::Evaluate(const std::string& expression) {
  const nlohmann::json result =
      Call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
  if (result.contains("exceptionDetails")) {
    throw std::runtime_error("evaluating " + expression + ": " +
                             result["exceptionDetails"].dump());
  }
  return result.at("result").value("value", nlohmann::json());
}

bool HeadlessChromium::WaitUntil(const std::string& expression,
                                 std::chrono::milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (true) {
    if (Evaluate(expression) == true) return true;
    if (steady_clock::now() >= deadline) return false;
    Pump(std::min(deadline, steady_clock::now() + std::chrono::milliseconds(100)));
  }
}

std::string HeadlessChromium::CaptureScreenshotPng() {
  const nlohmann::json result = Call("Page.captureScreenshot", {{"format", "png"}});
  return DecodeBase64(result.at("data").get<std::string>());
}

std::string DecodeBase64(const std::string& text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else throw std::runtime_error(std::string("bad base64 character '") + c + "'");
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

}  // namespace tiercache::test
