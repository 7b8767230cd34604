#include "tiers/postgres/sql_warm_source.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "core/model_rules.h"
#include "tiers/common/event_fd.h"
#include "tiers/postgres/pg_codec.h"
#include "tiers/postgres/pg_connection.h"

namespace tiercache {

namespace {

using namespace std::chrono_literals;
using postgres::PgConnection;
using postgres::PgResult;
using std::chrono::steady_clock;
// Keeps the columns in the query's order, which reads better than sorted names.
using RowJson = nlohmann::ordered_json;

constexpr size_t kMaxBatchRows = 100'000;
// The client-side bound on a statement is the server's statement_timeout plus this: the
// server's own error (with its message) should normally arrive first; this only ends the
// wait when the server or the network hangs.
constexpr Duration kReplySlack = 2s;
// Ending an abandoned run: the connection closes anyway right after, which rolls back too.
constexpr Duration kRollbackTimeout = 1s;
// The statement and cursor names; the connection is the run's own, so nothing can clash.
constexpr const char* kStatementName = "tiercache_warm";
constexpr std::string_view kCursorName = "tiercache_warm";

// Type OIDs beyond pg_codec.h's (pg_type.dat; stable across versions).
constexpr Oid kInt2Oid = 21;
constexpr Oid kOidOid = 26;
constexpr Oid kJsonOid = 114;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kJsonbOid = 3802;

// The placeholder grammar of FillTemplate (core/model_rules.h): `{name}` with a name of a
// letter or _ then letters, digits, _; any other brace is literal. Repeated here because
// core exposes only the filling, and the columns a template needs must be known before
// the first row.
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

void AddPlaceholders(std::string_view text, std::vector<std::string>& names) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{' || i + 1 >= text.size() || !IsNameStart(text[i + 1])) continue;
    size_t j = i + 1;
    while (j < text.size() && IsNameChar(text[j])) ++j;
    if (j == text.size() || text[j] != '}') continue;
    std::string name(text.substr(i + 1, j - i - 1));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    i = j;
  }
}

Status Validate(const SqlWarmOptions& o) {
  // Only whitespace and semicolons would reach PostgreSQL as an empty cursor query.
  if (o.query.find_first_not_of(" \t\r\n;") == std::string::npos) {
    return Status::InvalidArgument("query must not be empty");
  }
  if (o.key.empty()) return Status::InvalidArgument("key must not be empty");
  std::vector<std::string> key_columns;
  AddPlaceholders(o.key, key_columns);
  if (key_columns.empty()) {
    return Status::InvalidArgument("key '" + o.key +
                                   "' names no column ({column}): every row would overwrite "
                                   "the same key");
  }
  for (size_t i = 0; i < o.tags.size(); ++i) {
    if (o.tags[i].empty()) {
      return Status::InvalidArgument("tags[" + std::to_string(i) + "] must not be empty");
    }
  }
  if (o.batch_rows == 0 || o.batch_rows > kMaxBatchRows) {
    return Status::InvalidArgument("batch_rows must be between 1 and " +
                                   std::to_string(kMaxBatchRows) + ", got " +
                                   std::to_string(o.batch_rows));
  }
  if (o.ttl.has_value() && *o.ttl <= Duration::zero()) {
    return Status::InvalidArgument("ttl must be positive");
  }
  if (o.connect_timeout <= Duration::zero()) {
    return Status::InvalidArgument("connect_timeout must be positive");
  }
  if (o.statement_timeout <= Duration::zero()) {
    return Status::InvalidArgument("statement_timeout must be positive");
  }
  return Status::Ok();
}

// PostgreSQL's statement_timeout setting: whole milliseconds (0 would mean none, so at
// least 1), at most what its int setting holds.
int64_t StatementTimeoutMillis(Duration d) {
  const int64_t ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return std::clamp<int64_t>(ms, 1, std::numeric_limits<int32_t>::max());
}

// PgConnection reports an SQL error as kUnavailable (kDeadlineExceeded for a cancelled
// statement) with " (SQLSTATE xxxxx)" in its message. The classes below say the query
// itself is wrong (syntax, unknown table or column, permission, a write in the read-only
// transaction, a data error while computing a row): configuration to fix, not an outage.
Status Classify(const Status& status, std::string_view doing) {
  Status with_context = postgres::WithContext(status, doing);
  constexpr std::string_view kMarker = "(SQLSTATE ";
  const std::string& message = status.message();
  const size_t at = message.rfind(kMarker);
  if (status.code() != StatusCode::kUnavailable || at == std::string::npos ||
      message.size() < at + kMarker.size() + 5) {
    return with_context;
  }
  const std::string_view sqlstate_class = std::string_view(message).substr(at + kMarker.size(), 2);
  constexpr std::string_view kQueryAtFault[] = {"0A", "21", "22", "25", "3F", "42", "54"};
  if (std::find(std::begin(kQueryAtFault), std::end(kQueryAtFault), sqlstate_class) ==
      std::end(kQueryAtFault)) {
    return with_context;
  }
  return Status::InvalidArgument(with_context.message());
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// How a column goes into a row's JSON object.
enum class JsonKind : uint8_t { kText, kBool, kInteger, kFloat, kJson };

JsonKind JsonKindOf(Oid type) {
  switch (type) {
    case postgres::kBoolOid:
      return JsonKind::kBool;
    case kInt2Oid:
    case postgres::kInt4Oid:
    case postgres::kInt8Oid:
    case kOidOid:
      return JsonKind::kInteger;
    case kFloat4Oid:
    case kFloat8Oid:
      return JsonKind::kFloat;
    case kJsonOid:
    case kJsonbOid:
      return JsonKind::kJson;
    default:
      return JsonKind::kText;
  }
}

// One cell's text form as JSON. A text form that does not parse as its type says (which
// PostgreSQL never sends) and a float that JSON cannot hold (NaN, Infinity) stay strings.
RowJson CellJson(JsonKind kind, std::string_view text) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  switch (kind) {
    case JsonKind::kBool:
      if (text == "t") return true;
      if (text == "f") return false;
      break;
    case JsonKind::kInteger: {
      int64_t v = 0;
      const auto [end, ec] = std::from_chars(first, last, v);
      if (ec == std::errc() && end == last) return v;
      break;
    }
    case JsonKind::kFloat: {
      double v = 0;
      const auto [end, ec] = std::from_chars(first, last, v);
      if (ec == std::errc() && end == last && std::isfinite(v)) return v;
      break;
    }
    case JsonKind::kJson: {
      RowJson parsed = RowJson::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) return parsed;
      break;
    }
    case JsonKind::kText:
      break;
  }
  return std::string(text);
}

