#pragma once

// An in-memory lower tier for unit tests of core's multi-tier logic (promotion, single
// flight, failure handling, write-behind ordering). It answers on its own thread, as real
// tiers do, and can be told to fail or to be slow. Integration tests of the real
// backends run against real Redis and PostgreSQL servers instead.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/tier.h"

namespace tiercache::test {

class FakeTier final : public Tier {
 public:
  explicit FakeTier(std::string name) : name_(std::move(name)) {
    worker_ = std::thread([this] { Run(); });
  }
  ~FakeTier() override {
    if (calls_watch_->inside.load() > 0) calls_watch_->destroyed_during_one.store(true);
    ReleaseBatches();
    ReleaseRemovals();
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }

  std::string_view name() const override { return name_; }
  std::string_view kind() const override { return "fake"; }

  void Get(std::string key, Callback<Result<TierEntry>> done) override {
    get_calls.fetch_add(1);
    const auto watch = calls_watch_;
    const int linger_ms = linger_in_get_ms.load();
    watch->inside.fetch_add(1);
    Post([this, key, done] {
      if (Status s = Failure(); !s.ok()) return done(s);
      std::this_thread::sleep_for(std::chrono::milliseconds(get_delay_ms.load()));
      std::lock_guard lock(data_mu_);
      auto it = data_.find(key);
      if (it == data_.end()) return done(Status::NotFound("miss"));
      done(it->second);
    });
    // Only what outlives the tier from here on: it may be answered, and destroyed, already.
    std::this_thread::sleep_for(std::chrono::milliseconds(linger_ms));
    watch->inside.fetch_sub(1);
  }
  void Set(TierWrite w, Callback<Status> done) override {
    set_calls.fetch_add(1);
    Post([this, w, done] {
      if (Status s = Failure(); !s.ok()) return done(s);
      Put(w);
      done(Status::Ok());
    });
  }
  void SetBatch(std::vector<TierWrite> writes, Callback<Status> done) override {
    batch_calls.fetch_add(1);
    const int pending = batches_pending.fetch_add(1) + 1;
    for (int seen = max_batches_pending.load(); seen < pending &&
                                                !max_batches_pending.compare_exchange_weak(seen, pending);) {
    }
    Post([this, writes, done] {
      {
        std::unique_lock lock(hold_mu_);
        hold_cv_.wait(lock, [&] { return !hold_batches_; });
      }
      if (clock_ != nullptr) {
        clock_->Advance(std::chrono::milliseconds(batch_delay_ms.load()));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(batch_delay_ms.load()));
      }
      batches_pending.fetch_sub(1);
      if (Status s = Failure(); !s.ok()) return done(s);
      for (const auto& w : writes) Put(w);
      done(Status::Ok());
    });
  }
  void Delete(std::string key, Callback<Result<bool>> done) override {
    PostRemoval([this, key, done] {
      if (Status s = Failure(); !s.ok()) return done(s);
      std::lock_guard lock(data_mu_);
      done(data_.erase(key) > 0);
    });
  }
  void InvalidateTags(std::vector<std::string> tags, Callback<Result<uint64_t>> done) override {
    RemoveIf([tags](const std::string&, const TierEntry& e) {
      for (const auto& t : e.tags) {
        for (const auto& u : tags) if (t == u) return true;
      }
      return false;
    }, done);
  }
  void InvalidateMatching(std::shared_ptr<const KeyPattern> pattern,
                          Callback<Result<uint64_t>> done) override {
    RemoveIf([pattern](const std::string& k, const TierEntry&) { return pattern->Matches(k); },
             done);
  }
  void Clear(Callback<Result<uint64_t>> done) override {
    RemoveIf([](const std::string&, const TierEntry&) { return true; }, done);
  }
  void Ping(Callback<Status> done) override {
    Post([this, done] {
      done(ping_failing.load() ? Status::Unavailable(name_ + " fails its probes") : Failure());
    });
  }
  TagIndexStats tag_index() const override { return {}; }

  // From now on a batch takes batch_delay_ms of `clock`, which the tier's thread advances,
  // instead of sleeping that long. Before the first batch.
  void TakeTimeOn(FakeClock* clock) { clock_ = clock; }
  // Batches are held on the tier's thread (and everything after them waits) until
  // ReleaseBatches.
  void HoldBatches() {
    std::lock_guard lock(hold_mu_);
    hold_batches_ = true;
  }
  void ReleaseBatches() {
    {
      std::lock_guard lock(hold_mu_);
      hold_batches_ = false;
    }
    hold_cv_.notify_all();
  }

