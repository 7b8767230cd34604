#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/metrics.h"
#include "core/status.h"
#include "server/http_router.h"

namespace tiercache {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  unsigned io_threads = 1;
  uint64_t max_connections = 10000;      // further connections get 503 and are closed
  Duration idle_timeout = std::chrono::seconds(60);  // per read or write on a connection
  uint64_t max_request_body_bytes = uint64_t{9} << 20;
  uint32_t max_header_bytes = 16 * 1024;  // request line and headers together
  // Hand every request field and the method's name to the router (the proxy relays them);
  // the API's routes need neither.
  bool keep_headers = false;
};

// The HTTP/1.1 front end (Boost.Beast, asynchronous, keep-alive). Sessions only read,
// time out, hand the request to the router and write the response; all cache logic
// is behind the router's handlers. Beast stays inside http_server.cc.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, const http_api::Router& router,
             ConnectionMetrics& connections);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. kUnavailable if the address can't be bound.
  Status Start();

  // Graceful stop: closes the listener and idle connections, lets requests in flight
  // finish (their connections close after the response), waits up to `timeout` for
  // every connection to end, then stops the I/O threads.
  void Shutdown(Duration timeout);

  // The bound port (useful when the configured port was 0).
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiercache
