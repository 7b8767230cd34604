// Unit tests of the coherence messages' binary encoding: every message survives a round
// trip byte for byte, and anything Encode did not make is refused without a crash.

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/coherence_bus.h"
#include "tests/core/status_printer.h"

namespace tiercache {
namespace {

using Kind = CoherenceMessage::Kind;
using namespace std::string_literals;

CoherenceMessage Message(Kind kind, std::string origin, std::vector<std::string> items) {
  CoherenceMessage m;
  m.kind = kind;
  m.origin = std::move(origin);
  m.items = std::move(items);
  return m;
}

void CheckRoundTrip(const CoherenceMessage& m) {
  const std::string bytes = EncodeCoherenceMessage(m);
  Result<CoherenceMessage> back = DecodeCoherenceMessage(bytes);
  REQUIRE(back.ok());
  CHECK(back->kind == m.kind);
  CHECK(back->origin == m.origin);
  CHECK(back->items == m.items);
}

StatusCode DecodeCode(std::string_view bytes) {
  return DecodeCoherenceMessage(bytes).status().code();
}

TEST_CASE("CoherenceMessage: EveryKindSurvivesARoundTrip", "[coherence]") {
  CheckRoundTrip(Message(Kind::kKeys, "instance-1", {"a", "user:42:profile"}));
  CheckRoundTrip(Message(Kind::kTags, "instance-1", {"user:42", "profile"}));
  CheckRoundTrip(Message(Kind::kPattern, "instance-1", {"^user:[0-9]+:profile$"}));
  CheckRoundTrip(Message(Kind::kClear, "instance-1", {}));
  CheckRoundTrip(Message(Kind::kPattern, "instance-1", {"^user:", "app:v3:"}));
  CheckRoundTrip(Message(Kind::kNamespace, "instance-1", {"app", "4"}));
}

TEST_CASE("CoherenceMessage: KeysWithNulAndHighBytesSurviveARoundTrip", "[coherence]") {
  CheckRoundTrip(Message(Kind::kKeys, "o\0rigin\xff"s,
                         {"\0"s, "a\0b"s, "\xff\xfe\x80"s, "\0\xff\0\xff"s, "\x01\x7f"s}));
}

TEST_CASE("CoherenceMessage: EmptyOriginEmptyItemsAndLongItemsSurviveARoundTrip", "[coherence]") {
  // 127/128 and 16383/16384 bytes cross the varint's one- and two-byte boundaries.
  CheckRoundTrip(Message(Kind::kKeys, "",
                         {"", std::string(127, 'x'), std::string(128, 'y'),
                          std::string(16383, '\xff'), std::string(16384, '\0'), ""}));
  std::vector<std::string> many;
  for (int i = 0; i < 1000; ++i) many.push_back("k" + std::to_string(i));
  CheckRoundTrip(Message(Kind::kKeys, "o", many));
}

TEST_CASE("CoherenceMessage: EncodingIsCompact", "[coherence]") {
  // Version, kind, origin length + 1 byte, count, then one length byte + one byte per item.
  CHECK(EncodeCoherenceMessage(Message(Kind::kKeys, "o", {"a", "b"})).size() == 2 + 2 + 1 + 4);
  CHECK(EncodeCoherenceMessage(Message(Kind::kClear, "", {})) == "\x01\x03\x00\x00"s);
}

TEST_CASE("CoherenceMessage: EveryTruncationIsRejected", "[coherence]") {
  const std::string bytes =
      EncodeCoherenceMessage(Message(Kind::kTags, "origin", {"t1", std::string(200, 'z'), "t3"}));
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("first " << n << " of " << bytes.size() << " bytes");
    CHECK(DecodeCode(std::string_view(bytes).substr(0, n)) == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("CoherenceMessage: TrailingBytesAreRejected", "[coherence]") {
  const std::string bytes = EncodeCoherenceMessage(Message(Kind::kKeys, "o", {"k"}));
  CHECK(DecodeCode(bytes + '\0') == StatusCode::kInvalidArgument);
  CHECK(DecodeCode(bytes + "garbage") == StatusCode::kInvalidArgument);
}

TEST_CASE("CoherenceMessage: UnknownVersionAndKindAreRejected", "[coherence]") {
  std::string bytes = EncodeCoherenceMessage(Message(Kind::kKeys, "o", {"k"}));
  for (char version : {'\0', '\x02', '\xff'}) {
    std::string other = bytes;
    other[0] = version;
    Result<CoherenceMessage> r = DecodeCoherenceMessage(other);
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Matchers::Contains("version"));
  }
  for (char kind : {'\x05', '\x7f', '\xff'}) {
    std::string other = bytes;
    other[1] = kind;
    Result<CoherenceMessage> r = DecodeCoherenceMessage(other);
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Matchers::Contains("kind"));
  }
}

TEST_CASE("CoherenceMessage: AbsurdLengthsAndCountsAreRejectedWithoutAllocating", "[coherence]") {
  // An origin of 2^63 bytes; then an item count of 2^64 - 1.
  CHECK(DecodeCode("\x01\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"s) ==
        StatusCode::kInvalidArgument);
  CHECK(DecodeCode("\x01\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s) ==
        StatusCode::kInvalidArgument);
  // A count a little larger than the bytes left, and an item longer than the input.
  CHECK(DecodeCode("\x01\x00\x00\x03\x00\x00"s) == StatusCode::kInvalidArgument);
  CHECK(DecodeCode("\x01\x00\x00\x01\x05"s + "abcd") == StatusCode::kInvalidArgument);
}

TEST_CASE("CoherenceMessage: MalformedVarintsAreRejected", "[coherence]") {
  // Eleven bytes, a tenth byte above bit 63, and a non-shortest form of 0 and of 1.
  CHECK(DecodeCode("\x01\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00\x00"s) ==
        StatusCode::kInvalidArgument);
  CHECK(DecodeCode("\x01\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02\x00"s) ==
        StatusCode::kInvalidArgument);
  CHECK(DecodeCode("\x01\x00\x80\x00\x00"s) == StatusCode::kInvalidArgument);
  CHECK(DecodeCode("\x01\x00\x00\x81\x00\x00"s) == StatusCode::kInvalidArgument);
  // The shortest forms of the same are fine.
  CHECK(DecodeCoherenceMessage("\x01\x00\x00\x00"s).ok());
}

TEST_CASE("CoherenceMessage: ArbitraryBytesNeverCrashTheDecoder", "[coherence]") {
  // Every two bytes after a header, and a deterministic spread of longer inputs: each is
  // decoded or refused, and a decoded one encodes back to itself.
  uint32_t state = 12345;
  const auto next = [&] {
    state = state * 1103515245u + 12345u;
    return static_cast<char>(state >> 24);
  };
  const auto check = [](const std::string& bytes) {
    Result<CoherenceMessage> r = DecodeCoherenceMessage(bytes);
    if (r.ok()) {
      CHECK(EncodeCoherenceMessage(*r) == bytes);
    } else {
      CHECK(r.status().code() == StatusCode::kInvalidArgument);
    }
  };
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      check("\x01\x00"s + static_cast<char>(a) + static_cast<char>(b));
    }
  }
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = "\x01"s + static_cast<char>(i % 4);
    const int length = static_cast<int>(static_cast<unsigned char>(next())) % 24;
    for (int j = 0; j < length; ++j) bytes.push_back(i % 2 == 0 ? next() : (next() & 0x07));
    check(bytes);
  }
}

}  // namespace
}  // namespace tiercache
