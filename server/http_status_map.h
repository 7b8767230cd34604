#pragma once

#include "core/status.h"
#include "server/http_message.h"

namespace tiercache::http_api {

// The one place where core's status codes become HTTP statuses and error codes.
unsigned HttpStatusOf(StatusCode code);
// kNotFound "unknown namespace ..." is 404 unknown_namespace.
Response ErrorResponse(const Status& status);
// 400 with code invalid_argument: malformed input caught before the service is called.
Response BadRequest(std::string_view message);

}  // namespace tiercache::http_api
