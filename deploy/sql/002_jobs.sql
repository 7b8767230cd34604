-- Scheduled invalidations that have not run yet (core/scheduled_invalidations.h), so that
-- they survive a restart: the daemon loads them at start and runs those that fell due
-- meanwhile at once. A row is deleted when its job has run or was cancelled.
CREATE TABLE IF NOT EXISTS "{{table}}_jobs" (
  id      text        PRIMARY KEY,
  due     timestamptz NOT NULL,
  request bytea       NOT NULL
);
