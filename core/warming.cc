#include "core/warming.h"

#include <algorithm>
#include <condition_variable>
#include <utility>

namespace tiercache {

namespace {

// A run that finds every warming slot taken tries again after this.
constexpr auto kBusyRetry = std::chrono::seconds(1);

}  // namespace

struct WarmingEngine::Source {
  WarmSourceOptions options;
  std::unique_ptr<WarmSource> source;
  uint32_t tier_mask = TieredWrite::kAllTiers;
  std::string job_id;  // of the periodic job

  mutable std::mutex mu;
  bool running = false;
  WarmSourceStatus totals;   // runs, failures and counts of finished runs
  std::optional<WarmRun> last;
  std::shared_ptr<WarmRun> current;  // while running; the sink updates it under mu
  TimePoint current_started{};       // of the current run, on the clock
};

// Writes one run's entries: rate bound, in-flight window, counts, coherence batches.
class WarmingEngine::Sink final : public WarmSink {
 public:
  Sink(WarmingEngine& engine, Source& source, std::shared_ptr<WarmRun> run)
      : engine_(engine), source_(source), run_(std::move(run)),
        started_(engine.clock_.Now()),
        load_at_start_(engine.requests_served_ ? engine.requests_served_() : 0) {}

  ~Sink() override {
    if (!batch_.empty()) Send();
    // Every write answered before the run is reported.
    std::unique_lock lock(mu_);
    answered_.wait(lock, [&] { return in_flight_ == 0; });
  }

  bool Put(WarmEntry entry) override {
    if (cancelled()) return false;
    TieredWrite write;
    write.key = std::move(entry.key);
    write.value = std::make_shared<const std::string>(std::move(entry.value));
    write.tags = std::move(entry.tags);
    write.content_type = MakeContentType(std::move(entry.content_type));
    write.lifetime.timeout = entry.ttl.value_or(source_.options.default_ttl);
    batch_.push_back(std::move(write));
    if (batch_.size() >= BatchSize()) Send();
    return !cancelled();
  }

  void Stored(uint64_t n) override {
    std::lock_guard lock(source_.mu);
    run_->written += n;
  }

  void Attempted(uint64_t n) override {
    std::lock_guard lock(source_.mu);
    run_->attempted += n;
  }

  void Failed(std::string_view what, const Status& why) override {
    std::lock_guard lock(source_.mu);
    ++run_->failures;
    run_->error = std::string(what) + ": " + why.message();
  }

  bool cancelled() const override { return engine_.stopping_.load(std::memory_order_acquire); }

 private:
  // Writes go to the tiers in batches (one round trip per lower tier each), up to
  // max_in_flight entries in flight; under a rate bound, about 20 batches a second at most.
  // While yielding to serving, small batches: the same share of time writing comes in short
  // bursts, which the serving threads' tail latency feels much less than long ones.
  size_t BatchSize() const {
    size_t size = std::clamp<size_t>(source_.options.max_in_flight / 4, 1, busy_ ? 32 : 256);
    const uint64_t rate = source_.options.max_keys_per_second;
    if (rate > 0) size = std::min<size_t>(size, std::max<uint64_t>(1, rate / 20));
    return size;
  }

