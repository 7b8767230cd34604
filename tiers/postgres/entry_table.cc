#include "tiers/postgres/entry_table.h"

#include <algorithm>

#include "tiers/postgres/pg_codec.h"
#include "tiers/postgres/schema.h"

namespace tiercache::postgres {

namespace {

struct Statement {
  const char* name;
  const char* sql;  // {{table}} stands for the table
};

// Expired rows are a miss: a row lives until the sweep deletes it, but no longer than
// expires_at. Removals delete expired rows too and count the live ones.
constexpr Statement kGet{"get", R"(
  SELECT value, tags, greatest(1, ceil(extract(epoch FROM expires_at - now()) * 1000))::int8,
         content_type
  FROM "{{table}}" WHERE key = $1::bytea AND expires_at > now())"};

constexpr Statement kSet{"set", R"(
  INSERT INTO "{{table}}" (key, value, tags, expires_at, content_type)
  VALUES ($1::bytea, $2::bytea, $3::text[], now() + $4::int8 * interval '1 millisecond',
          $5::text)
  ON CONFLICT (key) DO UPDATE
  SET value = excluded.value, tags = excluded.tags, expires_at = excluded.expires_at,
      content_type = excluded.content_type)"};

// A batch is one statement: arrays of keys, values, tags and lifetimes, unnest()ed into
// rows. PostgreSQL has no ragged arrays, so each row's tags travel as the text of an array
// literal ('{"a","b"}'), cast per row. (Slicing one flat array of every tag instead costs a
// walk over the array per row: quadratic, 4 times slower at 10,000 rows.)
constexpr Statement kSetBatch{"set_batch", R"(
  INSERT INTO "{{table}}" (key, value, tags, expires_at, content_type)
  SELECT r.key, r.value, r.tags::text[], now() + r.ttl_ms * interval '1 millisecond',
         r.content_type
  FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::int8[], $5::text[])
       AS r(key, value, tags, ttl_ms, content_type)
  ON CONFLICT (key) DO UPDATE
  SET value = excluded.value, tags = excluded.tags, expires_at = excluded.expires_at,
      content_type = excluded.content_type)"};

constexpr Statement kDelete{"delete", R"(
  DELETE FROM "{{table}}" WHERE key = $1::bytea RETURNING expires_at > now())"};

// A page of tagged rows found through the GIN index, deleted by key. The tags are tested
// again on the row being deleted: a row rewritten meanwhile goes only if it still has one.
constexpr Statement kDeleteTagged{"delete_tagged", R"(
  WITH removed AS (
    DELETE FROM "{{table}}"
    WHERE key = ANY (ARRAY (
            SELECT key FROM "{{table}}" WHERE tags && $1::text[] LIMIT $2::int8))
      AND tags && $1::text[]
    RETURNING expires_at > now() AS live)
  SELECT count(*), count(*) FILTER (WHERE live) FROM removed)"};

constexpr Statement kKeysFrom{"keys_from", R"(
  SELECT key FROM "{{table}}" WHERE key >= $1::bytea ORDER BY key LIMIT $2::int8)"};

constexpr Statement kKeysBetween{"keys_between", R"(
  SELECT key FROM "{{table}}" WHERE key >= $1::bytea AND key < $3::bytea
  ORDER BY key LIMIT $2::int8)"};

constexpr Statement kDeleteKeys{"delete_keys", R"(
  WITH removed AS (
    DELETE FROM "{{table}}" WHERE key = ANY ($1::bytea[])
    RETURNING expires_at > now() AS live)
  SELECT count(*), count(*) FILTER (WHERE live) FROM removed)"};

// Expired rows by their physical address (a TID scan, no second index lookup). A row
// rewritten since the inner SELECT has a new address and a new expiry, and stays.
constexpr Statement kDeleteExpired{"delete_expired", R"(
  DELETE FROM "{{table}}"
  WHERE ctid = ANY (ARRAY (
          SELECT ctid FROM "{{table}}" WHERE expires_at <= now() LIMIT $1::int8))
    AND expires_at <= now())"};

// The size of the tag bookkeeping, which lives in each row's own tags column: it shrinks
// as soon as rows are deleted. Bytes is pg_column_size(tags), the stored (possibly
// compressed) size of the arrays, without the GIN index (which only vacuum shrinks).
constexpr Statement kMeasureTags{"measure_tags", R"(
  SELECT (SELECT count(DISTINCT tag) FROM "{{table}}", unnest(tags) AS tag),
         coalesce(sum(cardinality(tags)), 0)::int8,
         coalesce(sum(pg_column_size(tags)), 0)::int8
  FROM "{{table}}" WHERE cardinality(tags) > 0)"};

constexpr Statement kPing{"ping", "SELECT 1"};

constexpr Statement kAddToCounter{"add_to_counter", R"(
  INSERT INTO "{{table}}_state" AS c (name, value) VALUES ($1::text, $2::int8)
  ON CONFLICT (name) DO UPDATE SET value = c.value + excluded.value
  RETURNING value)"};

constexpr Statement kStatements[] = {kGet,           kSet,         kSetBatch,    kDelete,
                                     kDeleteTagged,  kKeysFrom,    kKeysBetween, kDeleteKeys,
                                     kDeleteExpired, kMeasureTags, kPing,        kAddToCounter};

Result<int64_t> Int64Cell(const PGresult* result, int row, int column) {
  return DecodeInt64(Cell(result, row, column));
}

Result<Removed> ReadRemoved(const PGresult* result) {
  Result<int64_t> rows = Int64Cell(result, 0, 0);
  Result<int64_t> live = Int64Cell(result, 0, 1);
  if (!rows.ok()) return rows.status();
  if (!live.ok()) return live.status();
  return Removed{static_cast<uint64_t>(*rows), static_cast<uint64_t>(*live)};
}

// The writes a batch applies: each key's last write, in key order. ON CONFLICT may not
// touch a row twice in one statement, and batches that lock rows in one order cannot
// deadlock each other.
std::vector<const TierWrite*> LastWritePerKey(const std::vector<TierWrite>& writes) {
  std::vector<const TierWrite*> order;
  order.reserve(writes.size());
  for (const TierWrite& w : writes) order.push_back(&w);
  std::stable_sort(order.begin(), order.end(),
                   [](const TierWrite* a, const TierWrite* b) { return a->key < b->key; });
  std::vector<const TierWrite*> last;
  last.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 == order.size() || order[i + 1]->key != order[i]->key) last.push_back(order[i]);
  }
  return last;
}

