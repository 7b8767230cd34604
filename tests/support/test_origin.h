#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tiercache::test {

// What the origin answers for one request target.
struct OriginReply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "text/plain";
  std::chrono::milliseconds delay{0};  // waited before the answer is sent
  bool chunked = false;                // chunked transfer coding instead of Content-Length
  bool drop_after = false;  // closes the connection after answering, though it said keep-alive
};

// A reply with what tests of a caching proxy also need.
struct OriginAnswer : OriginReply {
  std::vector<std::pair<std::string, std::string>> headers;  // more response fields
  // Request fields whose values are appended to the body as "name=value;" (what a response
  // that varies on them looks like).
  std::vector<std::string> echo;
  // Sent as it is instead of a response (a malformed one), then the connection is closed.
  std::string raw;
};

// A tiny HTTP/1.1 origin for tests of HTTP clients (Beast, asynchronous, one thread), on
// 127.0.0.1 with a kernel-chosen port, serving from construction to destruction. Requests
// are matched by their whole target ("/a?x=1") whatever the method; a target nothing was
// configured for gets 404. Keep-alive unless the client asks to close. Thread-safe: tests
// configure and read counters while it serves.
class TestOrigin {
 public:
  TestOrigin();
  ~TestOrigin();
  TestOrigin(const TestOrigin&) = delete;
  TestOrigin& operator=(const TestOrigin&) = delete;

  uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT"

  // Answers requests for `target` with `reply` from now on.
  void Serve(const std::string& target, OriginReply reply);
  void ServeAnswer(const std::string& target, OriginAnswer answer);
  // The next `n` requests for `target` get `status` (a short body "failing"), before the
  // configured reply takes over.
  void FailFirst(const std::string& target, unsigned n, unsigned status = 503);

  // Requests received for `target` so far (counted when the request has been read).
  uint64_t requests(const std::string& target) const;
  // Connections accepted so far.
  uint64_t connections() const;
  // The method and a header (case-insensitive name; "" if absent) of the last request
  // for `target`.
  std::string last_method(const std::string& target) const;
  std::string last_header(const std::string& target, std::string_view name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiercache::test
