#pragma once

#include <string>
#include <vector>

#include "core/service.h"

namespace tiercache {

// The status document of GET /v1/status and of the gRPC Status reply's `json` field.
std::string StatusToJson(const ServiceStatus& status);
// The document of GET /v1/jobs: {"jobs": [...]}, each job as the status document shows it.
std::string JobListToJson(const std::vector<JobInfo>& jobs);
// The document of GET /v1/namespaces: {"namespaces": [...]}; and one namespace, as
// POST /v1/namespaces/{name}/bump answers it.
std::string NamespaceListToJson(const std::vector<NamespaceStatus>& namespaces);
std::string NamespaceToJson(const NamespaceStatus& ns);

}  // namespace tiercache