std::string_view ValueOf(const TierWrite& write) {
  return write.value ? std::string_view(*write.value) : std::string_view();
}

}  // namespace

int64_t TtlMillis(Duration ttl) {
  return std::max<int64_t>(1, std::chrono::ceil<std::chrono::milliseconds>(ttl).count());
}

Status EntryTable::Prepare(PgConnection& conn, TimePoint deadline) const {
  for (const Statement& s : kStatements) {
    if (Status st = conn.Prepare(s.name, RenderSql(s.sql, table_), deadline); !st.ok()) {
      return st;
    }
  }
  return Status::Ok();
}

Result<TierEntry> EntryTable::Get(PgConnection& conn, std::string_view key,
                                  TimePoint deadline) const {
  const PgParam params[] = {{key}};
  Result<PgResult> r = conn.ExecPrepared(kGet.name, params, deadline);
  if (!r.ok()) return r.status();
  const PGresult* rows = r->get();
  if (PQntuples(rows) == 0) return Status::NotFound("not in " + table_);
  Result<std::vector<std::string>> tags = DecodeTextArray(Cell(rows, 0, 1));
  if (!tags.ok()) return tags.status();
  Result<int64_t> ttl_ms = Int64Cell(rows, 0, 2);
  if (!ttl_ms.ok()) return ttl_ms.status();
  return TierEntry{std::string(Cell(rows, 0, 0)), std::move(*tags),
                   std::chrono::milliseconds(*ttl_ms), std::string(Cell(rows, 0, 3))};
}

Status EntryTable::Set(PgConnection& conn, const TierWrite& write, TimePoint deadline) const {
  const std::string tags = EncodeArray(kTextOid, write.tags);
  const std::string ttl = EncodeInt64(TtlMillis(write.ttl));
  const PgParam params[] = {
      {write.key}, {ValueOf(write)}, {tags}, {ttl}, {ContentTypeText(write.content_type)}};
  Result<PgResult> r = conn.ExecPrepared(kSet.name, params, deadline);
  return r.ok() ? Status::Ok() : r.status();
}

Status EntryTable::SetBatch(PgConnection& conn, const std::vector<TierWrite>& writes,
                            TimePoint deadline) const {
  const std::vector<const TierWrite*> rows = LastWritePerKey(writes);
  if (rows.empty()) return Status::Ok();
  size_t key_bytes = 0;
  size_t value_bytes = 0;
  for (const TierWrite* w : rows) {
    key_bytes += w->key.size();
    value_bytes += ValueOf(*w).size();
  }
  ArrayWriter keys(kByteaOid, rows.size(), key_bytes);
  ArrayWriter values(kByteaOid, rows.size(), value_bytes);
  ArrayWriter tags(kTextOid, rows.size());
  ArrayWriter ttl_ms(kInt8Oid, rows.size(), 8 * rows.size());
  ArrayWriter content_types(kTextOid, rows.size());
  std::string literal;
  for (const TierWrite* w : rows) {
    keys.Add(w->key);
    values.Add(ValueOf(*w));
    FormatArrayLiteral(literal, w->tags);
    tags.Add(literal);
    ttl_ms.AddInt64(TtlMillis(w->ttl));
    content_types.Add(ContentTypeText(w->content_type));
  }
  const std::string encoded[] = {std::move(keys).Finish(), std::move(values).Finish(),
                                 std::move(tags).Finish(), std::move(ttl_ms).Finish(),
                                 std::move(content_types).Finish()};
  const PgParam params[] = {{encoded[0]}, {encoded[1]}, {encoded[2]}, {encoded[3]},
                            {encoded[4]}};
  Result<PgResult> r = conn.ExecPrepared(kSetBatch.name, params, deadline);
  return r.ok() ? Status::Ok() : r.status();
}

