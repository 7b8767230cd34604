#pragma once

#include <string>
#include <string_view>

#include "config/config_loader.h"
#include "tiers/backend_kinds.h"

namespace tiercache::config {

// Loads `yaml` as if read from the file "test.yaml".
inline Config Load(std::string_view yaml) {
  return LoadConfigString(yaml, "test.yaml", BackendKinds());
}

// The message of the ConfigError that loading `yaml` throws, or "no error" if it loads.
inline std::string ErrorOf(std::string_view yaml) {
  try {
    Load(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace tiercache::config
