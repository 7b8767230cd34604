#include "core/stored_response.h"

#include "core/byte_codec.h"

namespace tiercache {

namespace {

constexpr std::string_view kMagic = "TCR1";
constexpr uint8_t kMustRevalidate = 1;
constexpr uint8_t kNoCache = 2;

uint64_t Millis(Duration d) {
  return static_cast<uint64_t>(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
}

Duration FromMillis(uint64_t ms) { return std::chrono::milliseconds(ms); }

}  // namespace

std::string EncodeStoredResponse(const StoredResponse& r, std::string_view body) {
  std::string out(kMagic);
  out.push_back(static_cast<char>(r.kind));
  out.push_back(static_cast<char>((r.must_revalidate ? kMustRevalidate : 0) |
                                  (r.no_cache ? kNoCache : 0)));
  codec::PutVarint(out, r.status);
  codec::PutVarint(out, Millis(r.received.time_since_epoch()));
  codec::PutVarint(out, Millis(r.initial_age));
  codec::PutVarint(out, Millis(r.freshness));
  codec::PutVarint(out, Millis(r.stale_while_revalidate));
  codec::PutVarint(out, Millis(r.stale_if_error));
  codec::PutVarint(out, r.vary.size());
  for (const auto& [name, value] : r.vary) {
    codec::PutBytes(out, name);
    codec::PutBytes(out, value);
  }
  codec::PutVarint(out, r.headers.size());
  for (const auto& [name, value] : r.headers) {
    codec::PutBytes(out, name);
    codec::PutBytes(out, value);
  }
  out.append(body);
  return out;
}

Result<DecodedResponse> DecodeStoredResponse(std::string_view bytes) {
  const auto bad = [] { return Status::InvalidArgument("not a stored response"); };
  if (bytes.substr(0, kMagic.size()) != kMagic) return bad();
  codec::Reader in(bytes.substr(kMagic.size()));
  DecodedResponse d;
  StoredResponse& r = d.response;
  uint8_t kind = 0, flags = 0;
  uint64_t status = 0, received = 0, age = 0, fresh = 0, swr = 0, sie = 0, n = 0;
  if (!in.Byte(kind) || !in.Byte(flags) || !in.Varint(status) || !in.Varint(received) ||
      !in.Varint(age) || !in.Varint(fresh) || !in.Varint(swr) || !in.Varint(sie)) {
    return bad();
  }
  if ((kind != 1 && kind != 2) || status < 100 || status > 999) return bad();
  r.kind = static_cast<StoredResponse::Kind>(kind);
  r.must_revalidate = (flags & kMustRevalidate) != 0;
  r.no_cache = (flags & kNoCache) != 0;
  r.status = static_cast<unsigned>(status);
  r.received = WallTime(std::chrono::duration_cast<WallTime::duration>(FromMillis(received)));
  r.initial_age = FromMillis(age);
  r.freshness = FromMillis(fresh);
  r.stale_while_revalidate = FromMillis(swr);
  r.stale_if_error = FromMillis(sie);
  // Each pair takes at least two bytes: a count past that is a lie, caught before any
  // allocation.
  if (!in.Varint(n) || n > in.left() / 2) return bad();
  r.vary.resize(n);
  for (auto& [name, value] : r.vary) {
    if (!in.Bytes(name) || !in.Bytes(value)) return bad();
  }
  if (!in.Varint(n) || n > in.left() / 2) return bad();
  r.headers.resize(n);
  // The fields go back on the wire as they are: none may end a line there.
  const auto clean = [](const std::string& text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
  };
  for (auto& [name, value] : r.headers) {
    if (!in.Bytes(name) || !in.Bytes(value) || name.empty() || !clean(name) || !clean(value)) {
      return bad();
    }
  }
  d.body_offset = bytes.size() - in.left();
  return d;
}

}  // namespace tiercache
