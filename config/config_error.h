#pragma once

#include <stdexcept>

namespace tiercache::config {

// A configuration that cannot be read or is invalid. Thrown only during start-up (and by
// --check-config); the daemon's main catches it once, prints what() and exits. Errors tied
// to a place in a file read "FILE:LINE:COLUMN: message", so editors can jump to them.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace tiercache::config
