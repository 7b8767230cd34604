#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace tiercache::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  unsigned status = 0;
  Headers headers;
  std::string body;
  bool keep_alive = true;  // false if the server said it closes the connection

  // The first header named `name` (case-insensitive), or "" if there is none.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

// What one exchange came to: a complete response, or an I/O error. On an error,
// `got_response_bytes` tells a connection closed before the server answered (false)
// from a response cut short (true).
struct HttpOutcome {
  std::error_code error;
  bool got_response_bytes = false;
  HttpResponse response;
  bool ok() const { return !error; }
};

// An I/O failure or timeout in HttpClient's throwing calls.
class HttpError : public std::runtime_error {
 public:
  HttpError(const std::string& what, std::error_code code)
      : std::runtime_error(what), code_(code) {}
  std::error_code code() const { return code_; }

 private:
  std::error_code code_;
};

// A blocking HTTP/1.1 client over one keep-alive connection to 127.0.0.1:port (Beast).
// It connects on first use and again after the server closed the connection. Every
// connect, write and read is bounded by `timeout`; on expiry the connection is closed and
// the call fails with a timeout error. Not thread-safe: one client per thread.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request and its response; throws HttpError on an I/O failure or timeout.
  HttpResponse Request(std::string_view method, std::string_view target, std::string_view body = {},
                       const Headers& headers = {});
  HttpResponse Get(std::string_view target) { return Request("GET", target); }
  HttpResponse Head(std::string_view target) { return Request("HEAD", target); }
  HttpResponse Delete(std::string_view target) { return Request("DELETE", target); }
  HttpResponse Put(std::string_view target, std::string_view body) {
    return Request("PUT", target, body);
  }
  // POST with Content-Type application/json.
  HttpResponse PostJson(std::string_view target, std::string_view json) {
    return Request("POST", target, json, {{"Content-Type", "application/json"}});
  }

  // The same exchange without throwing: for tests that expect the connection to fail.
  HttpOutcome TryRequest(std::string_view method, std::string_view target,
                         std::string_view body = {}, const Headers& headers = {});

  // Writes `bytes` as they are (a hand-made request) and reads one response.
  HttpOutcome TryRaw(std::string_view bytes);

  // Opens the connection now (closing any open one); throws HttpError if it can't.
  void Connect();
  std::error_code TryConnect();
  void Close();
  bool connected() const;
  // Connections opened so far, to show that many requests shared one.
  uint64_t connections_opened() const;

  // Reads until the server closes the connection or `timeout` passes, without sending
  // anything. Returns the error that ended the read (end of file for an orderly close, a
  // timeout error if the connection stayed open); `received` gets any bytes that came.
  std::error_code WaitForClose(std::chrono::milliseconds timeout, std::string* received = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True if `error` is the client's timeout expiring.
bool IsTimeout(std::error_code error);

// Percent-encodes every byte outside the unreserved set (A-Z a-z 0-9 - . _ ~).
std::string PercentEncode(std::string_view text);

}  // namespace tiercache::test
