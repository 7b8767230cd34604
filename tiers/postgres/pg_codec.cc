#include "tiers/postgres/pg_codec.h"

namespace tiercache::postgres {

namespace {

uint64_t ReadBigEndian(std::string_view bytes, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

void AppendBigEndian(std::string& out, uint64_t v, size_t width) {
  for (size_t i = width; i-- > 0;) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads big-endian integers off the front of a buffer, remembering whether it ran short.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  int32_t Int32() { return static_cast<int32_t>(Take(4)); }
  std::string_view Bytes(size_t n) {
    if (bytes_.size() < n) return Fail();
    std::string_view b = bytes_.substr(0, n);
    bytes_.remove_prefix(n);
    return b;
  }
  bool ok() const { return ok_; }

 private:
  uint64_t Take(size_t width) {
    if (bytes_.size() < width) {
      Fail();
      return 0;
    }
    const uint64_t v = ReadBigEndian(bytes_, width);
    bytes_.remove_prefix(width);
    return v;
  }
  std::string_view Fail() {
    ok_ = false;
    bytes_ = {};
    return {};
  }

  std::string_view bytes_;
  bool ok_ = true;
};

}  // namespace

void AppendInt32(std::string& out, int32_t v) { AppendBigEndian(out, static_cast<uint32_t>(v), 4); }

void AppendInt64(std::string& out, int64_t v) { AppendBigEndian(out, static_cast<uint64_t>(v), 8); }

std::string EncodeInt64(int64_t v) {
  std::string out;
  AppendInt64(out, v);
  return out;
}

ArrayWriter::ArrayWriter(uint32_t element_oid, size_t count, size_t bytes_hint) {
  out_.reserve(20 + 4 * count + bytes_hint);
  // An empty array has no dimensions; otherwise one, with lower bound 1.
  AppendInt32(out_, count == 0 ? 0 : 1);
  AppendInt32(out_, 0);  // no NULL elements
  AppendInt32(out_, static_cast<int32_t>(element_oid));
  if (count > 0) {
    AppendInt32(out_, static_cast<int32_t>(count));
    AppendInt32(out_, 1);
  }
}

void ArrayWriter::Add(std::string_view element) {
  AppendInt32(out_, static_cast<int32_t>(element.size()));
  out_.append(element);
}

void ArrayWriter::AddInt32(int32_t v) {
  AppendInt32(out_, 4);
  AppendInt32(out_, v);
}

void ArrayWriter::AddInt64(int64_t v) {
  AppendInt32(out_, 8);
  AppendInt64(out_, v);
}

std::string ArrayWriter::Finish() && { return std::move(out_); }

std::string EncodeArray(uint32_t element_oid, const std::vector<std::string>& elements) {
  size_t bytes = 0;
  for (const auto& e : elements) bytes += e.size();
  ArrayWriter writer(element_oid, elements.size(), bytes);
  for (const auto& e : elements) writer.Add(e);
  return std::move(writer).Finish();
}

void FormatArrayLiteral(std::string& out, const std::vector<std::string>& elements) {
  out.assign("{");
  for (const std::string& e : elements) {
    if (out.size() > 1) out.push_back(',');
    out.push_back('"');
    for (char c : e) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
}

Result<int64_t> DecodeInt64(std::string_view bytes) {
  if (bytes.size() != 8)
    return Status::Internal("int8 of " + std::to_string(bytes.size()) + " bytes");
  return static_cast<int64_t>(ReadBigEndian(bytes, 8));
}

Result<std::vector<std::string>> DecodeTextArray(std::string_view bytes) {
  Reader in(bytes);
  const int32_t dimensions = in.Int32();
  in.Int32();  // has-NULLs flag: checked per element below
  in.Int32();  // element type
  std::vector<std::string> elements;
  if (in.ok() && dimensions == 0) return elements;
  if (dimensions != 1)
    return Status::Internal("text[] with " + std::to_string(dimensions) + " dimensions");
  const int32_t count = in.Int32();
  in.Int32();  // lower bound
  for (int32_t i = 0; in.ok() && i < count; ++i) {
    const int32_t length = in.Int32();
    if (length < 0) return Status::Internal("text[] with a NULL element");
    elements.emplace_back(in.Bytes(static_cast<size_t>(length)));
  }
  if (!in.ok()) return Status::Internal("truncated text[]");
  return elements;
}

}  // namespace tiercache::postgres
