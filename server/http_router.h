#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_message.h"

namespace tiercache::http_api {

// Maps method and path to a handler. A handler is a function from request to response
// with no I/O. Paths are exact ("/v1/status") or prefixes ending in '/'
// ("/v1/keys/"), in which case the handler gets the rest of the path, still encoded.
// Built once at start-up, then read-only: Handle is thread-safe.
class Router {
 public:
  using Handler = std::function<Response(Request&, std::string_view rest)>;

  void Add(Method method, std::string path, Handler handler);
  Response Handle(Request& request) const;

 private:
  struct Route {
    Method method;
    std::string path;
    bool prefix;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace tiercache::http_api
