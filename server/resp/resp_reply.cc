#include "server/resp/resp_reply.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace tiercache::resp {

void ReplyWriter::Header(char type, int64_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  (void)ec;
  out_.push_back(type);
  out_.append(digits, end);
  out_.append("\r\n");
}

void ReplyWriter::Simple(std::string_view text) {
  out_.push_back('+');
  out_.append(text);
  out_.append("\r\n");
}

void ReplyWriter::Error(std::string_view text) {
  out_.push_back('-');
  // A newline would end the error early and desynchronise the client.
  for (char c : text) out_.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out_.append("\r\n");
}

void ReplyWriter::Integer(int64_t value) { Header(':', value); }

void ReplyWriter::Bulk(std::string_view value) {
  Header('$', static_cast<int64_t>(value.size()));
  out_.append(value);
  out_.append("\r\n");
}

void ReplyWriter::Null() { out_.append(protocol_ == Protocol::kResp3 ? "_\r\n" : "$-1\r\n"); }

void ReplyWriter::NullArray() {
  out_.append(protocol_ == Protocol::kResp3 ? "_\r\n" : "*-1\r\n");
}

void ReplyWriter::Array(size_t count) { Header('*', static_cast<int64_t>(count)); }

void ReplyWriter::Map(size_t pairs) {
  if (protocol_ == Protocol::kResp3) return Header('%', static_cast<int64_t>(pairs));
  Header('*', static_cast<int64_t>(pairs * 2));
}

void ReplyWriter::Double(double value) {
  const std::string text = FormatDouble(value);
  if (protocol_ == Protocol::kResp3) {
    out_.push_back(',');
    out_.append(text);
    out_.append("\r\n");
    return;
  }
  Bulk(text);
}

void ReplyWriter::Boolean(bool value) {
  if (protocol_ == Protocol::kResp3) return out_.append(value ? "#t\r\n" : "#f\r\n"), void();
  Integer(value ? 1 : 0);
}

std::string FormatDouble(long double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // As Redis's INCRBYFLOAT: 17 significant digits, no exponent, trailing zeros trimmed.
  char text[5 * 1024];
  int n = std::snprintf(text, sizeof text, "%.17Lf", value);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof text) return "0";
  std::string s(text, static_cast<size_t>(n));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

}  // namespace tiercache::resp
