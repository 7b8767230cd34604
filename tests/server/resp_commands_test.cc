// The Redis commands over a real CacheService on L1 alone, without sockets: what each
// request answers, byte for byte, and what it leaves in the cache.

#include "server/resp/resp_commands.h"

#include <catch2/catch.hpp>
#include <atomic>
#include <initializer_list>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "core/cache_service.h"

namespace tiercache::resp {
namespace {

using namespace std::chrono_literals;

// Keeps every reply by request number.
class Replies final : public ReplySink {
 public:
  void Deliver(uint64_t seq, std::string reply) override {
    std::lock_guard lock(mu_);
    replies_[seq] = std::move(reply);
  }
  std::string Take(uint64_t seq) {
    std::lock_guard lock(mu_);
    auto it = replies_.find(seq);
    if (it == replies_.end()) return "(no reply)";
    std::string r = std::move(it->second);
    replies_.erase(it);
    return r;
  }

 private:
  std::mutex mu_;
  std::map<uint64_t, std::string> replies_;
};

class RespFixture {
 public:
  RespFixture()
      : l1_(L1Options{}, AdaptiveOptions{}, clock_),
        cache_(l1_, 1.0, {}, TierHealthOptions{}, clock_),
        service_(Limits{}, StrategyOptions{}, cache_),
        dispatcher_(service_, Options()) {}

  static CommandOptions Options() {
    CommandOptions o;
    o.frontend = Frontend::Named("resp");
    o.default_timeout = 300s;
    o.max_timeout = 24h;
    return o;
  }

  // Runs one request on `session`; its encoded reply (the commands answer at once on L1).
  std::string Run(Session& session, std::initializer_list<std::string_view> args) {
    const std::vector<std::string_view> request(args);
    const uint64_t seq = next_++;
    dispatcher_.Execute(session, request, ReplySlot(replies_, seq, session.protocol));
    return replies_->Take(seq);
  }
  std::string Run(std::initializer_list<std::string_view> args) { return Run(session_, args); }

