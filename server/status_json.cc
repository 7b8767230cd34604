#include "server/status_json.h"

#include <nlohmann/json.hpp>

namespace tiercache {

std::string StatusToJson(const ServiceStatus& status) {
  const L1Stats& l1 = status.l1;
  const uint64_t lookups = l1.hits + l1.misses;
  nlohmann::json doc = {
      {"version", status.version},
      {"uptime_seconds", ToSeconds(status.uptime)},
      {"tiers",
       nlohmann::json::array({{
           {"name", "L1"},
           {"state", "up"},
           {"entries", l1.entries},
           {"bytes", l1.bytes},
           {"max_entries", l1.max_entries},
           {"max_bytes", l1.max_bytes},
           {"hits", l1.hits},
           {"misses", l1.misses},
           {"hit_rate", lookups == 0 ? 0.0 : static_cast<double>(l1.hits) / lookups},
           {"evictions", l1.evictions},
           {"expirations", l1.expirations},
       }})},
      {"limits",
       {
           {"max_key_bytes", status.limits.max_key_bytes},
           {"max_value_bytes", status.limits.max_value_bytes},
           {"max_request_body_bytes", status.limits.max_request_body_bytes},
           {"max_tags", status.limits.max_tags},
           {"max_tag_bytes", status.limits.max_tag_bytes},
           {"max_pattern_bytes", status.limits.max_pattern_bytes},
           {"max_keys_per_request", status.limits.max_keys_per_request},
       }},
  };
  return doc.dump();
}

}  // namespace tiercache
