#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/compression.h"
#include "core/tier.h"

namespace tiercache {

// A lower tier whose values are compressed on the way in and decompressed on the way out
// (tiers[].compression), whatever the backend: TieredCache puts one around every lower
// tier. A compressed entry is stored with the content type kCompressedMark + codec +
// kCompressedMark + its own content type, so that it reads back right whichever codec (if
// any) the reading instance is configured with; no content type a client may give starts
// with the mark (ValidateContentType admits visible ASCII and spaces only). An entry whose
// bytes do not decompress reads as a miss.
class CompressingTier final : public Tier {
 public:
  static constexpr char kCompressedMark = '\x1f';

  CompressingTier(std::unique_ptr<Tier> inner, CompressionOptions options);

  std::string_view name() const override { return inner_->name(); }
  std::string_view kind() const override { return inner_->kind(); }
  void Get(std::string key, Callback<Result<TierEntry>> done) override;
  void Set(TierWrite write, Callback<Status> done) override;
  void SetBatch(std::vector<TierWrite> writes, Callback<Status> done) override;
  void Delete(std::string key, Callback<Result<bool>> done) override {
    inner_->Delete(std::move(key), std::move(done));
  }
  void InvalidateTags(std::vector<std::string> tags, Callback<Result<uint64_t>> done) override {
    inner_->InvalidateTags(std::move(tags), std::move(done));
  }
  void InvalidateMatching(std::shared_ptr<const KeyPattern> pattern,
                          Callback<Result<uint64_t>> done) override {
    inner_->InvalidateMatching(std::move(pattern), std::move(done));
  }
  void Clear(Callback<Result<uint64_t>> done) override { inner_->Clear(std::move(done)); }
  void Ping(Callback<Status> done) override { inner_->Ping(std::move(done)); }
  TagIndexStats tag_index() const override { return inner_->tag_index(); }
  bool supports_increment() const override { return inner_->supports_increment(); }
  void Increment(std::string key, int64_t delta, Duration ttl_if_new,
                 Callback<Result<TierCounter>> done) override {
    inner_->Increment(std::move(key), delta, ttl_if_new, std::move(done));
  }

  bool supports_counters() const override { return inner_->supports_counters(); }
  void AddToCounter(std::string name, int64_t delta, Callback<Result<int64_t>> done) override {
    inner_->AddToCounter(std::move(name), delta, std::move(done));
  }

  const Compressor& compressor() const { return compressor_; }

  // The write as stored: compressed and marked, or as it is.
  TierWrite Packed(TierWrite write) const;
  // The entry as written: unmarked and decompressed; kNotFound if it does not decompress.
  Status Unpack(TierEntry& entry) const;

 private:
  // Before the tier: a tier being destroyed answers what is pending, through Unpack.
  const Compressor compressor_;
  const std::unique_ptr<Tier> inner_;
};

}  // namespace tiercache
