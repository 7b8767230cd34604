// The RESP front end against real Redis clients, unchanged: redis-py and django-redis
// sessions (tests/e2e/resp/*.py), redis-benchmark and redis-cli; then the wire itself over
// a raw socket: malformed frames get Redis's own errors and close the connection, and a
// deep pipeline is answered in order. Every test runs a daemon on its embedded default.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/e2e/e2e_helpers.h"
#include "tests/e2e/redis_cli.h"
#include "tests/support/process.h"

namespace tiercache::test {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Debian's python3 with python3-redis and python3-django-redis (a python3 earlier in PATH
// may lack them).
constexpr const char* kPython = "/usr/bin/python3";

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string SessionScript(const std::string& name) {
  return std::string(TIERCACHE_SOURCE_DIR) + "/tests/e2e/resp/" + name;
}

// One TCP connection to 127.0.0.1:port that writes and reads raw bytes, for frames no
// client library would send.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      const int error = errno;
      ::close(fd_);
      throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " +
                               std::strerror(error));
    }
    // Each write goes out as it is (a frame split byte by byte stays split), and writes
    // never block: Exchange interleaves them with reads.
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes `request` and reads until `enough(received())` holds once it is all written,
  // the server closes the connection, or `timeout` passes. Writing and reading are
  // interleaved so that a deep pipeline cannot stall on full socket buffers both ways.
  void Exchange(std::string_view request, const std::function<bool(const std::string&)>& enough,
                milliseconds timeout = 5s) {
    const auto deadline = steady_clock::now() + timeout;
    size_t sent = 0;
    while (!closed_) {
      if (sent == request.size() && enough(received_)) return;
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
      if (left <= 0ms) return;
      pollfd p{fd_, static_cast<short>(POLLIN | (sent < request.size() ? POLLOUT : 0)), 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      if (n == 0) continue;  // the deadline check above ends the loop
      if (p.revents & (POLLIN | POLLHUP | POLLERR)) Read();
      if (sent < request.size() && (p.revents & POLLOUT)) {
        const ssize_t w = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (w > 0) {
          sent += static_cast<size_t>(w);
        } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          // The server closed its end; what it answered before is still to be read.
          sent = request.size();
        }
      }
    }
  }

  // Writes `request` and reads until the server closes the connection or `timeout` passes.
  void ExchangeUntilClosed(std::string_view request, milliseconds timeout = 5s) {
    Exchange(
        request, [](const std::string&) { return false; }, timeout);
  }

  // Writes `request` and reads until `lines` CRLF-terminated lines have come in all.
  void ExchangeLines(std::string_view request, size_t lines, milliseconds timeout = 5s) {
    Exchange(
        request, [&](const std::string& got) { return CountLines(got) >= lines; }, timeout);
  }

  // Half-closes: the server sees the end of the stream, and may still answer.
  void CloseWrite() { ::shutdown(fd_, SHUT_WR); }

  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

  static size_t CountLines(std::string_view text) {
    size_t count = 0;
    for (size_t at = text.find("\r\n"); at != std::string_view::npos;
         at = text.find("\r\n", at + 2))
      ++count;
    return count;
  }

 private:
  void Read() {
    char buf[64 * 1024];
    while (true) {
      const ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got > 0) {
        received_.append(buf, static_cast<size_t>(got));
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      closed_ = true;  // end of file, or reset
      return;
    }
  }

  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

// The daemon's resident set in MiB, from /proc/PID/status.
double ResidentMiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // in kB
  }
  FAIL("no VmRSS line in /proc/" << pid << "/status");
  return 0;
}

// redis-benchmark --csv: test name -> requests per second.
std::map<std::string, double> BenchmarkRps(const std::string& csv) {
  std::map<std::string, double> rps;
  std::istringstream lines(csv);
  std::string line;
  while (std::getline(lines, line)) {
    // "NAME","RPS",... ; names may hold spaces ("MSET (10 keys)") but no quotes.
    if (line.size() < 2 || line[0] != '"') continue;
    const size_t name_end = line.find("\",\"");
    if (name_end == std::string::npos) continue;
    const std::string name = line.substr(1, name_end - 1);
    if (name == "test") continue;  // the header
    const size_t rps_begin = name_end + 3;
    const size_t rps_end = line.find('"', rps_begin);
    rps[name] = std::stod(line.substr(rps_begin, rps_end - rps_begin));
  }
  return rps;
}

