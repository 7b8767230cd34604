#pragma once

#include <span>
#include <string_view>

namespace tiercache::postgres {

// One file of deploy/sql/, compiled into the library (embed_sql.cmake).
struct SqlFile {
  std::string_view name;  // "001_entries.sql": the leading number is its schema version
  std::string_view text;  // with "{{table}}" where the tier's table name goes
};

// Every file of deploy/sql/, sorted by name.
std::span<const SqlFile> SchemaFiles();

}  // namespace tiercache::postgres
