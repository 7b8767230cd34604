#include "server/http_message.h"

#include <nlohmann/json.hpp>

namespace tiercache::http_api {

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPut: return "PUT";
    case Method::kPost: return "POST";
    case Method::kDelete: return "DELETE";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Response ErrorResponse(unsigned status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  nlohmann::json doc = {{"error", {{"code", code}, {"message", message}}}};
  // Replace invalid UTF-8 (a binary key echoed in a message) instead of throwing.
  r.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace tiercache::http_api
