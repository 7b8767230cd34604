#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

// PostgreSQL's binary wire formats (the types' send/recv functions) for the few types the
// tier exchanges: bytea is its bytes, int4/int8 are big-endian, and a one-dimensional array
// is a header followed by length-prefixed elements. Binary parameters spare the escaping and
// hex-decoding of bytea that the text format would need.
namespace tiercache::postgres {

// Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across versions.
inline constexpr uint32_t kBoolOid = 16;
inline constexpr uint32_t kByteaOid = 17;
inline constexpr uint32_t kInt8Oid = 20;
inline constexpr uint32_t kInt4Oid = 23;
inline constexpr uint32_t kTextOid = 25;

void AppendInt32(std::string& out, int32_t v);
void AppendInt64(std::string& out, int64_t v);
std::string EncodeInt64(int64_t v);

// Builds the binary form of a one-dimensional array without NULLs. `count` elements must
// be added before Finish().
class ArrayWriter {
 public:
  ArrayWriter(uint32_t element_oid, size_t count, size_t bytes_hint = 0);
  void Add(std::string_view element);
  void AddInt32(int32_t v);
  void AddInt64(int64_t v);
  std::string Finish() &&;

 private:
  std::string out_;
};

// Binary array of `elements` (text or bytea, as `element_oid` says).
std::string EncodeArray(uint32_t element_oid, const std::vector<std::string>& elements);

// Replaces `out` with the text form of a text[] holding `elements` ('{"a","b \\"c\\""}'):
// every element quoted, with " and \ escaped.
void FormatArrayLiteral(std::string& out, const std::vector<std::string>& elements);

Result<int64_t> DecodeInt64(std::string_view bytes);
// A one-dimensional (or empty) text[] without NULLs.
Result<std::vector<std::string>> DecodeTextArray(std::string_view bytes);

}  // namespace tiercache::postgres