  bool supports_counters() const override { return counters_enabled.load(); }
  void AddToCounter(std::string name, int64_t delta, Callback<Result<int64_t>> done) override {
    Post([this, name, delta, done] {
      if (Status s = Failure(); !s.ok()) return done(s);
      std::lock_guard lock(data_mu_);
      done(counters_[name] += delta);
    });
  }
  int64_t Counter(const std::string& name) {
    std::lock_guard lock(data_mu_);
    return counters_[name];
  }

  void HoldRemovals() {
    std::lock_guard lock(held_mu_);
    hold_removals_ = true;
  }
  void ReleaseRemovals() {
    std::vector<std::function<void()>> held;
    {
      std::lock_guard lock(held_mu_);
      hold_removals_ = false;
      held.swap(held_removals_);
    }
    for (auto& op : held) Post(std::move(op));
  }

  // Direct access for assertions and set-up, bypassing the interface.
  void Store(const std::string& key, const std::string& value, Duration ttl,
             std::vector<std::string> tags = {}) {
    Put(TierWrite{key, std::make_shared<const std::string>(value), std::move(tags), ttl});
  }
  std::optional<TierEntry> Peek(const std::string& key) {
    std::lock_guard lock(data_mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  size_t size() {
    std::lock_guard lock(data_mu_);
    return data_.size();
  }

  // Calls of Get under way, and whether the tier was destroyed during one: kept apart from
  // the tier, so that a test can look after it is gone.
  struct CallsWatch {
    std::atomic<int> inside{0};
    std::atomic<bool> destroyed_during_one{false};
  };
  std::shared_ptr<CallsWatch> watch_calls() const { return calls_watch_; }
  // Get stays this long in the call after handing the read to the tier's thread, as a
  // client library may: the answer can come, and the tier be destroyed, before it returns.
  std::atomic<int> linger_in_get_ms{0};

  std::atomic<bool> failing{false};
  std::atomic<bool> counters_enabled{true};  // supports_counters()
  std::atomic<bool> ping_failing{false};  // health probes fail while the rest may work
  std::atomic<int> get_delay_ms{0};
  std::atomic<int> get_calls{0};
  std::atomic<int> set_calls{0};
  std::atomic<int> batch_calls{0};
  std::atomic<int> batch_delay_ms{0};       // each SetBatch takes this long
  std::atomic<int> batches_pending{0};      // sent, not yet answered
  std::atomic<int> max_batches_pending{0};  // the most at once

 private:
  Status Failure() const {
    return failing.load() ? Status::Unavailable(name_ + " is failing") : Status::Ok();
  }
  void Put(const TierWrite& w) {
    std::lock_guard lock(data_mu_);
    data_[w.key] = TierEntry{*w.value, w.tags, w.ttl, std::string(ContentTypeText(w.content_type))};
  }
  template <class Pred>
  void RemoveIf(Pred pred, Callback<Result<uint64_t>> done) {
    PostRemoval([this, pred, done] {
      if (Status s = Failure(); !s.ok()) return done(s);
      std::lock_guard lock(data_mu_);
      uint64_t n = 0;
      for (auto it = data_.begin(); it != data_.end();) {
        if (pred(it->first, it->second)) {
          it = data_.erase(it);
          ++n;
        } else {
          ++it;
        }
      }
      done(n);
    });
  }
  // A removal runs in turn, or, while removals are held, once released: reads go on
  // meanwhile and still find what it will remove (a backend that has not got to it yet).
  void PostRemoval(std::function<void()> op) {
    {
      std::lock_guard lock(held_mu_);
      if (hold_removals_) {
        held_removals_.push_back(std::move(op));
        return;
      }
    }
    Post(std::move(op));
  }
  void Post(std::function<void()> op) {
    {
      std::lock_guard lock(mu_);
      ops_.push_back(std::move(op));
    }
    cv_.notify_one();
  }
  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !ops_.empty(); });
      if (ops_.empty()) return;
      auto op = std::move(ops_.front());
      ops_.pop_front();
      lock.unlock();
      op();
      lock.lock();
    }
  }

  const std::string name_;
  const std::shared_ptr<CallsWatch> calls_watch_ = std::make_shared<CallsWatch>();
  FakeClock* clock_ = nullptr;
  std::mutex hold_mu_;
  std::condition_variable hold_cv_;
  bool hold_batches_ = false;
  std::mutex data_mu_;
  std::map<std::string, TierEntry> data_;
  std::map<std::string, int64_t> counters_;
  std::mutex held_mu_;
  bool hold_removals_ = false;                       // guarded by held_mu_
  std::vector<std::function<void()>> held_removals_;  // guarded by held_mu_
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> ops_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace tiercache::test