Result<bool> EntryTable::Delete(PgConnection& conn, std::string_view key,
                                TimePoint deadline) const {
  const PgParam params[] = {{key}};
  Result<PgResult> r = conn.ExecPrepared(kDelete.name, params, deadline);
  if (!r.ok()) return r.status();
  // At most one row; its cell is a binary bool, whether the entry had not expired.
  return PQntuples(r->get()) == 1 && Cell(r->get(), 0, 0) == std::string_view("\x01", 1);
}

Result<Removed> EntryTable::DeleteTagged(PgConnection& conn, const std::string& tags, size_t limit,
                                         TimePoint deadline) const {
  const std::string n = EncodeInt64(static_cast<int64_t>(limit));
  const PgParam params[] = {{tags}, {n}};
  Result<PgResult> r = conn.ExecPrepared(kDeleteTagged.name, params, deadline);
  if (!r.ok()) return r.status();
  return ReadRemoved(r->get());
}

Result<std::vector<std::string>> EntryTable::Keys(PgConnection& conn, const KeyRange& range,
                                                  size_t limit, TimePoint deadline) const {
  const std::string n = EncodeInt64(static_cast<int64_t>(limit));
  const std::string_view until = range.until ? std::string_view(*range.until) : "";
  const PgParam params[] = {{range.from}, {n}, {until}};
  Result<PgResult> r =
      range.until ? conn.ExecPrepared(kKeysBetween.name, params, deadline)
                  : conn.ExecPrepared(kKeysFrom.name, std::span(params).first(2), deadline);
  if (!r.ok()) return r.status();
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(PQntuples(r->get())));
  for (int i = 0; i < PQntuples(r->get()); ++i) keys.emplace_back(Cell(r->get(), i, 0));
  return keys;
}

Result<Removed> EntryTable::DeleteKeys(PgConnection& conn, const std::vector<std::string>& keys,
                                       TimePoint deadline) const {
  const std::string array = EncodeArray(kByteaOid, keys);
  const PgParam params[] = {{array}};
  Result<PgResult> r = conn.ExecPrepared(kDeleteKeys.name, params, deadline);
  if (!r.ok()) return r.status();
  return ReadRemoved(r->get());
}

Result<uint64_t> EntryTable::DeleteExpired(PgConnection& conn, size_t limit,
                                           TimePoint deadline) const {
  const std::string n = EncodeInt64(static_cast<int64_t>(limit));
  const PgParam params[] = {{n}};
  Result<PgResult> r = conn.ExecPrepared(kDeleteExpired.name, params, deadline);
  if (!r.ok()) return r.status();
  return AffectedRows(r->get());
}

Result<TagIndexStats> EntryTable::MeasureTags(PgConnection& conn, TimePoint deadline) const {
  Result<PgResult> r = conn.ExecPrepared(kMeasureTags.name, {}, deadline);
  if (!r.ok()) return r.status();
  TagIndexStats stats;
  uint64_t* fields[] = {&stats.tags, &stats.memberships, &stats.bytes};
  for (int i = 0; i < 3; ++i) {
    Result<int64_t> v = Int64Cell(r->get(), 0, i);
    if (!v.ok()) return v.status();
    *fields[i] = static_cast<uint64_t>(*v);
  }
  stats.measured = true;
  return stats;
}

Result<int64_t> EntryTable::AddToCounter(PgConnection& conn, std::string_view name,
                                         int64_t delta, TimePoint deadline) const {
  const std::string d = EncodeInt64(delta);
  const PgParam params[] = {{name}, {d}};
  Result<PgResult> r = conn.ExecPrepared(kAddToCounter.name, params, deadline);
  if (!r.ok()) return r.status();
  return Int64Cell(r->get(), 0, 0);
}

Status EntryTable::Ping(PgConnection& conn, TimePoint deadline) const {
  Result<PgResult> r = conn.ExecPrepared(kPing.name, {}, deadline);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace tiercache::postgres