CommandResult RunSession(const std::string& script, const DaemonProcess& daemon) {
  return RunCommand({kPython, SessionScript(script), "--port", std::to_string(daemon.resp_port())},
                    180s);
}

// Runs a client session script against a fresh daemon: it must end with "OK", exit 0 and
// leave the daemon running.
void CheckSessionPasses(const std::string& script) {
  DaemonProcess daemon;
  const CommandResult r = RunSession(script, daemon);
  TIERCACHE_CAPTURE_COMMAND(r);
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  REQUIRE_FALSE(r.timed_out);
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.out, "\nOK\n"));
  CHECK(daemon.running());
}

TEST_CASE("redis-py session runs unchanged against tiercached", "[e2e][resp]") {
  CheckSessionPasses("redis_py_session.py");
}

TEST_CASE("django-redis cache backend session runs unchanged", "[e2e][resp]") {
  CheckSessionPasses("django_redis_session.py");
}

TEST_CASE("redis-benchmark ping set get incr mset completes without errors", "[e2e][resp]") {
  DaemonProcess daemon;
  const CommandResult r =
      RunCommand({kRedisBenchmark, "-h", "127.0.0.1", "-p", std::to_string(daemon.resp_port()),
                  "-t", "ping,set,get,incr,mset", "-n", "20000", "-c", "16", "-q", "--csv"},
                 240s);
  TIERCACHE_CAPTURE_COMMAND(r);
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  REQUIRE_FALSE(r.timed_out);
  // redis-benchmark stops with exit 1 at the first error reply.
  REQUIRE(r.exit_code == 0);
  // It reads CONFIG GET save and appendonly first and warns when the answer won't parse.
  CHECK_FALSE(Contains(r.err, "WARNING"));

  const std::map<std::string, double> rps = BenchmarkRps(r.out);
  for (const char* test : {"PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"}) {
    CAPTURE(test);
    REQUIRE(rps.contains(test));
    CHECK(rps.at(test) > 0);
  }

  // Without -r every command uses the literal key names, so the cache now holds them
  // for the other front ends too: SET's 3-byte value, and INCR's count of all 20,000.
  HttpClient http(daemon.http_port());
  const HttpResponse value = http.Get("/v1/keys/key:__rand_int__");
  REQUIRE(value.status == 200);
  CHECK(value.body.size() == 3);
  const HttpResponse counter = http.Get("/v1/keys/counter:__rand_int__");
  REQUIRE(counter.status == 200);
  CHECK(counter.body == "20000");
  // Counted as the resp front end's requests (SET, INCR and each MSET pair are writes).
  const std::string metrics = http.Get("/metrics").body;
  CHECK(Contains(metrics, "tiercache_requests_total{frontend=\"resp\",operation=\"get\",outcome=\"hit\"} 20000"));
  CHECK(Contains(metrics, "tiercache_connections_rejected_total{frontend=\"resp\"} 0"));
}

TEST_CASE("redis-cli speaks to tiercached", "[e2e][resp]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const uint16_t port = daemon.resp_port();

  CommandResult r = RedisCli(port, {"SET", "a", "1"});
  TIERCACHE_CAPTURE_COMMAND(r);
  REQUIRE(r.exit_code == 0);
  CHECK(CliOutput(r) == "OK");
  CHECK(CliOutput(RedisCli(port, {"GET", "a"})) == "1");
  CHECK(CliOutput(RedisCli(port, {"INCR", "a"})) == "2");
  CHECK(CliOutput(RedisCli(port, {"GET", "missing"})).empty());
  CHECK(CliOutput(RedisCli(port, {"PING"})) == "PONG");
  CHECK(Contains(CliOutput(RedisCli(port, {"LPUSH", "a", "x"})), "WRONGTYPE"));

  // What RESP stored, HTTP reads.
  HttpClient http(daemon.http_port());
  const HttpResponse get = http.Get("/v1/keys/a");
  REQUIRE(get.status == 200);
  CHECK(get.body == "2");

  // RESP3 on request: HELLO 3 answers a map, one "key value" a line from redis-cli.
  r = RedisCli(port, {"HELLO", "3"}, {"-3"});
  TIERCACHE_CAPTURE_COMMAND(r);
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.out, "proto"));
  CHECK(Contains("\n" + r.out, "\nproto 3\n"));
  // The connection-level commands redis-cli users type.
  CHECK(CliOutput(RedisCli(port, {"ECHO", "hi there"})) == "hi there");
  CHECK(CliOutput(RedisCli(port, {"DBSIZE"})) == "1");
  CHECK(CliOutput(RedisCli(port, {"SELECT", "0"})) == "OK");
}

