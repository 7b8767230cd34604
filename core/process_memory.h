#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace tiercache {

// This process's resident memory in bytes, from /proc/self/statm (Linux). kInternal when
// the file cannot be read or parsed (no /proc mounted, another kernel).
Result<uint64_t> ResidentBytes();

// The resident size in `statm` ("size resident shared text lib data dt", in pages) times
// `page_size`. kInvalidArgument if the text has no second number.
Result<uint64_t> ParseStatmResidentBytes(std::string_view statm, uint64_t page_size);

}  // namespace tiercache
