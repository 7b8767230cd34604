#include "tiers/backend_kinds.h"

#include "tiers/postgres/postgres_kind.h"
#include "tiers/redis/redis_kind.h"

namespace tiercache {

// One line per kind; its reading, building and showing live in tiers/<kind>/<kind>_kind.cc.
const TierKinds& BackendKinds() {
  static const TierKinds kinds = {
      &RedisTierKind(),
      &PostgresTierKind(),
  };
  return kinds;
}

}  // namespace tiercache
