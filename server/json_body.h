#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <variant>

#include "server/http_message.h"

namespace tiercache::http_api {

// A JSON request body as an object, or the error response saying why it is not one (415
// for another media type, 400 with where parsing failed).
std::variant<nlohmann::json, Response> ParseJsonBody(const Request& req);

Response JsonResponse(unsigned status, std::string body);

}  // namespace tiercache::http_api