  // While serving is busy: one batch at a time, then a pause that leaves the batch's
  // round trip at about busy_share of the time.
  void YieldIfServingIsBusy() {
    if (!engine_.requests_served_ || engine_.busy_requests_per_second_ == 0 ||
        engine_.busy_share_ >= 1.0) {
      return;
    }
    const TimePoint now = engine_.clock_.Now();
    if (!load_sampled_) {  // the first look: the rate since the run started
      load_sampled_ = true;
      load_checked_at_ = started_;
      load_served_ = load_at_start_;
    }
    if (now - load_checked_at_ >= kLoadWindow || !load_decided_) {
      load_decided_ = true;
      const uint64_t served = engine_.requests_served_();
      // At least 10 ms: a first look right at the start must not divide by nothing.
      const double seconds =
          std::max(0.01, std::chrono::duration<double>(now - load_checked_at_).count());
      busy_ = static_cast<double>(served - load_served_) / seconds >=
              static_cast<double>(engine_.busy_requests_per_second_);
      load_checked_at_ = now;
      load_served_ = served;
    }
    if (!busy_) return;
    {
      std::unique_lock lock(mu_);
      answered_.wait(lock, [&] { return in_flight_ == 0; });
    }
    const double share = engine_.busy_share_;
    SleepUntil(engine_.clock_.Now() +
               std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                   last_round_trip_.load(std::memory_order_relaxed) * (1 - share) / share)));
  }

  // Waits on the engine's clock until `until`, or until the engine stops.
  void SleepUntil(TimePoint until) {
    std::unique_lock lock(engine_.wake_mu_);
    engine_.wake_.WaitUntil(lock, until, [&] { return cancelled(); });
  }

  void Send() {
    const size_t n = batch_.size();
    Pace(n);
    YieldIfServingIsBusy();
    {
      std::unique_lock lock(mu_);
      answered_.wait(lock, [&] {
        return in_flight_ == 0 || in_flight_ + n <= source_.options.max_in_flight;
      });
      in_flight_ += n;
    }
    std::vector<std::string> keys;
    if (engine_.publisher_ != nullptr) {
      keys.reserve(n);
      for (const TieredWrite& w : batch_) keys.push_back(w.key);
    }
    std::vector<TieredWrite> batch;
    batch.swap(batch_);
    const TimePoint sent = engine_.clock_.Now();
    engine_.cache_.SetBatch(
        std::move(batch), source_.tier_mask,
        [this, n, sent, keys = std::move(keys)](TieredCache::BatchResult r) mutable {
          last_round_trip_.store(
              std::chrono::duration<double>(engine_.clock_.Now() - sent).count(),
              std::memory_order_relaxed);
          {
            std::lock_guard lock(source_.mu);
            run_->written += r.stored;
            run_->failures += r.failed;
            if (!r.error.empty()) run_->error = r.error;
          }
          if (engine_.publisher_ != nullptr && !keys.empty()) {
            engine_.publisher_->Publish(CoherenceMessage::Kind::kKeys, std::move(keys));
          }
          std::lock_guard lock(mu_);
          in_flight_ -= n;
          answered_.notify_all();
        });
  }

  // Keeps the run at max_keys_per_second: a batch goes once its last key is due (the n-th
  // key n / rate seconds in). One wait a batch, not a wakeup a key: paced per key, a
  // 5,000 keys/s run woke its thread 5,000 times a second, each wakeup taking the CPU from a
  // serving thread. A Stop ends the wait at once.
  void Pace(size_t n) {
    const uint64_t rate = source_.options.max_keys_per_second;
    if (rate == 0) return;
    paced_ += n;
    SleepUntil(started_ + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                              static_cast<double>(paced_) / static_cast<double>(rate))));
  }

  WarmingEngine& engine_;
  Source& source_;
  const std::shared_ptr<WarmRun> run_;
  const TimePoint started_;
  uint64_t paced_ = 0;  // the source's thread only
  // Serving load, sampled by the source's thread at most every kLoadWindow.
  static constexpr auto kLoadWindow = std::chrono::milliseconds(100);
  const uint64_t load_at_start_;
  TimePoint load_checked_at_{};
  uint64_t load_served_ = 0;
  bool load_sampled_ = false, load_decided_ = false;
  bool busy_ = false;
  std::atomic<double> last_round_trip_{0};  // seconds, of the last batch answered
  std::mutex mu_;
  std::condition_variable answered_;
  size_t in_flight_ = 0;
  std::vector<TieredWrite> batch_;  // the source's thread only
};

WarmingEngine::WarmingEngine(TieredCache& cache, Scheduler& scheduler,
                             unsigned max_concurrent_runs, const Clock& clock,
                             ChangePublisher* publisher)
    : cache_(cache),
      scheduler_(scheduler),
      max_concurrent_runs_(std::max(1u, max_concurrent_runs)),
      clock_(clock),
      publisher_(publisher),
      wake_(clock) {}

WarmingEngine::~WarmingEngine() { Stop(); }

void WarmingEngine::Stop() {
  {
    std::lock_guard lock(wake_mu_);
    stopping_.store(true, std::memory_order_release);
  }
  wake_.NotifyAll();
}

uint32_t WarmingEngine::TierMask(const std::vector<std::string>& names, Status& error) const {
  if (names.empty()) return TieredWrite::kAllTiers;
  const std::vector<std::string> lower = cache_.LowerTierNames();
  uint32_t mask = 0;
  for (const std::string& name : names) {
    if (name == "L1") {
      mask |= 1;
      continue;
    }
    auto it = std::find(lower.begin(), lower.end(), name);
    if (it == lower.end()) {
      error = Status::InvalidArgument("no tier named '" + name + "'");
      return 0;
    }
    mask |= uint32_t{1} << (1 + (it - lower.begin()));
  }
  return mask;
}

