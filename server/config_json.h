#pragma once

#include <nlohmann/json_fwd.hpp>

namespace tiercache {

namespace config {
struct Config;
}

// The configuration as the daemon runs it, for the status document: every setting of
// `config`, defaults included, under the YAML file's key names and structure. Durations are
// written as the loader reads them ("300s", "250ms"), sizes in bytes, so the document
// (JSON is YAML) loads back into the same Config when it holds no secret. Secrets are
// "<redacted>" (server/secret_redaction.h): passwords in Redis URLs and PostgreSQL DSNs,
// http warming headers whose names look secret, secret-looking query parameters.
//
// A setting whose default is not a value is resolved as the daemon resolves it:
// coherence.enabled (on with a Redis tier), a warming source's ttl
// (strategies.default_timeout) and tiers (every tier; L1 for hot). Those decided only at
// start are absent while unset, as in the file: coherence.url (the first Redis tier's),
// coherence.instance_id (host name and pid), invalidation.listen (off), a warming source's
// interval (none) and optional strings left empty (value_column, an endpoint's key, name).
//
// Not rendered yet: invalidation.models, whose rules core's ModelRules keeps private.
// http warming headers come out as one JSON object: sorted by name, and of one name given
// twice only the last is kept.
nlohmann::json EffectiveConfigJson(const config::Config& config);

}  // namespace tiercache
