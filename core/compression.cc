#include "core/compression.h"

#include <lz4.h>
#include <zstd.h>

#include <memory>

#include "core/byte_codec.h"

namespace tiercache {

namespace {

// A compressed value must save at least an eighth to be worth decompressing on every read.
bool WorthIt(size_t original, size_t compressed) { return compressed <= original - original / 8; }

uint64_t Nanos(std::chrono::steady_clock::time_point since) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since)
          .count());
}

// One compression context per thread: making one costs more than compressing a small value.
ZSTD_CCtx* ThreadCompressionContext() {
  struct Free {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  thread_local std::unique_ptr<ZSTD_CCtx, Free> context(ZSTD_createCCtx());
  return context.get();
}

ZSTD_DCtx* ThreadDecompressionContext() {
  struct Free {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
  };
  thread_local std::unique_ptr<ZSTD_DCtx, Free> context(ZSTD_createDCtx());
  return context.get();
}

std::optional<std::string> CompressZstd(std::string_view value, int level) {
  std::string out(ZSTD_compressBound(value.size()), '\0');
  const size_t n = ZSTD_compressCCtx(ThreadCompressionContext(), out.data(), out.size(),
                                     value.data(), value.size(), level);
  if (ZSTD_isError(n)) return std::nullopt;
  out.resize(n);
  return out;
}

std::optional<std::string> CompressLz4(std::string_view value) {
  if (value.size() > static_cast<size_t>(LZ4_MAX_INPUT_SIZE)) return std::nullopt;
  std::string out;
  codec::PutVarint(out, value.size());
  const size_t header = out.size();
  out.resize(header + static_cast<size_t>(LZ4_compressBound(static_cast<int>(value.size()))));
  const int n = LZ4_compress_default(value.data(), out.data() + header,
                                     static_cast<int>(value.size()),
                                     static_cast<int>(out.size() - header));
  if (n <= 0) return std::nullopt;
  out.resize(header + static_cast<size_t>(n));
  return out;
}

Result<std::string> DecompressZstd(std::string_view data, uint64_t max_bytes) {
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Status::InvalidArgument("not a zstd frame of known size");
  }
  if (size > max_bytes) {
    return Status::InvalidArgument("zstd frame of " + std::to_string(size) +
                                   " bytes exceeds " + std::to_string(max_bytes));
  }
  std::string out(static_cast<size_t>(size), '\0');
  const size_t n = ZSTD_decompressDCtx(ThreadDecompressionContext(), out.data(), out.size(),
                                       data.data(), data.size());
  if (ZSTD_isError(n) || n != out.size()) {
    return Status::InvalidArgument(std::string("zstd: ") +
                                   (ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame"));
  }
  return out;
}

Result<std::string> DecompressLz4(std::string_view data, uint64_t max_bytes) {
  codec::Reader in(data);
  uint64_t size;
  if (!in.Varint(size) || size > static_cast<uint64_t>(LZ4_MAX_INPUT_SIZE)) {
    return Status::InvalidArgument("not an lz4 value");
  }
  if (size > max_bytes) {
    return Status::InvalidArgument("lz4 value of " + std::to_string(size) + " bytes exceeds " +
                                   std::to_string(max_bytes));
  }
  const std::string_view block = data.substr(data.size() - in.left());
  std::string out(static_cast<size_t>(size), '\0');
  const int n = LZ4_decompress_safe(block.data(), out.data(), static_cast<int>(block.size()),
                                    static_cast<int>(out.size()));
  if (n < 0 || static_cast<uint64_t>(n) != size) {
    return Status::InvalidArgument("lz4: damaged block");
  }
  return out;
}

}  // namespace

std::string_view CompressionCodecName(CompressionCodec codec) {
  switch (codec) {
    case CompressionCodec::kZstd:
      return "zstd";
    case CompressionCodec::kLz4:
      return "lz4";
    case CompressionCodec::kNone:
      break;
  }
  return "none";
}

std::optional<CompressionCodec> CompressionCodecNamed(std::string_view name) {
  for (const auto codec : {CompressionCodec::kNone, CompressionCodec::kZstd,
                           CompressionCodec::kLz4}) {
    if (CompressionCodecName(codec) == name) return codec;
  }
  return std::nullopt;
}

Compressor::Compressor(CompressionOptions options) : options_(options) {}

std::optional<std::string> Compressor::Compress(std::string_view value) const {
  if (!enabled() || value.size() < options_.min_bytes || value.empty()) return std::nullopt;
  const auto started = std::chrono::steady_clock::now();
  std::optional<std::string> out = options_.codec == CompressionCodec::kZstd
                                       ? CompressZstd(value, options_.level)
                                       : CompressLz4(value);
  compress_ns_.fetch_add(Nanos(started), std::memory_order_relaxed);
  if (!out || !WorthIt(value.size(), out->size())) {
    incompressible_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  compressed_.fetch_add(1, std::memory_order_relaxed);
  bytes_in_.fetch_add(value.size(), std::memory_order_relaxed);
  bytes_out_.fetch_add(out->size(), std::memory_order_relaxed);
  return out;
}

Result<std::string> Compressor::Decompress(CompressionCodec codec, std::string_view data,
                                           uint64_t max_bytes) const {
  const auto started = std::chrono::steady_clock::now();
  Result<std::string> out = codec == CompressionCodec::kZstd  ? DecompressZstd(data, max_bytes)
                            : codec == CompressionCodec::kLz4 ? DecompressLz4(data, max_bytes)
                                                              : Result<std::string>(
                                                                    std::string(data));
  decompress_ns_.fetch_add(Nanos(started), std::memory_order_relaxed);
  (out.ok() ? decompressed_ : failures_).fetch_add(1, std::memory_order_relaxed);
  return out;
}

CompressionStats Compressor::Stats() const {
  CompressionStats s;
  s.codec = options_.codec;
  s.min_bytes = options_.min_bytes;
  s.compressed = compressed_.load(std::memory_order_relaxed);
  s.incompressible = incompressible_.load(std::memory_order_relaxed);
  s.bytes_in = bytes_in_.load(std::memory_order_relaxed);
  s.bytes_out = bytes_out_.load(std::memory_order_relaxed);
  s.decompressed = decompressed_.load(std::memory_order_relaxed);
  s.failures = failures_.load(std::memory_order_relaxed);
  s.compress_time = Duration(compress_ns_.load(std::memory_order_relaxed));
  s.decompress_time = Duration(decompress_ns_.load(std::memory_order_relaxed));
  return s;
}

}  // namespace tiercache
