#include "core/compressing_tier.h"

namespace tiercache {

CompressingTier::CompressingTier(std::unique_ptr<Tier> inner, CompressionOptions options)
    : compressor_(options), inner_(std::move(inner)) {}

TierWrite CompressingTier::Packed(TierWrite write) const {
  if (!compressor_.enabled() || !write.value) return write;
  std::optional<std::string> packed = compressor_.Compress(*write.value);
  if (!packed) return write;
  std::string type(1, kCompressedMark);
  type += CompressionCodecName(compressor_.options().codec);
  type += kCompressedMark;
  type += ContentTypeText(write.content_type);
  write.value = std::make_shared<const std::string>(std::move(*packed));
  write.content_type = std::make_shared<const std::string>(std::move(type));
  return write;
}

Status CompressingTier::Unpack(TierEntry& entry) const {
  const std::string& type = entry.content_type;
  if (type.empty() || type[0] != kCompressedMark) return Status::Ok();
  const size_t end = type.find(kCompressedMark, 1);
  const auto codec = end == std::string::npos
                         ? std::nullopt
                         : CompressionCodecNamed(std::string_view(type).substr(1, end - 1));
  if (!codec) return Status::NotFound("entry compressed with an unknown codec");
  Result<std::string> value = compressor_.Decompress(*codec, entry.value);
  if (!value.ok()) {
    return Status::NotFound("entry does not decompress: " + value.status().message());
  }
  entry.value = std::move(value).value();
  entry.content_type.erase(0, end + 1);
  return Status::Ok();
}

void CompressingTier::Get(std::string key, Callback<Result<TierEntry>> done) {
  inner_->Get(std::move(key), [this, done = std::move(done)](Result<TierEntry> entry) {
    if (entry.ok()) {
      if (Status s = Unpack(*entry); !s.ok()) return done(s);
    }
    done(std::move(entry));
  });
}

void CompressingTier::Set(TierWrite write, Callback<Status> done) {
  inner_->Set(Packed(std::move(write)), std::move(done));
}

void CompressingTier::SetBatch(std::vector<TierWrite> writes, Callback<Status> done) {
  if (compressor_.enabled()) {
    for (auto& w : writes) w = Packed(std::move(w));
  }
  inner_->SetBatch(std::move(writes), std::move(done));
}

}  // namespace tiercache
