#include "core/hot_key_source.h"

#include <condition_variable>
#include <mutex>

namespace tiercache {

namespace {

// Reads in flight at once: enough to overlap round trips, few enough to leave the tiers
// to the serving traffic.
constexpr unsigned kWindow = 32;

class HotKeySource final : public WarmSource {
 public:
  HotKeySource(TieredCache& cache, size_t top) : cache_(cache), top_(top) {}

  std::string_view kind() const override { return "hot"; }

  Status Run(WarmSink& sink) override {
    std::mutex mu;
    std::condition_variable answered;
    unsigned in_flight = 0;
    for (const std::string& key : cache_.HotLowerTierKeys(top_)) {
      if (sink.cancelled()) break;
      {
        std::unique_lock lock(mu);
        answered.wait(lock, [&] { return in_flight < kWindow; });
        ++in_flight;
      }
      sink.Attempted();
      cache_.Get(key, [&, key](Result<Hit> hit) {
        if (hit.ok()) {
          sink.Stored();
        } else {
          sink.Failed(key, hit.status());
        }
        std::lock_guard lock(mu);
        --in_flight;
        answered.notify_all();
      });
    }
    std::unique_lock lock(mu);
    answered.wait(lock, [&] { return in_flight == 0; });
    return Status::Ok();
  }

 private:
  TieredCache& cache_;
  const size_t top_;
};

}  // namespace

std::unique_ptr<WarmSource> MakeHotKeySource(TieredCache& cache, size_t top) {
  return std::make_unique<HotKeySource>(cache, top);
}

}  // namespace tiercache
