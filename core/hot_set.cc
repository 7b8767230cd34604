#include "core/hot_set.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "core/byte_codec.h"
#include "core/tiered_cache.h"

namespace tiercache {

namespace {

constexpr std::string_view kMagic = "tiercache hot set 1\n";
constexpr size_t kChecksumBytes = 8;
// Reads through the lower tiers in flight at once while restoring.
constexpr size_t kMaxReadsInFlight = 256;

uint64_t Fnv1a(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ULL) {
  for (const char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string ErrnoText(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

// Appends to a file, checksumming what it writes; the first failure sticks.
class SnapshotWriter {
 public:
  explicit SnapshotWriter(int fd) : fd_(fd) {}

  void Put(std::string_view bytes) {
    checksum_ = Fnv1a(bytes, checksum_);
    buffer_.append(bytes);
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  bool Finish() {
    std::string trailer;
    for (int i = 0; i < 8; ++i) trailer.push_back(static_cast<char>(checksum_ >> (8 * i)));
    buffer_ += trailer;
    Flush();
    return ok_;
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;
  void Flush() {
    std::string_view rest = buffer_;
    while (ok_ && !rest.empty()) {
      const ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ok_ = false;
        break;
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
    buffer_.clear();
  }

  int fd_;
  std::string buffer_;
  uint64_t checksum_ = 0xcbf29ce484222325ULL;
  bool ok_ = true;
};

std::string EncodeEntry(const L1HotEntry& e, bool with_values, TimePoint now, WallTime wall_now) {
  std::string out;
  const bool has_value = with_values && e.value;
  codec::PutVarint(out, has_value ? 1 : 0);
  codec::PutVarint(out, e.reads);
  codec::PutBytes(out, e.key);
  if (has_value) {
    const WallTime expires =
        wall_now + std::chrono::duration_cast<WallTime::duration>(e.expires_at - now);
    codec::PutVarint(out, static_cast<uint64_t>(std::max<int64_t>(0, UnixMillis(expires))));
    codec::PutBytes(out, ContentTypeText(e.content_type));
    codec::PutVarint(out, e.tags.size());
    for (const auto& tag : e.tags) codec::PutBytes(out, tag);
    codec::PutBytes(out, *e.value);
  }
  return out;
}

bool DecodeEntry(codec::Reader& in, HotSetEntry& e) {
  uint64_t flags, reads;
  if (!in.Varint(flags) || flags > 1 || !in.Varint(reads) || reads > UINT32_MAX ||
      !in.Bytes(e.key)) {
    return false;
  }
  e.reads = static_cast<uint32_t>(reads);
  e.has_value = flags == 1;
  if (!e.has_value) return true;
  uint64_t expires_ms, tags;
  // A WallTime counts nanoseconds in 64 bits: later than that is no expiry time.
  constexpr uint64_t kMaxExpiryMs = 9'000'000'000'000;  // the year 2255
  if (!in.Varint(expires_ms) || expires_ms > kMaxExpiryMs ||
      !in.Bytes(e.content_type) || !in.Varint(tags) || tags > in.left()) {
    return false;
  }
  e.expires_at = WallTime(std::chrono::milliseconds(static_cast<int64_t>(expires_ms)));
  e.tags.resize(static_cast<size_t>(tags));
  for (auto& tag : e.tags) {
    if (!in.Bytes(tag)) return false;
  }
  return in.Bytes(e.value);
}

// Whether the service would have accepted the entry: limits may have changed since it
// was saved.
bool WithinLimits(const HotSetEntry& e, const Limits& limits) {
  if (e.key.empty() || e.key.size() > limits.max_key_bytes) return false;
  if (!e.has_value) return true;
  if (e.value.size() > limits.max_value_bytes || e.tags.size() > limits.max_tags) return false;
  for (const auto& tag : e.tags) {
    if (tag.empty() || tag.size() > limits.max_tag_bytes) return false;
  }
  return ValidateContentType(e.content_type).ok();
}

void RestoreFromValues(L1Store& l1, const Clock& clock, std::vector<HotSetEntry>& entries,
                       const Limits& limits, TimePoint deadline, HotSetReport& report) {
  const WallTime wall_now = clock.WallNow();
  for (auto& e : entries) {
    if (std::chrono::steady_clock::now() >= deadline) {
      report.timed_out = true;
      break;
    }
    if (!e.has_value || e.expires_at <= wall_now) {
      ++report.missing;
      continue;
    }
    if (!WithinLimits(e, limits)) continue;
    const Lifetime left{Lifetime::Kind::kExact,
                        std::chrono::duration_cast<Duration>(e.expires_at - wall_now)};
    const Status s = l1.Set(e.key, std::make_shared<const std::string>(std::move(e.value)),
                            std::move(e.tags), left, SetMode::kIfAbsent,
                            MakeContentType(std::move(e.content_type)));
    if (s.ok()) ++report.restored;
  }
}

void RestoreThroughTiers(TieredCache& cache, const std::vector<HotSetEntry>& entries,
                         const Limits& limits, TimePoint deadline, HotSetReport& report) {
  struct Progress {
    std::mutex mu;
    std::condition_variable changed;
    size_t in_flight = 0;
    uint64_t restored = 0, missing = 0;
  };
  // Shared with the callbacks: a read answered after the time bound lands here harmlessly.
  auto progress = std::make_shared<Progress>();
  for (const auto& e : entries) {
    if (!WithinLimits(e, limits)) continue;
    {
      std::unique_lock lock(progress->mu);
      if (!progress->changed.wait_until(lock, deadline, [&] {
            return progress->in_flight < kMaxReadsInFlight;
          })) {
        report.timed_out = true;
        break;
      }
      ++progress->in_flight;
    }
    cache.Get(e.key, [progress](Result<Hit> hit) {
      std::lock_guard lock(progress->mu);
      --progress->in_flight;
      if (hit.ok()) {
        ++progress->restored;
      } else if (hit.status().code() == StatusCode::kNotFound) {
        ++progress->missing;
      }
      progress->changed.notify_all();
    });
  }
  std::unique_lock lock(progress->mu);
  if (!progress->changed.wait_until(lock, deadline, [&] { return progress->in_flight == 0; })) {
    report.timed_out = true;
  }
  report.restored = progress->restored;
  report.missing = progress->missing;
}

}  // namespace

Status WriteHotSetFile(const std::string& path, const std::vector<L1HotEntry>& entries,
                       bool with_values, TimePoint now, WallTime wall_now,
                       const NamespaceVersions& versions) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Unavailable(ErrnoText("cannot create", temp));
  SnapshotWriter out(fd);
  out.Put(kMagic);
  std::string head;
  codec::PutVarint(head, versions.size());
  for (const auto& [name, version] : versions) {
    codec::PutBytes(head, name);
    codec::PutVarint(head, version);
  }
  codec::PutVarint(head, entries.size());
  out.Put(head);
  for (const auto& e : entries) out.Put(EncodeEntry(e, with_values, now, wall_now));
  const bool written = out.Finish();
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(temp.c_str(), path.c_str()) != 0) {
    Status s = Status::Unavailable(ErrnoText("cannot write", temp));
    std::remove(temp.c_str());
    return s;
  }
  return Status::Ok();
}

Result<HotSetSnapshot> ReadHotSetFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no hot set snapshot at " + path);
    return Status::Unavailable(ErrnoText("cannot open", path));
  }
  std::string bytes;
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = Status::Unavailable(ErrnoText("cannot read", path));
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    bytes.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  const auto corrupt = [&](std::string_view why) {
    return Status::InvalidArgument("hot set snapshot " + path + ": " + std::string(why));
  };
  if (bytes.size() < kMagic.size() + kChecksumBytes ||
      std::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    return corrupt("not a snapshot of this format");
  }
  const std::string_view body(bytes.data(), bytes.size() - kChecksumBytes);
  uint64_t stored = 0;
  for (size_t i = 0; i < kChecksumBytes; ++i) {
    stored |= uint64_t{static_cast<uint8_t>(bytes[body.size() + i])} << (8 * i);
  }
  if (Fnv1a(body) != stored) return corrupt("checksum mismatch (truncated or damaged)");
  codec::Reader in(body.substr(kMagic.size()));
  HotSetSnapshot snapshot;
  uint64_t count;
  // Counts bounded by the bytes left (a version takes two, an entry three at least), so a
  // damaged count cannot make the reader allocate more than a small multiple of the file.
  if (!in.Varint(count) || count > in.left() / 2) return corrupt("bad namespace count");
  snapshot.versions.resize(static_cast<size_t>(count));
  for (auto& [name, version] : snapshot.versions) {
    if (!in.Bytes(name) || !in.Varint(version)) return corrupt("malformed namespace version");
  }
  if (!in.Varint(count) || count > in.left() / 3) return corrupt("bad entry count");
  snapshot.entries.resize(static_cast<size_t>(count));
  for (auto& e : snapshot.entries) {
    if (!DecodeEntry(in, e)) return corrupt("malformed entry");
  }
  if (in.left() != 0) return corrupt("bytes after the last entry");
  return snapshot;
}

Result<size_t> SaveHotSet(const L1Store& l1, const Clock& clock, const HotSetOptions& options,
                          bool with_values, const NamespaceVersions& versions) {
  const std::vector<L1HotEntry> hot = l1.Hottest(options.max_keys, with_values);
  if (Status s = WriteHotSetFile(options.path, hot, with_values, clock.Now(), clock.WallNow(),
                                 versions);
      !s.ok()) {
    return s;
  }
  return hot.size();
}

std::optional<HotSetReport> RestoreHotSet(TieredCache& cache, const Clock& clock,
                                          const HotSetOptions& options, const Limits& limits) {
  const auto started = std::chrono::steady_clock::now();
  const TimePoint deadline = started + options.restore_timeout;
  auto snapshot = ReadHotSetFile(options.path);
  if (!snapshot.ok() && snapshot.status().code() == StatusCode::kNotFound) return std::nullopt;
  HotSetReport report;
  report.path = options.path;
  // Used once, read or not: a damaged file would fail the same way on every start.
  std::remove(options.path.c_str());
  if (!snapshot.ok()) {
    report.error = snapshot.status().message();
    return report;
  }
  report.versions = std::move(snapshot->versions);
  std::vector<HotSetEntry>* entries = &snapshot->entries;
  report.in_snapshot = entries->size();
  if (entries->size() > options.max_keys) entries->resize(options.max_keys);
  if (cache.has_lower_tiers()) {
    RestoreThroughTiers(cache, *entries, limits, deadline, report);
  } else {
    report.from_values = true;
    RestoreFromValues(cache.l1(), clock, *entries, limits, deadline, report);
  }
  // Refused, failed, not answered in time, or beyond max_keys.
  report.failed = report.in_snapshot - report.restored - report.missing;
  report.took = std::chrono::steady_clock::now() - started;
  return report;
}

}  // namespace tiercache
