#include "tests/support/postgres_server.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace tiercache::test {

namespace {

const std::string kBin = "/usr/lib/postgresql/15/bin/";
constexpr milliseconds kToolTimeout = std::chrono::seconds(60);

std::runtime_error Failure(const std::string& what, const CommandResult& r,
                           const std::string& log = "") {
  return std::runtime_error(what + " failed (exit " + std::to_string(r.exit_code) +
                            (r.timed_out ? ", timed out" : "") + "): " + r.out + r.err + log);
}

// The pids whose parent is `parent` (the postmaster's backends and helpers).
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return children;
}

}  // namespace

PostgresServer::PostgresServer() {
  if (::geteuid() == 0) {
    const passwd* pg = ::getpwnam("postgres");
    if (pg == nullptr) throw std::runtime_error("no user postgres to run PostgreSQL as");
    if (::chown(dir_.path().c_str(), pg->pw_uid, pg->pw_gid) != 0) {
      throw std::runtime_error("cannot chown " + dir_.path().string() + " to postgres");
    }
  }
  InitDb();
  StartOnFreePort([this](uint16_t port) {
    port_ = port;
    Start();
  });
}

PostgresServer::~PostgresServer() {
  try {
    Stop();
  } catch (const std::exception&) {
    // The server is stopped by pid below if pg_ctl could not do it.
  }
  if (const pid_t pid = PostmasterPid(); pid > 0) ::kill(pid, SIGKILL);
  StopWatchdog();
}

std::string PostgresServer::dsn() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
}

std::vector<std::string> PostgresServer::ServerTool(std::vector<std::string> argv) const {
  if (::geteuid() == 0) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  return argv;
}

CommandResult PostgresServer::RunServerTool(std::vector<std::string> argv) const {
  return RunCommand(ServerTool(std::move(argv)), kToolTimeout);
}

void PostgresServer::StartWatchdog() {
  std::string stop;
  for (const std::string& arg : ServerTool({kBin + "pg_ctl", "-D", (dir_.path() / "data").string(),
                                            "-m", "immediate", "-w", "stop"})) {
    stop += "'" + arg + "' ";
  }
  const std::string script = "while kill -0 " + std::to_string(::getpid()) +
                             " 2>/dev/null; do sleep 0.5; done; " + stop + "; rm -rf '" +
                             dir_.path().string() + "'";
  watchdog_ = Spawn({"/bin/sh", "-c", script}, "/dev/null", "/dev/null");
}

void PostgresServer::StopWatchdog() {
  if (watchdog_ <= 0) return;
  ::kill(watchdog_, SIGKILL);
  WaitForExit(watchdog_, std::chrono::seconds(5));
  watchdog_ = 0;
}

void PostgresServer::InitDb() {
  const CommandResult r =
      RunServerTool({kBin + "initdb", "-D", (dir_.path() / "data").string(), "-A", "trust", "-U",
                     "postgres", "--no-sync", "--no-instructions", "-E", "UTF8"});
  if (r.exit_code != 0) throw Failure("initdb", r);
}

void PostgresServer::Start() {
  if (running_) return;
  const std::string options = "-p " + std::to_string(port_) + " -k " + dir_.path().string() +
                              " -c listen_addresses=127.0.0.1 -c fsync=off";
  const CommandResult r =
      RunServerTool({kBin + "pg_ctl", "-D", (dir_.path() / "data").string(), "-l",
                     (dir_.path() / "log").string(), "-w", "-o", options, "start"});
  if (r.exit_code != 0) throw Failure("pg_ctl start", r, ReadFile(dir_.path() / "log"));
  running_ = true;
  StartWatchdog();
}

void PostgresServer::Stop() {
  if (!running_) return;
  Resume();
  const CommandResult r = RunServerTool(
      {kBin + "pg_ctl", "-D", (dir_.path() / "data").string(), "-m", "fast", "-w", "stop"});
  if (r.exit_code != 0) throw Failure("pg_ctl stop", r);
  running_ = false;
  StopWatchdog();
}

pid_t PostgresServer::PostmasterPid() const {
  std::ifstream pid_file(dir_.path() / "data" / "postmaster.pid");
  pid_t pid = 0;
  return pid_file >> pid ? pid : 0;
}

void PostgresServer::Pause() {
  if (!running_ || paused_) return;
  const pid_t postmaster = PostmasterPid();
  // The postmaster first, so that it forks no backend we would miss.
  ::kill(postmaster, SIGSTOP);
  for (pid_t child : ChildrenOf(postmaster)) ::kill(child, SIGSTOP);
  paused_ = true;
}

void PostgresServer::Resume() {
  if (!paused_) return;
  const pid_t postmaster = PostmasterPid();
  for (pid_t child : ChildrenOf(postmaster)) ::kill(child, SIGCONT);
  ::kill(postmaster, SIGCONT);
  paused_ = false;
}

std::string PostgresServer::Psql(const std::string& sql) const {
  const CommandResult r =
      RunCommand({kBin + "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                  "-p", std::to_string(port_), "-U", "postgres", "-d", "postgres", "-c", sql},
                 std::chrono::seconds(30));
  if (r.exit_code != 0) throw Failure("psql -c \"" + sql + "\"", r);
  std::string out = r.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace tiercache::test