  FakeClock clock_;
  L1Store l1_;
  TieredCache cache_;
  CacheService service_;
  Dispatcher dispatcher_;
  std::shared_ptr<Replies> replies_ = std::make_shared<Replies>();
  Session session_;
  uint64_t next_ = 0;
};

TEST_CASE_METHOD(RespFixture, "GetAndSetAnswerAsRedisDoes", "[resp]") {
  CHECK(Run({"GET", "k"}) == "$-1\r\n");
  CHECK(Run({"SET", "k", "hello"}) == "+OK\r\n");
  CHECK(Run({"get", "k"}) == "$5\r\nhello\r\n");
  CHECK(Run({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(Run({"SET", "k", "v", "EX"}) == "-ERR syntax error\r\n");
  CHECK(Run({"SET", "k", "v", "EX", "x"}) == "-ERR value is not an integer or out of range\r\n");
  CHECK(Run({"SET", "k", "v", "EX", "0"}) == "-ERR invalid expire time in 'set' command\r\n");
  CHECK(Run({"NOSUCH", "a"}) ==
        "-ERR unknown command 'NOSUCH', with args beginning with: 'a' \r\n");
  // Nothing changed by the refused requests.
  CHECK(Run({"GET", "k"}) == "$5\r\nhello\r\n");
}

TEST_CASE_METHOD(RespFixture, "SetOptionsNxXxGetAndKeepTtl", "[resp]") {
  CHECK(Run({"SET", "k", "1", "XX"}) == "$-1\r\n");
  CHECK(Run({"GET", "k"}) == "$-1\r\n");
  CHECK(Run({"SET", "k", "1", "NX", "EX", "100"}) == "+OK\r\n");
  CHECK(Run({"SET", "k", "2", "NX"}) == "$-1\r\n");
  CHECK(Run({"SET", "k", "3", "XX", "GET"}) == "$1\r\n1\r\n");
  CHECK(Run({"TTL", "k"}) == ":300\r\n");  // a SET without EX takes the default timeout
  CHECK(Run({"SET", "k", "4", "EX", "50"}) == "+OK\r\n");
  CHECK(Run({"SET", "k", "5", "KEEPTTL"}) == "+OK\r\n");
  CHECK(Run({"TTL", "k"}) == ":50\r\n");
  CHECK(Run({"GET", "k"}) == "$1\r\n5\r\n");
  clock_.Advance(51s);
  CHECK(Run({"GET", "k"}) == "$-1\r\n");
  CHECK(Run({"TTL", "k"}) == ":-2\r\n");
}

TEST_CASE_METHOD(RespFixture, "IncrementsAreAtomicInL1", "[resp]") {
  constexpr int kThreads = 4, kEach = 5000;
  // Catch's assertions are not thread-safe: the threads count bad replies, the test checks.
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, &bad] {
      Session session;
      auto replies = std::make_shared<Replies>();
      for (int i = 0; i < kEach; ++i) {
        dispatcher_.Execute(session, {"INCR", "counter"}, ReplySlot(replies, 0, session.protocol));
        if (replies->Take(0).front() != ':') bad.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(bad.load() == 0);
  CHECK(Run({"GET", "counter"}) == "$5\r\n20000\r\n");
}

TEST_CASE_METHOD(RespFixture, "IncrementRefusesNonIntegersAndOverflow", "[resp]") {
  CHECK(Run({"SET", "s", "abc"}) == "+OK\r\n");
  CHECK(Run({"INCR", "s"}) == "-ERR value is not an integer or out of range\r\n");
  CHECK(Run({"SET", "n", "9223372036854775807"}) == "+OK\r\n");
  CHECK(Run({"INCR", "n"}) == "-ERR increment or decrement would overflow\r\n");
  CHECK(Run({"INCRBY", "m", "x"}) == "-ERR value is not an integer or out of range\r\n");
  CHECK(Run({"DECRBY", "m", "5"}) == ":-5\r\n");
  CHECK(Run({"INCRBYFLOAT", "f", "10.5"}) == "$4\r\n10.5\r\n");
  CHECK(Run({"INCRBYFLOAT", "f", "0.1"}) == "$4\r\n10.6\r\n");
  CHECK(Run({"GET", "n"}) == "$19\r\n9223372036854775807\r\n");
}

TEST_CASE_METHOD(RespFixture, "ReadModifyWriteKeepsTagsAndTimeLeft", "[resp]") {
  CHECK(Run({"SET", "k", "ab", "EX", "100", "TAGS", "t1", "t2"}) == "+OK\r\n");
  clock_.Advance(40s);
  CHECK(Run({"APPEND", "k", "cd"}) == ":4\r\n");
  CHECK(Run({"SETRANGE", "k", "6", "x"}) == ":7\r\n");
  CHECK(Run({"GET", "k"}) == std::string("$7\r\nabcd\0\0x\r\n", 13));
  CHECK(Run({"TTL", "k"}) == ":60\r\n");
  CHECK(Run({"TC.TAGS", "k"}) == "*2\r\n$2\r\nt1\r\n$2\r\nt2\r\n");
  CHECK(Run({"RENAME", "k", "k2"}) == "+OK\r\n");
  CHECK(Run({"EXISTS", "k", "k2", "k2"}) == ":2\r\n");
  CHECK(Run({"TC.INVALIDATE", "TAGS", "t2"}) == ":1\r\n");
  CHECK(Run({"GET", "k2"}) == "$-1\r\n");
  CHECK(Run({"RENAME", "k2", "k3"}) == "-ERR no such key\r\n");
}

TEST_CASE_METHOD(RespFixture, "ExpiryCommandsFollowRedisRules", "[resp]") {
  CHECK(Run({"EXPIRE", "k", "10"}) == ":0\r\n");
  CHECK(Run({"SET", "k", "v", "EX", "100"}) == "+OK\r\n");
  CHECK(Run({"EXPIRE", "k", "200", "LT"}) == ":0\r\n");
  CHECK(Run({"EXPIRE", "k", "200", "GT"}) == ":1\r\n");
  CHECK(Run({"TTL", "k"}) == ":200\r\n");
  CHECK(Run({"PEXPIRE", "k", "1500"}) == ":1\r\n");
  CHECK(Run({"PTTL", "k"}) == ":1500\r\n");
  CHECK(Run({"PERSIST", "k"}) == ":1\r\n");
  CHECK(Run({"TTL", "k"}) == ":86400\r\n");  // the longest lifetime allowed
  // Past what a lifetime can hold: Redis's error, and the key stays.
  CHECK(Run({"EXPIRE", "k", "10000000000000"}) ==
        "-ERR invalid expire time in 'expire' command\r\n");
  CHECK(Run({"SET", "x", "v", "EX", "10000000000000"}) ==
        "-ERR invalid expire time in 'set' command\r\n");
  // Within it but over strategies.max_timeout (365 days by default): the service's error.
  CHECK(Run({"EXPIRE", "k", "40000000"}).rfind("-ERR ttl must be greater than 0 and at most 31536000", 0) == 0);
  CHECK(Run({"EXISTS", "k"}) == ":1\r\n");
  CHECK(Run({"EXPIRE", "k", "-1"}) == ":1\r\n");
  CHECK(Run({"EXISTS", "k"}) == ":0\r\n");
}

TEST_CASE_METHOD(RespFixture, "AQueuedErrorAbortsTheTransactionAndStoresNothing", "[resp]") {
  CHECK(Run({"MULTI"}) == "+OK\r\n");
  CHECK(Run({"SET", "a", "1"}) == "+QUEUED\r\n");
  CHECK(Run({"GET"}) == "-ERR wrong number of arguments for 'get' command\r\n");
  CHECK(Run({"EXEC"}) == "-EXECABORT Transaction discarded because of previous errors.\r\n");
  CHECK(Run({"GET", "a"}) == "$-1\r\n");
  CHECK(Run({"MULTI"}) == "+OK\r\n");
  CHECK(Run({"SET", "a", "1"}) == "+QUEUED\r\n");
  CHECK(Run({"INCR", "a"}) == "+QUEUED\r\n");
  CHECK(Run({"EXEC"}) == "*2\r\n+OK\r\n:2\r\n");
  CHECK(Run({"EXEC"}) == "-ERR EXEC without MULTI\r\n");
}

TEST_CASE_METHOD(RespFixture, "ExecAbortsWhenAWatchedKeyChanged", "[resp]") {
  Session other;
  CHECK(Run({"SET", "w", "1"}) == "+OK\r\n");
  CHECK(Run({"WATCH", "w"}) == "+OK\r\n");
  CHECK(Run(other, {"SET", "w", "2"}) == "+OK\r\n");
  CHECK(Run({"MULTI"}) == "+OK\r\n");
  CHECK(Run({"SET", "w", "3"}) == "+QUEUED\r\n");
  CHECK(Run({"EXEC"}) == "*-1\r\n");
  CHECK(Run({"GET", "w"}) == "$1\r\n2\r\n");
  // Unchanged since WATCH: runs.
  CHECK(Run({"WATCH", "w"}) == "+OK\r\n");
  CHECK(Run({"MULTI"}) == "+OK\r\n");
  CHECK(Run({"SET", "w", "3"}) == "+QUEUED\r\n");
  CHECK(Run({"EXEC"}) == "*1\r\n+OK\r\n");
}

TEST_CASE_METHOD(RespFixture, "OtherTypesCommandsMeetAStringWithWrongtype", "[resp]") {
  CHECK(Run({"SET", "s", "v"}) == "+OK\r\n");
  CHECK(Run({"LPUSH", "s", "x"}) ==
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
  CHECK(Run({"TYPE", "s"}) == "+string\r\n");
  CHECK(Run({"TYPE", "nothing"}) == "+none\r\n");
  CHECK(Run({"EVAL", "return 1", "0"}).rfind("-ERR unsupported command 'eval'", 0) == 0);
}

TEST_CASE_METHOD(RespFixture, "Resp3RepliesAfterHello3", "[resp]") {
  CHECK(Run({"HELLO", "4"}) == "-NOPROTO unsupported protocol version\r\n");
  const std::string hello = Run({"HELLO", "3"});
  CHECK(hello.rfind("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n", 0) == 0);
  CHECK(Run({"GET", "none"}) == "_\r\n");
  CHECK(Run({"SELECT", "1"}) == "-ERR DB index is out of range\r\n");
  CHECK(Run({"SELECT", "0"}) == "+OK\r\n");
}

TEST_CASE_METHOD(RespFixture, "KeysAndScanListEveryLiveKeyOnce", "[resp]") {
  for (int i = 0; i < 100; ++i) {
    const std::string key = (i % 2 == 0 ? "user:" : "order:") + std::to_string(i);
    REQUIRE(Run({"SET", key, "v"}) == "+OK\r\n");
  }
  const std::string keys = Run({"KEYS", "user:*"});
  CHECK(keys.rfind("*50\r\n", 0) == 0);
  // SCAN until the cursor comes back to 0: every key once.
  std::set<std::string> seen;
  std::string cursor = "0";
  do {
    const std::string reply = Run({"SCAN", cursor, "MATCH", "order:*", "COUNT", "10"});
    // *2\r\n$<n>\r\n<cursor>\r\n*<count>\r\n then bulks
    size_t pos = reply.find("\r\n", 4);
    const size_t cursor_start = reply.find("\r\n", pos) + 2;
    pos = reply.find("\r\n", cursor_start);
    cursor = reply.substr(cursor_start, pos - cursor_start);
    pos += 2;
    REQUIRE(reply[pos] == '*');
    size_t end = reply.find("\r\n", pos);
    const int count = std::stoi(reply.substr(pos + 1, end - pos - 1));
    pos = end + 2;
    for (int i = 0; i < count; ++i) {
      end = reply.find("\r\n", pos);
      const size_t len = std::stoul(reply.substr(pos + 1, end - pos - 1));
      const std::string key = reply.substr(end + 2, len);
      CHECK(seen.insert(key).second);
      CHECK(key.rfind("order:", 0) == 0);
      pos = end + 2 + len + 2;
    }
  } while (cursor != "0");
  CHECK(seen.size() == 50);
  CHECK(Run({"DBSIZE"}) == ":100\r\n");
  CHECK(Run({"FLUSHDB"}) == "+OK\r\n");
  CHECK(Run({"DBSIZE"}) == ":0\r\n");
}

}  // namespace
}  // namespace tiercache::resp
