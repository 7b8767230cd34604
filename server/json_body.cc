#include "server/json_body.h"

#include <nlohmann/json.hpp>

namespace tiercache::http_api {

std::variant<nlohmann::json, Response> ParseJsonBody(const Request& req) {
  // curl -d sends form encoding by default; its body is still the JSON the user typed.
  const std::string_view type = req.content_type;
  if (!type.empty() && !type.starts_with("application/json") &&
      !type.starts_with("application/x-www-form-urlencoded")) {
    return ErrorResponse(415, "unsupported_media_type",
                         "expected Content-Type application/json, got " + req.content_type);
  }
  try {
    nlohmann::json doc = nlohmann::json::parse(req.body);
    if (!doc.is_object()) return ErrorResponse(400, "malformed_json", "expected a JSON object");
    return doc;
  } catch (const nlohmann::json::parse_error& e) {
    return ErrorResponse(400, "malformed_json", e.what());
  }
}

Response JsonResponse(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

}  // namespace tiercache::http_api
