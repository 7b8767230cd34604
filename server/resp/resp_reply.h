#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tiercache::resp {

// Which reply encoding a connection asked for (HELLO 2 / HELLO 3).
enum class Protocol : uint8_t { kResp2 = 2, kResp3 = 3 };

// Appends replies in the connection's protocol to one output buffer: the connection
// sends what a batch of requests produced in one write.
class ReplyWriter {
 public:
  ReplyWriter(std::string& out, Protocol protocol) : out_(out), protocol_(protocol) {}

  Protocol protocol() const { return protocol_; }

  void Ok() { out_.append("+OK\r\n"); }
  void Simple(std::string_view text);
  // `text` starts with the error code ("ERR ...", "WRONGTYPE ...").
  void Error(std::string_view text);
  void Integer(int64_t value);
  void Bulk(std::string_view value);
  void Null();       // a missing value: $-1 in RESP2, _ in RESP3
  void NullArray();  // a missing array (EXEC aborted by WATCH): *-1 in RESP2
  void Array(size_t count);
  // A map of `pairs` key/value pairs: a flat array of twice as many in RESP2.
  void Map(size_t pairs);
  // A floating-point reply (INCRBYFLOAT answers a bulk string in both protocols).
  void Double(double value);
  void Boolean(bool value);  // RESP3 #t/#f; RESP2 integer 1/0
  // Raw bytes already encoded (a reply built elsewhere).
  void Raw(std::string_view bytes) { out_.append(bytes); }

  std::string& buffer() { return out_; }

 private:
  void Header(char type, int64_t n);

  std::string& out_;
  Protocol protocol_;
};

// The shortest text that reads back as `value` ("%.17g" trimmed, as Redis prints doubles).
std::string FormatDouble(long double value);

}  // namespace tiercache::resp
