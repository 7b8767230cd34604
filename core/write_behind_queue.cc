#include "core/write_behind_queue.h"

#include <algorithm>
#include <future>
#include <memory>

namespace tiercache {

namespace {

// A tier answers every operation within its own command timeout; this only guards the
// flusher against a tier that breaks that promise.
constexpr auto kBatchAnswerBound = std::chrono::seconds(60);
// Pause after a refused batch, or while the tier is marked down, before trying again.
constexpr auto kRetryPause = std::chrono::milliseconds(100);

TimePoint SteadyNow() { return std::chrono::steady_clock::now(); }

}  // namespace

WriteBehindQueue::WriteBehindQueue(Tier& tier, WriteBehindOptions options,
                                   std::function<bool()> usable)
    : tier_(tier), options_(options), usable_(std::move(usable)) {
  flusher_ = std::thread([this] { Run(); });
}

WriteBehindQueue::~WriteBehindQueue() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  flusher_.join();
}

void WriteBehindQueue::Push(TierWrite write) {
  {
    std::lock_guard lock(mu_);
    ++stats_.enqueued;
    if (auto it = by_key_.find(write.key); it != by_key_.end()) {
      // The queued write would be overwritten anyway: replace it in place.
      Item& item = *it->second;
      item.write.value = std::move(write.value);
      item.write.tags = std::move(write.tags);
      item.write.ttl = write.ttl;
      item.queued_at = SteadyNow();
      ++stats_.coalesced;
      return;
    }
    if (queue_.size() >= options_.capacity) {
      ++stats_.dropped;
      if (options_.overflow == OverflowPolicy::kDropNewest || queue_.empty()) return;
      EraseLocked(queue_.begin());
    }
    queue_.push_back(Item{std::move(write), SteadyNow()});
    auto last = std::prev(queue_.end());
    by_key_.emplace(std::string_view(last->write.key), last);
  }
  wake_.notify_one();
}

void WriteBehindQueue::EraseLocked(List::iterator it) {
  by_key_.erase(std::string_view(it->write.key));
  queue_.erase(it);
}

void WriteBehindQueue::CancelIf(Predicate pred) {
  std::lock_guard lock(mu_);
  if (in_flight_) flight_cancels_.push_back(pred);
  for (auto it = queue_.begin(); it != queue_.end();) {
    auto next = std::next(it);
    if (pred(it->write)) EraseLocked(it);
    it = next;
  }
  if (queue_.empty() && !in_flight_) idle_.notify_all();
}

void WriteBehindQueue::CancelKey(std::string_view key) {
  std::lock_guard lock(mu_);
  if (in_flight_) {
    flight_cancels_.push_back([key = std::string(key)](const TierWrite& w) { return w.key == key; });
  }
  if (auto it = by_key_.find(key); it != by_key_.end()) EraseLocked(it->second);
  if (queue_.empty() && !in_flight_) idle_.notify_all();
}

void WriteBehindQueue::CancelTags(const std::vector<std::string>& tags) {
  CancelIf([tags](const TierWrite& w) {
    return std::any_of(w.tags.begin(), w.tags.end(), [&](const std::string& t) {
      return std::find(tags.begin(), tags.end(), t) != tags.end();
    });
  });
}

void WriteBehindQueue::CancelMatching(std::shared_ptr<const KeyPattern> pattern) {
  CancelIf([pattern](const TierWrite& w) { return pattern->Matches(w.key); });
}

void WriteBehindQueue::CancelAll() {
  CancelIf([](const TierWrite&) { return true; });
}

void WriteBehindQueue::RunAfterInFlight(std::function<void()> apply) {
  {
    std::lock_guard lock(mu_);
    if (in_flight_) {
      after_flight_.push_back(std::move(apply));
      return;
    }
  }
  apply();
}

uint64_t WriteBehindQueue::Drain(Duration timeout) {
  std::unique_lock lock(mu_);
  draining_ = true;
  wake_.notify_all();
  idle_.wait_for(lock, timeout, [&] { return queue_.empty() && !in_flight_; });
  return queue_.size() + (in_flight_ ? 1 : 0);
}

WriteBehindStats WriteBehindQueue::stats() const {
  std::lock_guard lock(mu_);
  WriteBehindStats s = stats_;
  s.depth = queue_.size();
  return s;
}

bool WriteBehindQueue::Flush(std::vector<Item>& batch) {
  std::vector<TierWrite> writes;
  writes.reserve(batch.size());
  const TimePoint now = SteadyNow();
  for (const Item& item : batch) {
    // The lifetime counts from the request, not from the flush.
    const Duration left = item.write.ttl - (now - item.queued_at);
    if (left <= Duration::zero()) continue;
    TierWrite w = item.write;
    w.ttl = left;
    writes.push_back(std::move(w));
  }
  if (writes.empty()) return true;
  auto answer = std::make_shared<std::promise<Status>>();
  auto future = answer->get_future();
  tier_.SetBatch(std::move(writes), [answer](Status s) { answer->set_value(std::move(s)); });
  if (future.wait_for(kBatchAnswerBound) != std::future_status::ready) return false;
  return future.get().ok();
}

void WriteBehindQueue::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    if (!draining_ && !usable_()) {
      wake_.wait_for(lock, kRetryPause, [&] { return stop_ || draining_; });
      continue;
    }
    std::vector<Item> batch;
    const size_t n = std::min(options_.batch_size, queue_.size());
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      // The index holds views into the queued item: drop it before the item moves.
      by_key_.erase(std::string_view(queue_.front().write.key));
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    in_flight_ = true;
    lock.unlock();

    const bool applied = Flush(batch);

    lock.lock();
    in_flight_ = false;
    if (applied) {
      stats_.flushed += batch.size();
    } else {
      ++stats_.failed_batches;
      // Retry in front, in order, unless a newer write of the same key arrived meanwhile
      // or room is short (then the overflow policy has already chosen the newer data).
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
        const bool cancelled =
            std::any_of(flight_cancels_.begin(), flight_cancels_.end(),
                        [&](const Predicate& covers) { return covers(it->write); });
        if (cancelled) continue;
        if (by_key_.count(it->write.key) || queue_.size() >= options_.capacity) {
          if (!by_key_.count(it->write.key)) ++stats_.dropped;
          continue;
        }
        queue_.push_front(std::move(*it));
        by_key_.emplace(std::string_view(queue_.front().write.key), queue_.begin());
      }
    }
    flight_cancels_.clear();
    std::vector<std::function<void()>> after = std::move(after_flight_);
    after_flight_.clear();
    if (queue_.empty()) idle_.notify_all();
    if (!after.empty()) {
      lock.unlock();
      for (auto& apply : after) apply();
      lock.lock();
    }
    if (!applied && !stop_) wake_.wait_for(lock, kRetryPause, [&] { return stop_; });
  }
}

}  // namespace tiercache
