#pragma once

#include <string>

#include "core/service.h"

namespace tiercache {

// The status document of GET /v1/status and of the gRPC Status reply's `json` field.
std::string StatusToJson(const ServiceStatus& status);

}  // namespace tiercache
