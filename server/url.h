#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tiercache::http_api {

// Decodes %XX escapes; nullopt if an escape is malformed. '+' stays '+' (path rules).
std::optional<std::string> PercentDecode(std::string_view text);

// Splits "path?query" at the first '?'.
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target);

// Parses "a=1&b=x%20y" into decoded name/value pairs; nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

}  // namespace tiercache::http_api
