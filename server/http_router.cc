#include "server/http_router.h"

#include "server/url.h"

namespace tiercache::http_api {

void Router::Add(Method method, std::string path, Handler handler) {
  AddAsync(method, std::move(path),
           [handler = std::move(handler)](Request& req, std::string_view rest, Respond respond) {
             respond(handler(req, rest));
           });
}

void Router::AddAsync(Method method, std::string path, AsyncHandler handler) {
  const bool prefix = !path.empty() && path.back() == '/';
  routes_.push_back(Route{method, std::move(path), prefix, std::move(handler)});
}

void Router::Handle(Request& request, Respond respond) const {
  const std::string_view path = SplitTarget(request.target).first;
  std::string allowed;
  for (const Route& route : routes_) {
    std::string_view rest;
    if (route.prefix) {
      if (!path.starts_with(route.path)) continue;
      rest = path.substr(route.path.size());
    } else if (path != route.path) {
      continue;
    }
    // HEAD is answered by the GET handler; the session sends no body.
    const Method wanted = request.method == Method::kHead ? Method::kGet : request.method;
    if (route.method == wanted) return route.handler(request, rest, std::move(respond));
    if (!allowed.empty()) allowed += ", ";
    allowed += MethodName(route.method);
  }
  if (!allowed.empty()) {
    Response r = ErrorResponse(405, "method_not_allowed",
                               std::string(MethodName(request.method)) + " is not allowed on " +
                                   std::string(path) + "; allowed: " + allowed);
    r.headers.emplace_back("Allow", allowed);
    return respond(std::move(r));
  }
  respond(ErrorResponse(404, "not_found", "no route for " + std::string(path)));
}

}  // namespace tiercache::http_api
