-- The entries of one PostgreSQL tier (tiers/postgres): one row per cached key.
--
-- tiercached embeds the files of this directory at build time. When it connects, it applies
-- those numbered above the version recorded in "<table>_schema", in one transaction under
-- an advisory lock (tiers/postgres/schema.cc). The placeholder in braces stands for the
-- tier's `table` setting, a lower-case identifier of at most 56 characters, so that the
-- names made from it stay within PostgreSQL's 63. Every statement must be idempotent.

-- Keys and values are byte strings: bytea compares bytewise, so key order (and the key
-- ranges that pattern invalidation scans) is the order of the bytes.
CREATE TABLE IF NOT EXISTS "{{table}}" (
  key        bytea       PRIMARY KEY,
  value      bytea       NOT NULL,
  tags       text[]      NOT NULL DEFAULT '{}',
  expires_at timestamptz NOT NULL
);

-- Tag invalidation: DELETE ... WHERE tags && $1.
CREATE INDEX IF NOT EXISTS "{{table}}_tags" ON "{{table}}" USING gin (tags);

-- The sweep of expired rows: ... WHERE expires_at <= now() LIMIT n.
CREATE INDEX IF NOT EXISTS "{{table}}_expiry" ON "{{table}}" (expires_at);
