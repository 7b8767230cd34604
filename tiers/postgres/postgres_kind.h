#pragma once

#include "core/backend_kind.h"

namespace tiercache {

// The `postgres` tier kind: settings PostgresTierOptions (postgres_tier_options.h), built by
// MakePostgresTier; offers the job store in the tier's database (postgres_job_store.h).
const TierKind& PostgresTierKind();

}  // namespace tiercache
