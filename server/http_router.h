#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_message.h"

namespace tiercache::http_api {

// Maps method and path to a handler. Paths are exact ("/v1/status") or prefixes ending in
// '/' ("/v1/keys/"), in which case the handler gets the rest of the path, still encoded.
// Built once at start-up, then read-only: Handle is thread-safe.
class Router {
 public:
  // Answers a request exactly once, from any thread.
  using Respond = std::function<void(Response)>;
  // A handler that answers before it returns (no I/O).
  using Handler = std::function<Response(Request&, std::string_view rest)>;
  // A handler that may answer later, from another thread: it must copy what it needs of
  // the request before returning.
  using AsyncHandler = std::function<void(Request&, std::string_view rest, Respond)>;

  void Add(Method method, std::string path, Handler handler);
  void AddAsync(Method method, std::string path, AsyncHandler handler);
  void Handle(Request& request, Respond respond) const;

 private:
  struct Route {
    Method method;
    std::string path;
    bool prefix;
    AsyncHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace tiercache::http_api