// A bytea cell in the text format ("\x4142..."): its bytes.
Result<std::string> UnescapeBytea(std::string_view text) {
  // PQunescapeBytea needs a NUL-terminated string; PQgetvalue's always is.
  size_t length = 0;
  unsigned char* bytes =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(text.data()), &length);
  if (bytes == nullptr) return Status::Internal("out of memory decoding a bytea value");
  std::string out(reinterpret_cast<const char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

// What the source needs of the result's columns, bound once from the first FETCH's
// description (every FETCH of a cursor describes the same columns).
struct RowPlan {
  struct Column {
    std::string name;
    JsonKind kind;
  };
  std::vector<Column> columns;
  // The template columns' values for the current row, and where each comes from. The
  // map's keys are fixed once bound, so the pointers into it stay valid and each row only
  // overwrites the values.
  ModelFields fields;
  std::vector<std::pair<int, std::string*>> slots;
  int value_column = -1;  // -1: the row as JSON
  bool value_is_bytea = false;
};

class SqlWarmSource final : public WarmSource {
 public:
  SqlWarmSource(SqlWarmOptions options, std::string endpoint)
      : options_(std::move(options)), endpoint_(std::move(endpoint)) {
    AddPlaceholders(options_.key, template_columns_);
    for (const std::string& tag : options_.tags) AddPlaceholders(tag, template_columns_);
    // Trailing semicolons would end the DECLARE early and make a second, empty statement.
    query_ = options_.query;
    while (!query_.empty() && std::strchr(" \t\r\n;", query_.back()) != nullptr) {
      query_.pop_back();
    }
  }

  std::string_view kind() const override { return "sql"; }

  Status Run(WarmSink& sink) override {
    // PgConnection also ends its waits when a stop fd turns readable. A run is stopped
    // through the sink between batches instead, and each wait is bounded by a deadline, so
    // this one is never signalled.
    backend::EventFd never;
    if (!never.ok()) return Status::Internal(std::string("eventfd: ") + std::strerror(errno));
    PgConnection conn(options_.dsn, endpoint_, never.fd());
    if (Status s = conn.Connect(steady_clock::now() + options_.connect_timeout); !s.ok()) {
      return s;
    }
    const Duration statement_bound =
        std::chrono::milliseconds(StatementTimeoutMillis(options_.statement_timeout)) + kReplySlack;
    auto deadline = [&] { return steady_clock::now() + statement_bound; };

    // Read-only: a warming query has no business writing, and a function with side effects
    // called from it fails instead of running once per warm-up.
    const std::string begin = "SET statement_timeout = " +
                              std::to_string(StatementTimeoutMillis(options_.statement_timeout)) +
                              "; BEGIN READ ONLY";
    if (auto r = conn.Exec(begin, deadline()); !r.ok()) return Classify(r.status(), "BEGIN");
    // Through the extended protocol, which takes exactly one statement: a query with a
    // second statement after a semicolon is refused rather than run.
    const std::string declare =
        "DECLARE " + std::string(kCursorName) + " NO SCROLL CURSOR FOR " + query_;
    if (Status s = conn.Prepare(kStatementName, declare, deadline()); !s.ok()) {
      return Classify(s, "the query");
    }
    if (auto r = conn.ExecPrepared(kStatementName, {}, deadline()); !r.ok()) {
      return Classify(r.status(), "the query");
    }

    const std::string fetch =
        "FETCH " + std::to_string(options_.batch_rows) + " FROM " + std::string(kCursorName);
    RowPlan plan;
    bool bound = false;
    uint64_t row_number = 0;
    while (true) {
      if (sink.cancelled()) return Abandon(conn);
      Result<PgResult> batch = conn.Exec(fetch, deadline());
      if (!batch.ok()) return Classify(batch.status(), "fetching rows");
      const PGresult* result = batch->get();
      if (!bound) {
        if (Status s = Bind(result, plan); !s.ok()) return s;
        bound = true;
      }
      const int rows = PQntuples(result);
      for (int row = 0; row < rows; ++row) {
        ++row_number;
        sink.Attempted();
        std::string key;
        Result<WarmEntry> entry = MakeEntry(plan, result, row, key);
        if (!entry.ok()) {
          std::string what = "row " + std::to_string(row_number);
          if (!key.empty()) what += " (" + key + ")";
          sink.Failed(what, entry.status());
          continue;
        }
        if (!sink.Put(std::move(*entry))) return Abandon(conn);
      }
      // A short batch is the last: the cursor is exhausted.
      if (static_cast<size_t>(rows) < options_.batch_rows) break;
    }
    if (auto r = conn.Exec("COMMIT", deadline()); !r.ok()) return Classify(r.status(), "COMMIT");
    return Status::Ok();
  }

 private:
  // The sink asked to stop: ROLLBACK closes the cursor and ends the transaction. Its
  // failure changes nothing, as closing the connection does the same.
  static Status Abandon(PgConnection& conn) {
    (void)conn.Exec("ROLLBACK", steady_clock::now() + kRollbackTimeout);
    return Status::Ok();
  }

  // Checks that the result has every column the templates and value_column name, and
  // prepares the per-row work.
  Status Bind(const PGresult* result, RowPlan& plan) const {
    const int count = PQnfields(result);
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i) {
      names.emplace_back(PQfname(result, i));
      plan.columns.push_back({names.back(), JsonKindOf(PQftype(result, i))});
    }
    // With a name twice ("SELECT a.id, b.id"), the first column of that name is the one.
    auto index_of = [&](const std::string& name) {
      return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
    };
    std::vector<std::string> missing;
    for (const std::string& name : template_columns_) {
      if (index_of(name) == count) missing.push_back(name);
    }
    if (!options_.value_column.empty() && index_of(options_.value_column) == count) {
      missing.push_back(options_.value_column);
    }
    if (!missing.empty()) {
      return Status::InvalidArgument(
          std::string(missing.size() == 1 ? "the query's result has no column "
                                          : "the query's result has no columns ") +
          JoinNames(missing) + " (its columns: " + (names.empty() ? "none" : JoinNames(names)) +
          ")");
    }
    for (const std::string& name : template_columns_) {
      auto [it, inserted] = plan.fields.emplace(name, std::string());
      plan.slots.emplace_back(index_of(name), &it->second);
    }
    if (!options_.value_column.empty()) {
      plan.value_column = index_of(options_.value_column);
      plan.value_is_bytea = PQftype(result, plan.value_column) == postgres::kByteaOid;
    }
    return Status::Ok();
  }

  // Row `row`'s entry; sets `key` as soon as it is known, for the failure report.
  Result<WarmEntry> MakeEntry(const RowPlan& plan, const PGresult* result, int row,
                              std::string& key) const {
    for (const auto& [column, value] : plan.slots) {
      if (PQgetisnull(result, row, column)) {
        return Status::InvalidArgument("column " + plan.columns[column].name +
                                       " is NULL, and a key or tag template needs it");
      }
      value->assign(postgres::Cell(result, row, column));
    }
    Result<std::string> filled = FillTemplate(options_.key, plan.fields, /*quote=*/false);
    if (!filled.ok()) return filled.status();
    key = *filled;
    WarmEntry entry;
    entry.key = std::move(*filled);
    entry.tags.reserve(options_.tags.size());
    for (const std::string& tag : options_.tags) {
      Result<std::string> t = FillTemplate(tag, plan.fields, /*quote=*/false);
      if (!t.ok()) return t.status();
      entry.tags.push_back(std::move(*t));
    }
    if (plan.value_column >= 0) {
      if (PQgetisnull(result, row, plan.value_column)) {
        return Status::InvalidArgument("the value column " + options_.value_column + " is NULL");
      }
      const std::string_view text = postgres::Cell(result, row, plan.value_column);
      if (plan.value_is_bytea) {
        Result<std::string> bytes = UnescapeBytea(text);
        if (!bytes.ok()) return bytes.status();
        entry.value = std::move(*bytes);
      } else {
        entry.value.assign(text);
      }
    } else {
      RowJson object = RowJson::object();
      for (int column = 0; column < static_cast<int>(plan.columns.size()); ++column) {
        const RowPlan::Column& c = plan.columns[column];
        if (object.contains(c.name)) continue;  // a repeated name: the first column's value
        object[c.name] = PQgetisnull(result, row, column)
                             ? RowJson(nullptr)
                             : CellJson(c.kind, postgres::Cell(result, row, column));
      }
      // Text in a database that is not UTF-8 may hold bytes JSON cannot carry: replaced
      // (U+FFFD) rather than failing the row.
      entry.value = object.dump(-1, ' ', false, RowJson::error_handler_t::replace);
    }
    entry.ttl = options_.ttl;
    return entry;
  }

  const SqlWarmOptions options_;
  const std::string endpoint_;
  std::string query_;                          // options_.query without trailing semicolons
  std::vector<std::string> template_columns_;  // the columns the key and tags name
};

}  // namespace

Result<std::unique_ptr<WarmSource>> MakeSqlWarmSource(SqlWarmOptions options) {
  if (options.dsn.empty()) return Status::InvalidArgument("dsn must not be empty");
  Result<std::string> endpoint = postgres::EndpointOf(options.dsn);
  if (!endpoint.ok()) return endpoint.status();
  if (Status s = Validate(options); !s.ok()) return s;
  return std::unique_ptr<WarmSource>(
      std::make_unique<SqlWarmSource>(std::move(options), std::move(*endpoint)));
}

}  // namespace tiercache
