// The caching reverse proxy's listener: every method and path goes to the response cache
// (core/response_cache.h), which answers with the origin's status, fields and body.

#include "core/response_cache.h"
#include "server/routes.h"

namespace tiercache::http_api {

void RegisterProxyRoutes(Router& router, ResponseCache& cache) {
  const auto relay = [&cache](Request& request, std::string_view, Router::Respond respond) {
    ProxyRequest forwarded;
    forwarded.method = std::move(request.method_name);
    forwarded.target = std::move(request.target);
    forwarded.headers = std::move(request.headers);
    forwarded.body = std::move(request.body);
    forwarded.peer = std::move(request.peer);
    cache.Handle(std::move(forwarded), [respond = std::move(respond)](ProxyResponse answer) {
      Response out;
      out.status = answer.status;
      // The origin's Date (and Server) go through; the proxy's own answers get the
      // server's.
      out.server_headers = !FindHeader(answer.headers, "date").has_value();
      out.headers = std::move(answer.headers);
      out.shared_body = std::move(answer.body);
      out.shared_offset = answer.body_offset;
      respond(std::move(out));
    });
  };
  for (Method m : {Method::kGet, Method::kHead, Method::kPut, Method::kPost, Method::kDelete,
                   Method::kOther}) {
    router.AddAsync(m, "/", relay);
  }
}

}  // namespace tiercache::http_api
