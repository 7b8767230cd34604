#pragma once

#include <string_view>

namespace tiercache {

enum class LogStyle { kText, kJson };

// Sends spdlog's default logger to stderr (the journal under systemd) at `level`
// ("trace" ... "off"), as text lines or one JSON object per line.
void SetUpLogging(std::string_view level, LogStyle style);

}  // namespace tiercache