TEST_CASE("malformed frames get Redis's errors and close the connection", "[e2e][resp]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  const uint16_t port = daemon.resp_port();

  struct Case {
    std::string request;
    std::string reply;  // the whole first line of the answer
  };
  const std::vector<Case> cases = {
      {"*abc\r\n", "-ERR Protocol error: invalid multibulk length"},
      {"*1\r\n+PING\r\n", "-ERR Protocol error: expected '$', got '+'"},
      {"*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length"},
      {"*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length"},
      // 600 MB is over Redis's 512 MB proto-max-bulk-len: refused on the header alone.
      {"*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length"},
      {"set \"a b\r\n", "-ERR Protocol error: unbalanced quotes in request"},
      // A frame broken in its last argument: nothing of it runs.
      {"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.request);
    RawConnection conn(port);
    conn.ExchangeUntilClosed(c.request);
    CHECK(conn.received() == c.reply + "\r\n");
    CHECK(conn.closed());
  }

  // The 600 MB announcement reserved nothing.
  const double rss = ResidentMiB(daemon.pid());
  INFO("tiercached resident set after the 600 MB bulk header: " << rss << " MiB");
  CHECK(rss < 200);

  // The broken SET stored nothing, and the daemon still answers on a new connection.
  RawConnection after(port);
  after.ExchangeLines("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", 1);
  CHECK(after.received() == "$-1\r\n");
  after.ExchangeLines("PING\r\n", 2);
  CHECK(after.received() == "$-1\r\n+PONG\r\n");
  CHECK_FALSE(after.closed());
  CHECK(daemon.running());
}

TEST_CASE("a frame that arrives a byte at a time is answered once it is complete", "[e2e][resp]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  RawConnection conn(daemon.resp_port());
  const std::string set = "*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$5\r\nvalue\r\n";
  for (size_t i = 0; i + 1 < set.size(); ++i) {
    conn.Exchange(set.substr(i, 1), [](const std::string&) { return true; });
    std::this_thread::sleep_for(1ms);
  }
  // Nothing is answered before the last byte.
  conn.Exchange(
      "", [](const std::string&) { return false; }, 100ms);
  CHECK(conn.received().empty());
  conn.ExchangeLines(set.substr(set.size() - 1), 1);
  CHECK(conn.received() == "+OK\r\n");
  conn.ExchangeLines("GET split\r\n", 3);
  CHECK(conn.received() == "+OK\r\n$5\r\nvalue\r\n");
}

TEST_CASE("10,000 pipelined inline PINGs in one write get 10,000 PONGs in order", "[e2e][resp]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  constexpr size_t kCount = 10'000;
  std::string request;
  std::string expected;
  for (size_t i = 0; i < kCount; ++i) {
    request += "PING\r\n";
    expected += "+PONG\r\n";
  }
  RawConnection conn(daemon.resp_port());
  conn.Exchange(
      request, [&](const std::string& got) { return got.size() >= expected.size(); }, 30s);
  CHECK(conn.received().size() == expected.size());
  CHECK(conn.received() == expected);
  CHECK_FALSE(conn.closed());

  // The same depth of multibulk SETs and GETs, each answered in order.
  std::string commands;
  std::string answers;
  for (size_t i = 0; i < kCount; ++i) {
    const std::string key = "p" + std::to_string(i);
    const std::string value = std::to_string(i * 7);
    commands += "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$" +
                std::to_string(value.size()) + "\r\n" + value + "\r\n";
    commands += "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
    answers += "+OK\r\n$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
  }
  RawConnection second(daemon.resp_port());
  second.Exchange(
      commands, [&](const std::string& got) { return got.size() >= answers.size(); }, 30s);
  CHECK(second.received().size() == answers.size());
  CHECK(second.received() == answers);
}

TEST_CASE("QUIT answers +OK and closes the connection", "[e2e][resp]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  RawConnection conn(daemon.resp_port());
  conn.ExchangeUntilClosed("PING\r\nQUIT\r\n");
  CHECK(conn.received() == "+PONG\r\n+OK\r\n");
  CHECK(conn.closed());
}

TEST_CASE("connections past server.max_connections get Redis's error and are closed",
          "[e2e][resp][limits]") {
  DaemonProcess daemon("server:\n  max_connections: 2\n");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  RawConnection first(daemon.resp_port());
  RawConnection second(daemon.resp_port());
  first.ExchangeLines("PING\r\n", 1);
  second.ExchangeLines("PING\r\n", 1);
  REQUIRE(first.received() == "+PONG\r\n");
  REQUIRE(second.received() == "+PONG\r\n");
  RawConnection third(daemon.resp_port());
  third.ExchangeUntilClosed("PING\r\n");
  CHECK(third.received() == "-ERR max number of clients reached\r\n");
  CHECK(third.closed());
  // The two admitted connections are still served.
  first.ExchangeLines("PING\r\n", 2);
  CHECK(first.received() == "+PONG\r\n+PONG\r\n");
}

TEST_CASE("a connection idle for server.idle_timeout is closed, a busy one is not",
          "[e2e][resp][limits]") {
  DaemonProcess daemon("server:\n  idle_timeout: 1s\n");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  RawConnection idle(daemon.resp_port());
  RawConnection busy(daemon.resp_port());
  idle.ExchangeLines("PING\r\n", 1);
  // Busy: a request every 200 ms for 2 s, so it is never idle for a second.
  for (int i = 0; i < 10; ++i) {
    busy.ExchangeLines("PING\r\n", static_cast<size_t>(i + 1));
    std::this_thread::sleep_for(200ms);
  }
  CHECK_FALSE(busy.closed());
  CHECK(RawConnection::CountLines(busy.received()) == 10);
  // The idle one was closed meanwhile: its next read sees the end of the stream.
  idle.ExchangeUntilClosed("", 5s);
  CHECK(idle.closed());
  CHECK(idle.received() == "+PONG\r\n");
}

TEST_CASE("an argument over limits.max_request_body_bytes is refused from its header",
          "[e2e][resp][limits]") {
  DaemonProcess daemon("limits:\n  max_value_bytes: 1000\n  max_request_body_bytes: 2000\n");
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  {
    // Within the request limit but over the value limit: the command's error, and the
    // connection stays.
    RawConnection conn(daemon.resp_port());
    conn.ExchangeLines("SET k " + std::string(1500, 'x') + "\r\nPING\r\n", 2);
    CHECK(conn.received().rfind("-ERR value of 1500 bytes exceeds the limit of 1000 bytes", 0) == 0);
    CHECK(conn.received().find("+PONG\r\n") != std::string::npos);
  }
  RawConnection conn(daemon.resp_port());
  conn.ExchangeUntilClosed("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2001\r\n");
  CHECK(conn.received() == "-ERR Protocol error: invalid bulk length\r\n");
  CHECK(conn.closed());
  RawConnection check(daemon.resp_port());
  check.ExchangeLines("GET k\r\n", 1);
  CHECK(check.received() == "$-1\r\n");
}

TEST_CASE("requests sent before the client's end of stream are all answered",
          "[e2e][resp]") {
  DaemonProcess daemon;
  TIERCACHE_CAPTURE_DAEMON_LOG(daemon);
  RawConnection conn(daemon.resp_port());
  std::string requests, expected;
  for (int i = 0; i < 2000; ++i) {
    requests += "SET k" + std::to_string(i) + " v\r\nINCR n\r\n";
    expected += "+OK\r\n:" + std::to_string(i + 1) + "\r\n";
  }
  conn.Exchange(requests, [](const std::string&) { return true; });
  conn.CloseWrite();
  conn.ExchangeUntilClosed("", 10s);
  CHECK(conn.closed());
  CHECK(conn.received() == expected);
}

}  // namespace
}  // namespace tiercache::test
