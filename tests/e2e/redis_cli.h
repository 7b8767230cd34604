#pragma once

// Running Debian's Redis clients against a tiercached RESP port, for the e2e tests.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace tiercache::test {

inline constexpr const char* kRedisCli = "/usr/bin/redis-cli";
inline constexpr const char* kRedisBenchmark = "/usr/bin/redis-benchmark";

// What a command printed and how it ended, for a failed check's message.
#define TIERCACHE_CAPTURE_COMMAND(r)                                                      \
  INFO("exit " << (r).exit_code << ((r).timed_out ? " (timed out)" : "") << "\nstdout:\n" \
               << (r).out << "stderr:\n"                                                  \
               << (r).err)

// redis-cli -h 127.0.0.1 -p PORT [OPTIONS...] ARGS...
inline CommandResult RedisCli(uint16_t port, std::vector<std::string> args,
                              std::vector<std::string> options = {}) {
  std::vector<std::string> argv = {kRedisCli, "-h", "127.0.0.1", "-p", std::to_string(port)};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, std::chrono::seconds(30));
}

// redis-cli's answer without the final newline (an array: one element a line; nil: "").
inline std::string CliOutput(const CommandResult& r) {
  std::string out = r.out;
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace tiercache::test
