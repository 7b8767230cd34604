#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace tiercache {

// How a tier compresses the values it stores (l1.compression, tiers[].compression).
enum class CompressionCodec : uint8_t { kNone, kZstd, kLz4 };
std::string_view CompressionCodecName(CompressionCodec codec);  // "none", "zstd", "lz4"

struct CompressionOptions {
  CompressionCodec codec = CompressionCodec::kNone;
  // Values shorter than this are stored as they are: they gain little and cost a call.
  uint64_t min_bytes = 1024;
  // zstd's level (1 to 19): 1 is the fastest, which suits a cache; ignored by lz4.
  int level = 1;
};

// What one tier's compression did since start.
struct CompressionStats {
  CompressionCodec codec = CompressionCodec::kNone;
  uint64_t min_bytes = 0;
  uint64_t compressed = 0;      // values stored compressed
  uint64_t incompressible = 0;  // values at or over min_bytes stored as they are (gain < 1/8)
  uint64_t bytes_in = 0;        // the compressed values' sizes before
  uint64_t bytes_out = 0;       // and after
  uint64_t decompressed = 0;    // values read back
  uint64_t failures = 0;        // stored bytes that did not decompress
  Duration compress_time{0};
  Duration decompress_time{0};
  // bytes_out / bytes_in: below 1 is a gain; 1 before anything was compressed.
  double ratio() const {
    return bytes_in == 0 ? 1.0 : static_cast<double>(bytes_out) / static_cast<double>(bytes_in);
  }
};

// Compresses and decompresses values with one codec, counting what it does. Thread-safe.
//
// The compressed form is self-contained: zstd's frame records the original size, and lz4's
// block is preceded by it (a varint), so Decompress needs nothing but the bytes and the
// codec. Decompress checks the recorded size against `max_bytes` before it allocates.
class Compressor {
 public:
  explicit Compressor(CompressionOptions options);

  const CompressionOptions& options() const { return options_; }
  bool enabled() const { return options_.codec != CompressionCodec::kNone; }

  // The compressed form of `value`, or nullopt when it is shorter than min_bytes or would
  // not shrink by at least an eighth (then storing it as it is costs less to read).
  std::optional<std::string> Compress(std::string_view value) const;
  // kInvalidArgument for bytes that are not a value `codec` compressed, or that would
  // exceed `max_bytes`. Any codec may be asked: an entry a tier reads names the codec
  // that compressed it, which another instance may have chosen.
  Result<std::string> Decompress(CompressionCodec codec, std::string_view data,
                                 uint64_t max_bytes = kMaxDecompressedBytes) const;
  Result<std::string> Decompress(std::string_view data) const {
    return Decompress(options_.codec, data);
  }

  CompressionStats Stats() const;

  // Far above any value limit: what a damaged size field could claim.
  static constexpr uint64_t kMaxDecompressedBytes = uint64_t{1} << 32;

 private:
  const CompressionOptions options_;
  mutable std::atomic<uint64_t> compressed_{0}, incompressible_{0}, bytes_in_{0}, bytes_out_{0},
      decompressed_{0}, failures_{0}, compress_ns_{0}, decompress_ns_{0};
};

// The codec named `name` ("zstd", "lz4", "none").
std::optional<CompressionCodec> CompressionCodecNamed(std::string_view name);

}  // namespace tiercache
