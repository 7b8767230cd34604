#include "tiers/postgres/schema.h"

#include <algorithm>
#include <cstdlib>

namespace tiercache::postgres {

namespace {

constexpr std::string_view kPlaceholder = "{{table}}";

// Every tiercached takes the same advisory lock ("tiercach" in ASCII) to migrate any table:
// concurrent CREATE ... IF NOT EXISTS of one name can fail, one lock keeps them apart.
constexpr std::string_view kLockAndCreateVersions = R"(
  SELECT pg_advisory_xact_lock(8388347322922263400);
  CREATE TABLE IF NOT EXISTS "{{table}}_schema" (
    version    integer     PRIMARY KEY,
    file       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  ))";

// 0 when the entries table is missing, so that every file runs again and creates it.
constexpr std::string_view kRecordedVersion = R"(
  SELECT coalesce(max(version), 0) FROM "{{table}}_schema"
  WHERE to_regclass('"{{table}}"') IS NOT NULL)";

constexpr std::string_view kRecordVersion = R"(
  INSERT INTO "{{table}}_schema" (version, file) VALUES ({{version}}, '{{file}}')
  ON CONFLICT (version) DO UPDATE SET file = excluded.file, applied_at = now())";

std::string Replace(std::string_view text, std::string_view placeholder, std::string_view by) {
  std::string out;
  while (true) {
    const size_t at = text.find(placeholder);
    out.append(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    out.append(by);
    text.remove_prefix(at + placeholder.size());
  }
}

Result<int> RecordedVersion(PgConnection& conn, std::string_view table, TimePoint deadline) {
  Result<PgResult> r = conn.Exec(RenderSql(kRecordedVersion, table), deadline);
  if (!r.ok()) return r.status();
  return std::atoi(PQgetvalue(r->get(), 0, 0));
}

Status Apply(PgConnection& conn, const SqlFile& file, std::string_view table, TimePoint deadline) {
  // File names are ours (deploy/sql), without quotes.
  const std::string record = Replace(
      Replace(RenderSql(kRecordVersion, table), "{{version}}", std::to_string(SchemaVersion(file))),
      "{{file}}", file.name);
  Result<PgResult> r = conn.Exec(RenderSql(file.text, table) + ";\n" + record, deadline);
  return WithContext(r.status(), "applying " + std::string(file.name));
}

}  // namespace

std::string RenderSql(std::string_view text, std::string_view table) {
  return Replace(text, kPlaceholder, table);
}

int SchemaVersion(const SqlFile& file) { return std::atoi(std::string(file.name).c_str()); }

Status EnsureSchema(PgConnection& conn, std::string_view table, TimePoint deadline) {
  const std::string t(table);
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::System().Now());
  const std::string begin =
      "BEGIN; SET LOCAL statement_timeout = " + std::to_string(std::max<int64_t>(1, left.count())) +
      ";" + RenderSql(kLockAndCreateVersions, table);
  if (Status s = conn.Exec(begin, deadline).status(); !s.ok()) {
    return WithContext(s, "locking the schema of " + t);
  }
  Result<int> current = RecordedVersion(conn, table, deadline);
  if (!current.ok()) return WithContext(current.status(), "reading the schema version of " + t);
  for (const SqlFile& file : SchemaFiles()) {
    if (SchemaVersion(file) <= *current) continue;
    if (Status s = Apply(conn, file, table, deadline); !s.ok()) return s;
  }
  return WithContext(conn.Exec("COMMIT", deadline).status(), "committing the schema of " + t);
}

}  // namespace tiercache::postgres
