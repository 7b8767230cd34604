-- Counters of the server itself, beside the entries (Tier::AddToCounter): each namespace's
-- current version, so that every instance sharing the table, and every restart, agrees on
-- it. Clear and invalidations leave this table alone.
CREATE TABLE IF NOT EXISTS "{{table}}_state" (
  name  text   PRIMARY KEY,
  value bigint NOT NULL
);
