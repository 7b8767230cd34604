// Unit tests of value compression: the codecs (zstd, lz4) round trip and refuse damaged or
// oversized input; L1 keeps large values compressed and hands back the bytes written; a
// lower tier behind CompressingTier stores them compressed and marked, and any instance
// reads them back.

#include "core/compression.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "core/compressing_tier.h"
#include "core/l1_store.h"
#include "tests/core/fake_tier.h"
#include "tests/core/status_printer.h"
#include "tests/core/sync_service.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

// About 64 KiB of JSON, as an API response cached whole would be.
std::string JsonDocument(size_t bytes = 64 * 1024) {
  std::string doc = "{\"users\": [";
  for (int i = 0; doc.size() < bytes - 64; ++i) {
    if (i > 0) doc += ", ";
    doc += "{\"id\": " + std::to_string(i) + ", \"name\": \"user " + std::to_string(i) +
           "\", \"active\": " + (i % 3 == 0 ? "false" : "true") + "}";
  }
  doc += "]}";
  return doc;
}

std::string RandomBytes(size_t n) {
  std::mt19937_64 rng(42);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

TEST_CASE("Compression: EachCodecRoundTripsAJsonDocumentByteForByteAndShrinksIt",
          "[compression]") {
  const std::string doc = JsonDocument();
  for (const auto codec : {CompressionCodec::kZstd, CompressionCodec::kLz4}) {
    INFO(CompressionCodecName(codec));
    Compressor c({codec, 1024});
    const auto packed = c.Compress(doc);
    REQUIRE(packed);
    CHECK(packed->size() < doc.size() / 4);
    auto back = c.Decompress(*packed);
    REQUIRE(back.ok());
    CHECK(*back == doc);
    const CompressionStats s = c.Stats();
    CHECK(s.compressed == 1);
    CHECK(s.bytes_in == doc.size());
    CHECK(s.bytes_out == packed->size());
    CHECK(s.ratio() < 0.25);
    CHECK(s.decompressed == 1);
  }
}

TEST_CASE("Compression: ShortOrIncompressibleValuesStayAsTheyAre", "[compression]") {
  Compressor c({CompressionCodec::kZstd, 1024});
  CHECK_FALSE(c.Compress(std::string(1023, 'a')));  // under min_bytes
  CHECK_FALSE(c.Compress(RandomBytes(8192)));        // saves nothing
  CHECK(c.Stats().incompressible == 1);
  CHECK(c.Stats().compressed == 0);
  CHECK_FALSE(Compressor({CompressionCodec::kNone, 1}).Compress(JsonDocument()));
}

TEST_CASE("Compression: DamagedOrOversizedInputIsRefused", "[compression]") {
  const std::string doc = JsonDocument();
  for (const auto codec : {CompressionCodec::kZstd, CompressionCodec::kLz4}) {
    INFO(CompressionCodecName(codec));
    Compressor c({codec, 1});
    std::string packed = *c.Compress(doc);
    CHECK(c.Decompress(codec, packed, doc.size() - 1).status().code() ==
          StatusCode::kInvalidArgument);
    CHECK(c.Decompress(codec, packed.substr(0, packed.size() / 2)).status().code() ==
          StatusCode::kInvalidArgument);
    CHECK(c.Decompress(codec, "not compressed at all").status().code() ==
          StatusCode::kInvalidArgument);
    CHECK(c.Stats().failures == 3);
  }
}

L1Options CompressingL1(CompressionCodec codec) {
  L1Options o;
  o.shards = 2;
  o.max_entries = 1000;
  o.max_bytes = 1 << 24;
  o.compress_min_bytes = 1024;
  o.compression = codec;
  return o;
}

TEST_CASE("Compression: L1KeepsALargeValueCompressedAndReturnsTheBytesWritten",
          "[compression][l1]") {
  const std::string doc = JsonDocument();
  L1Options plain = CompressingL1(CompressionCodec::kZstd);
  plain.compress_min_bytes = 0;
  L1Store uncompressed(plain, AdaptiveOptions{}, Clock::System());
  REQUIRE(uncompressed.Set("doc", std::make_shared<const std::string>(doc), {}, {}).ok());
  for (const auto codec : {CompressionCodec::kZstd, CompressionCodec::kLz4}) {
    INFO(CompressionCodecName(codec));
    L1Store l1(CompressingL1(codec), AdaptiveOptions{}, Clock::System());
    REQUIRE(l1.Set("doc", std::make_shared<const std::string>(doc), {"t"}, {}, SetMode::kReplace,
                   MakeContentType("application/json"))
                .ok());
    REQUIRE(l1.Set("small", std::make_shared<const std::string>("tiny"), {}, {}).ok());
    auto hit = l1.Get("doc");
    REQUIRE(hit);
    CHECK(*hit->value == doc);
    CHECK(ContentTypeText(hit->content_type) == "application/json");
    CHECK(l1.Inspect("doc")->compressed);
    CHECK_FALSE(l1.Inspect("small")->compressed);
    // Charged (and held) as stored.
    CHECK(l1.Inspect("doc")->charge * 4 < uncompressed.Inspect("doc")->charge);
    const L1Stats stats = l1.Stats();
    REQUIRE(stats.compression);
    CHECK(stats.compression->compressed == 1);
    CHECK(stats.compression->decompressed == 1);
    CHECK(stats.bytes < uncompressed.Stats().bytes / 4);

    // An update sees the value as written, and what it writes is compressed again.
    REQUIRE(l1.Update("doc", [&](const L1Current* current) {
                REQUIRE(current != nullptr);
                CHECK(*current->value == doc);
                L1Change change;
                change.action = L1Change::Action::kWrite;
                change.value =
                    std::make_shared<const std::string>(std::string(*current->value) + "!");
                return change;
              }).ok());
    CHECK(*l1.Get("doc")->value == doc + "!");
    CHECK(l1.Inspect("doc")->compressed);
    // The hot set's values are the bytes written, too.
    const auto hot = l1.Hottest(10, true);
    REQUIRE(hot.size() == 1);
    CHECK(*hot[0].value == doc + "!");
  }
}

TEST_CASE("Compression: ALowerTierStoresValuesCompressedAndMarkedAndReadsThemBack",
          "[compression][tiers]") {
  const std::string doc = JsonDocument();
  auto fake = std::make_unique<test::FakeTier>("L2");
  test::FakeTier* stored = fake.get();
  CompressingTier tier(std::move(fake), {CompressionCodec::kZstd, 1024});
  TierWrite w{"doc", std::make_shared<const std::string>(doc), {"t"}, 60s,
              MakeContentType("application/json")};
  REQUIRE(test::Await<Status>([&](auto done) { tier.Set(w, done); }).ok());
  TierWrite small{"small", std::make_shared<const std::string>("tiny"), {}, 60s, nullptr};
  REQUIRE(test::Await<Status>([&](auto done) { tier.SetBatch({small}, done); }).ok());

  const auto raw = stored->Peek("doc");
  REQUIRE(raw);
  CHECK(raw->value.size() < doc.size() / 4);
  CHECK(raw->content_type == "\x1fzstd\x1f" "application/json");
  CHECK(stored->Peek("small")->value == "tiny");
  CHECK(stored->Peek("small")->content_type.empty());

  auto back = test::Await<Result<TierEntry>>([&](auto done) { tier.Get("doc", done); });
  REQUIRE(back.ok());
  CHECK(back->value == doc);
  CHECK(back->content_type == "application/json");
  CHECK(back->tags == std::vector<std::string>{"t"});

  // An instance configured without compression (or with lz4) reads it all the same.
  auto other_fake = std::make_unique<test::FakeTier>("L2");
  test::FakeTier* other_raw = other_fake.get();
  CompressingTier other(std::move(other_fake), {CompressionCodec::kNone, 1024});
  {  // the stored entry, as the first instance left it in the shared backend
    TierWrite again{"doc", std::make_shared<const std::string>(raw->value), {}, 60s,
                    MakeContentType(raw->content_type)};
    REQUIRE(test::Await<Status>([&](auto done) { other_raw->Set(again, done); }).ok());
  }
  back = test::Await<Result<TierEntry>>([&](auto done) { other.Get("doc", done); });
  REQUIRE(back.ok());
  CHECK(back->value == doc);

  // Bytes that do not decompress read as a miss.
  {
    TierWrite damaged{"doc", std::make_shared<const std::string>("garbage"), {}, 60s,
                      MakeContentType(raw->content_type)};
    REQUIRE(test::Await<Status>([&](auto done) { other_raw->Set(damaged, done); }).ok());
  }
  back = test::Await<Result<TierEntry>>([&](auto done) { other.Get("doc", done); });
  CHECK(back.status().code() == StatusCode::kNotFound);
}

}  // namespace
}  // namespace tiercache
