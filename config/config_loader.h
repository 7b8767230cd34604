#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "core/backend_kind.h"

namespace tiercache::config {

// Reading a configuration. Every section and key is optional (an empty file is the default
// Config); unknown keys, wrong types and out-of-range values are errors, never ignored, so a
// typo cannot silently fall back to a default. The schema and the rules are documented in
// deploy/tiercache.yaml.
//
// Errors throw ConfigError with what() = "FILE:LINE:COLUMN: message" (1-based, pointing at
// the offending key or value; for a rule between two settings, at one of them), or
// "FILE: cannot read: <reason>" when the file cannot be read. Only the first error is
// reported.

//
// `kinds` are the tier kinds a `tiers:` entry's type may name (tiers/backend_kinds.h); each
// reads its own keys of the entry. They must outlive the Config (its TierConfig::kind).

// Reads and validates the YAML file at `path`; `path` is the FILE of error messages.
Config LoadConfigFile(const std::string& path, const TierKinds& kinds);

// Reads and validates `yaml`; `source_name` is the FILE of error messages (e.g. "<embedded>").
Config LoadConfigString(std::string_view yaml, std::string_view source_name,
                        const TierKinds& kinds);

}  // namespace tiercache::config
