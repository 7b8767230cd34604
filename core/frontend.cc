#include "core/frontend.h"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace tiercache {

namespace {

// Names are added under the mutex and never change once their slot is published, so
// readers (rendering metrics, labels) need no lock.
struct Registry {
  std::mutex mu;
  std::array<std::string, Frontend::kMax> names{"internal"};
  std::atomic<size_t> count{1};
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace

Frontend Frontend::Named(std::string_view name) {
  Registry& r = TheRegistry();
  std::lock_guard lock(r.mu);
  const size_t count = r.count.load(std::memory_order_relaxed);
  for (size_t i = 0; i < count; ++i) {
    if (r.names[i] == name) return Frontend(static_cast<uint8_t>(i));
  }
  if (count == kMax) {
    std::fprintf(stderr, "tiercache: more than %zu front ends named\n", kMax);
    std::abort();
  }
  r.names[count] = std::string(name);
  r.count.store(count + 1, std::memory_order_release);
  return Frontend(static_cast<uint8_t>(count));
}

size_t Frontend::Count() { return TheRegistry().count.load(std::memory_order_acquire); }

std::string_view Frontend::name() const { return TheRegistry().names[index_]; }

}  // namespace tiercache
