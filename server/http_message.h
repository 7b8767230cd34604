#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/http_headers.h"
#include "core/shared_bytes.h"

namespace tiercache::http_api {

enum class Method : uint8_t { kGet, kHead, kPut, kPost, kDelete, kOther };

std::string_view MethodName(Method m);

// A request as the router sees it: decoded from the wire by the session, with no I/O
// attached, so handlers can be tested without sockets.
struct Request {
  Method method = Method::kGet;
  std::string target;        // path and query, still percent-encoded
  std::string content_type;  // empty when absent
  std::string ns;            // the X-Cache-Namespace header; empty when absent
  std::string if_none_match;  // the If-None-Match header; empty when absent
  std::string body;
  // Only from a server told to keep them (HttpServerOptions::keep_headers: the proxy).
  std::string method_name;  // as sent: "PATCH" where `method` is kOther
  HeaderList headers;       // every field, in order
  std::string peer;         // the client's address, "127.0.0.1" or "::1"
};

// The header naming the namespace (core/namespaces.h) a request's keys are in.
inline constexpr std::string_view kNamespaceHeader = "X-Cache-Namespace";

// A response as the router produces it. The body is either owned text (`body`) or a
// shared cached value (`shared_body`), which is sent without copying.
struct Response {
  unsigned status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  SharedBytes shared_body;
  size_t shared_offset = 0;  // where the payload starts in shared_body
  // Server and Date are the server's own; a response relayed from elsewhere (the proxy's)
  // carries the origin's.
  bool server_headers = true;

  std::string_view payload() const {
    return shared_body ? std::string_view(*shared_body).substr(shared_offset)
                       : std::string_view(body);
  }
};

// A JSON error: {"error": {"code": code, "message": message}}.
Response ErrorResponse(unsigned status, std::string_view code, std::string_view message);

}  // namespace tiercache::http_api
