#pragma once

// Length-prefixed byte strings for the project's small binary formats (coherence
// messages, stored jobs): unsigned LEB128 varints (7 bits a byte, low group first) and a
// Reader that trusts no length, checking each against what is left before anything is
// allocated.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tiercache::codec {

// 64 bits in groups of 7.
inline constexpr int kMaxVarintBytes = 10;

inline void PutVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

inline size_t VarintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

// Reads from the front of the input, failing on anything malformed.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  size_t left() const { return rest_.size(); }

  bool Byte(uint8_t& out) {
    if (rest_.empty()) return false;
    out = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return true;
  }

  // Only the shortest form, as PutVarint writes it: a message has one encoding.
  bool Varint(uint64_t& out) {
    uint64_t value = 0;
    for (int i = 0; i < kMaxVarintBytes; ++i) {
      uint8_t byte;
      if (!Byte(byte)) return false;
      const uint64_t group = byte & 0x7f;
      // The tenth byte holds bit 63 alone.
      if (i == kMaxVarintBytes - 1 && group > 1) return false;
      value |= group << (7 * i);
      if ((byte & 0x80) == 0) {
        if (byte == 0 && i > 0) return false;  // a trailing zero group: not the shortest
        out = value;
        return true;
      }
    }
    return false;
  }

  bool Bytes(std::string& out) {
    uint64_t length;
    if (!Varint(length) || length > rest_.size()) return false;
    out.assign(rest_.data(), static_cast<size_t>(length));
    rest_.remove_prefix(static_cast<size_t>(length));
    return true;
  }

 private:
  std::string_view rest_;
};

inline void PutBytes(std::string& out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out.append(bytes);
}

}  // namespace tiercache::codec
