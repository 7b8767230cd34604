// The coherence messages' wire format:
//
//   version (1 byte, kFormatVersion)  kind (1 byte)
//   varint origin length, origin bytes
//   varint item count, then per item: varint length, bytes
//
// Varints are unsigned LEB128 (7 bits a byte, low group first), so a typical key costs one
// byte of framing. Decode trusts no length: each is checked against what is left before
// anything is allocated, and an item count can never exceed the bytes left (every item
// needs at least its length byte).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/byte_codec.h"
#include "core/coherence_bus.h"

namespace tiercache {

namespace {

using codec::PutVarint;
using codec::Reader;
using codec::VarintSize;

// Bumped on any change a reader of the old format would misread; an instance then skips
// the messages of instances of the other version rather than misapply them.
constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kLastKind = static_cast<uint8_t>(CoherenceMessage::Kind::kNamespace);

Status Malformed(const char* what) {
  return Status::InvalidArgument(std::string("malformed coherence message: ") + what);
}

}  // namespace

std::string EncodeCoherenceMessage(const CoherenceMessage& message) {
  size_t size = 2 + VarintSize(message.origin.size()) + message.origin.size() +
                VarintSize(message.items.size());
  for (const std::string& item : message.items) size += VarintSize(item.size()) + item.size();
  std::string out;
  out.reserve(size);
  out.push_back(static_cast<char>(kFormatVersion));
  out.push_back(static_cast<char>(message.kind));
  PutVarint(out, message.origin.size());
  out.append(message.origin);
  PutVarint(out, message.items.size());
  for (const std::string& item : message.items) {
    PutVarint(out, item.size());
    out.append(item);
  }
  return out;
}

Result<CoherenceMessage> DecodeCoherenceMessage(std::string_view bytes) {
  Reader in(bytes);
  uint8_t version;
  uint8_t kind;
  if (!in.Byte(version)) return Malformed("empty");
  if (version != kFormatVersion) {
    return Status::InvalidArgument("coherence message of unknown format version " +
                                   std::to_string(version));
  }
  if (!in.Byte(kind)) return Malformed("truncated before the kind");
  if (kind > kLastKind) {
    return Status::InvalidArgument("coherence message of unknown kind " + std::to_string(kind));
  }
  CoherenceMessage message;
  message.kind = static_cast<CoherenceMessage::Kind>(kind);
  if (!in.Bytes(message.origin)) return Malformed("bad or truncated origin");
  uint64_t count;
  if (!in.Varint(count)) return Malformed("bad or truncated item count");
  if (count > in.left()) return Malformed("more items than bytes left");
  message.items.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) {
    std::string item;
    if (!in.Bytes(item)) return Malformed("bad or truncated item");
    message.items.push_back(std::move(item));
  }
  if (in.left() != 0) return Malformed("trailing bytes");
  return message;
}

}  // namespace tiercache
