#include "server/http_status_map.h"

namespace tiercache::http_api {

unsigned HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kTooLarge: return 413;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
    case StatusCode::kDeadlineExceeded: return 504;
  }
  return 500;
}

Response ErrorResponse(const Status& status) {
  // A request naming a namespace that is not configured (core/namespaces.h).
  if (status.code() == StatusCode::kNotFound &&
      status.message().starts_with("unknown namespace")) {
    return ErrorResponse(404, "unknown_namespace", status.message());
  }
  return ErrorResponse(HttpStatusOf(status.code()), StatusCodeName(status.code()),
                       status.message());
}

Response BadRequest(std::string_view message) {
  return ErrorResponse(400, StatusCodeName(StatusCode::kInvalidArgument), message);
}

}  // namespace tiercache::http_api
