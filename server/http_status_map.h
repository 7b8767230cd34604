#pragma once

#include "core/status.h"
#include "server/http_message.h"

namespace tiercache::http_api {

// The one place where core's status codes become HTTP statuses and error codes.
unsigned HttpStatusOf(StatusCode code);
Response ErrorResponse(const Status& status);

}  // namespace tiercache::http_api
