#pragma once

#include <memory>

#include "core/scheduled_invalidations.h"
#include "core/status.h"
#include "tiers/postgres/postgres_tier_options.h"

namespace tiercache {

// Keeps scheduled invalidations in the table "<table>_jobs" of a PostgreSQL tier's database
// (deploy/sql/002_jobs.sql), on one connection and thread of its own: operations are
// queued and answered in order on that thread; the connection is made (and the schema
// ensured) when needed, so a PostgreSQL that is down fails operations with kUnavailable
// and is tried again by the next one.
Result<std::unique_ptr<JobStore>> MakePostgresJobStore(const PostgresTierOptions& tier);

}  // namespace tiercache
