#include "core/namespaces.h"

#include <algorithm>

namespace tiercache {

struct Namespaces::Space {
  std::string name;
  std::string prefix;
  std::atomic<uint64_t> version{1};
  std::atomic<uint64_t> reads{0}, hits{0}, writes{0}, deletes{0}, bumps{0};
  std::atomic<int64_t> bumped_at_ms{-1};
};

Namespaces::Namespaces(std::vector<NamespaceConfig> configs) {
  for (auto& c : configs) {
    auto space = std::make_unique<Space>();
    space->name = std::move(c.name);
    space->prefix = std::move(c.prefix);
    space->version.store(std::max<uint64_t>(1, c.version));
    spaces_.push_back(std::move(space));
  }
}

Namespaces::~Namespaces() = default;

std::optional<size_t> Namespaces::Find(std::string_view name) const {
  for (size_t i = 0; i < spaces_.size(); ++i) {
    if (spaces_[i]->name == name) return i;
  }
  return std::nullopt;
}

const std::string& Namespaces::name(size_t index) const { return spaces_[index]->name; }

std::string Namespaces::Scope(size_t index) const {
  const Space& s = *spaces_[index];
  return s.prefix + "v" + std::to_string(s.version.load(std::memory_order_acquire)) + ":";
}

std::optional<size_t> Namespaces::Owner(std::string_view stored_key) const {
  // No prefix starts another (config/ checks), so at most one matches.
  for (size_t i = 0; i < spaces_.size(); ++i) {
    if (stored_key.starts_with(spaces_[i]->prefix)) return i;
  }
  return std::nullopt;
}

uint64_t Namespaces::version(size_t index) const {
  return spaces_[index]->version.load(std::memory_order_acquire);
}

bool Namespaces::RaiseTo(size_t index, uint64_t version, WallTime now) {
  Space& s = *spaces_[index];
  uint64_t current = s.version.load(std::memory_order_acquire);
  while (current < version) {
    if (s.version.compare_exchange_weak(current, version, std::memory_order_acq_rel)) {
      s.bumps.fetch_add(1, std::memory_order_relaxed);
      s.bumped_at_ms.store(UnixMillis(now), std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

void Namespaces::CountRead(std::string_view stored_key, bool hit) {
  if (auto i = Owner(stored_key)) {
    spaces_[*i]->reads.fetch_add(1, std::memory_order_release);
    if (hit) spaces_[*i]->hits.fetch_add(1, std::memory_order_release);
  }
}

void Namespaces::CountWrite(std::string_view stored_key) {
  if (auto i = Owner(stored_key)) spaces_[*i]->writes.fetch_add(1, std::memory_order_relaxed);
}

void Namespaces::CountDelete(std::string_view stored_key) {
  if (auto i = Owner(stored_key)) spaces_[*i]->deletes.fetch_add(1, std::memory_order_relaxed);
}

std::vector<NamespaceStatus> Namespaces::Status() const {
  std::vector<NamespaceStatus> out;
  for (const auto& s : spaces_) {
    NamespaceStatus n;
    n.name = s->name;
    n.prefix = s->prefix;
    n.version = s->version.load(std::memory_order_acquire);
    // Hits first: a read counted between the two loads cannot make hits exceed reads.
    n.hits = s->hits.load(std::memory_order_acquire);
    n.reads = s->reads.load(std::memory_order_acquire);
    n.writes = s->writes.load(std::memory_order_relaxed);
    n.deletes = s->deletes.load(std::memory_order_relaxed);
    n.bumps = s->bumps.load(std::memory_order_relaxed);
    if (const int64_t ms = s->bumped_at_ms.load(std::memory_order_relaxed); ms >= 0) {
      n.bumped_at = WallTime(std::chrono::milliseconds(ms));
    }
    out.push_back(std::move(n));
  }
  return out;
}

std::vector<std::pair<std::string, uint64_t>> Namespaces::Versions() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& s : spaces_) out.emplace_back(s->name, s->version.load());
  return out;
}

}  // namespace tiercache