Status WarmingEngine::Add(WarmSourceOptions options, std::unique_ptr<WarmSource> source) {
  for (const auto& s : sources_) {
    if (s->options.name == options.name) {
      return Status::InvalidArgument("two warming sources are named '" + options.name + "'");
    }
  }
  auto added = std::make_unique<Source>();
  Status error;
  added->tier_mask = TierMask(options.tiers, error);
  if (!error.ok()) {
    return Status::InvalidArgument("warming source " + options.name + ": " + error.message());
  }
  added->totals.name = options.name;
  added->totals.kind = std::string(source->kind());
  added->totals.interval = options.interval;
  added->options = std::move(options);
  added->source = std::move(source);
  sources_.push_back(std::move(added));
  return Status::Ok();
}

void WarmingEngine::Start() {
  for (auto& s : sources_) {
    Source* source = s.get();
    const std::string description = source->totals.kind + " source " + source->options.name;
    if (source->options.on_start) {
      scheduler_.ScheduleAfter(Duration::zero(), std::string(kKind), description,
                               [this, source] { Run(*source); });
    }
    if (source->options.interval > Duration::zero()) {
      source->job_id = scheduler_.ScheduleEvery(
          source->options.interval,
          clock_.WallNow() + std::chrono::duration_cast<WallTime::duration>(
                                 source->options.interval),
          std::string(kKind), description, [this, source] { Run(*source); });
    }
  }
}

Status WarmingEngine::RunNow(std::string_view name) {
  for (auto& s : sources_) {
    if (s->options.name != name) continue;
    {
      std::lock_guard lock(s->mu);
      if (s->running) {
        return Status::Unavailable("warming source " + s->options.name + " is running already");
      }
    }
    Source* source = s.get();
    scheduler_.ScheduleAfter(Duration::zero(), std::string(kKind),
                             source->totals.kind + " source " + source->options.name +
                                 " (on demand)",
                             [this, source] { Run(*source); });
    return Status::Ok();
  }
  return Status::NotFound("no warming source named '" + std::string(name) + "'");
}

void WarmingEngine::Run(Source& source) {
  if (stopping_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard lock(mu_);
    if (running_ >= max_concurrent_runs_) {
      // Every warming slot is taken: try again shortly rather than hold a worker.
      scheduler_.ScheduleAfter(kBusyRetry, std::string(kKind),
                               source.totals.kind + " source " + source.options.name +
                                   " (waiting for a slot)",
                               [this, &source] { Run(source); });
      return;
    }
    std::lock_guard source_lock(source.mu);
    // A run never overlaps itself: a schedule or request that comes while it runs is
    // dropped, the run going on serves it.
    if (source.running) return;
    source.running = true;
    ++running_;
  }
  auto run = std::make_shared<WarmRun>();
  run->started = clock_.WallNow();
  run->running = true;
  const TimePoint started = clock_.Now();
  {
    std::lock_guard lock(source.mu);
    source.current = run;
    source.current_started = started;
  }
  Status result;
  {
    Sink sink(*this, source, run);
    result = source.source->Run(sink);
  }  // the sink waits for every write
  {
    std::lock_guard lock(source.mu);
    run->duration = clock_.Now() - started;
    run->running = false;
    run->ok = result.ok();
    if (!result.ok()) run->error = result.message();
    source.totals.runs += 1;
    source.totals.failed_runs += result.ok() ? 0 : 1;
    source.totals.attempted += run->attempted;
    source.totals.written += run->written;
    source.totals.failures += run->failures;
    source.last = *run;
    source.current.reset();
    source.running = false;
  }
  std::lock_guard lock(mu_);
  --running_;
}

std::vector<WarmSourceStatus> WarmingEngine::Sources() const {
  std::vector<WarmSourceStatus> out;
  std::vector<JobInfo> jobs = scheduler_.List();
  for (const auto& s : sources_) {
    WarmSourceStatus status;
    {
      std::lock_guard lock(s->mu);
      status = s->totals;
      if (s->current) {
        status.last = *s->current;
        status.last->duration = clock_.Now() - s->current_started;
      } else {
        status.last = s->last;
      }
    }
    for (const JobInfo& job : jobs) {
      if (job.id == s->job_id) status.next_run = job.due;
    }
    out.push_back(std::move(status));
  }
  return out;
}

}  // namespace tiercache
