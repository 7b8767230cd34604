#include "core/stats_sampler.h"

#include <algorithm>
#include <condition_variable>
#include <utility>

#include "core/histogram_quantile.h"
#include "core/process_memory.h"

namespace tiercache {
namespace {

// Counters only grow, but a read racing with increments on other threads may see one
// counter ahead of another: never let a delta go negative.
uint64_t Delta(uint64_t now, uint64_t before) { return now >= before ? now - before : 0; }

std::optional<double> Ratio(uint64_t part, uint64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

StatsSampler::StatsSampler(CacheService& service, StatsHistory& history, const Clock& clock,
                           StatsSamplerOptions options)
    : service_(service), history_(history), clock_(clock), options_(std::move(options)) {
  MutexLock lock(mu_);
  previous_ = Read();
}

StatsSampler::~StatsSampler() { Stop(); }

StatsSampler::Counters StatsSampler::Read() const {
  Counters c;
  c.at = clock_.Now();
  const RequestMetrics& metrics = service_.request_metrics();
  for (size_t f = 0; f < Frontend::Count(); ++f) {
    const Frontend frontend = Frontend::At(f);
    for (size_t op = 0; op < kOperationCount; ++op) {
      for (size_t o = 0; o < kOutcomeCount; ++o) {
        c.requests += metrics.Requests(frontend, static_cast<Operation>(op), static_cast<Outcome>(o));
      }
    }
    c.get_hits += metrics.Requests(frontend, Operation::kGet, Outcome::kHit);
    c.get_misses += metrics.Requests(frontend, Operation::kGet, Outcome::kMiss);
    const auto buckets = metrics.LatencyBuckets(frontend, Operation::kGet);
    for (size_t b = 0; b < buckets.size(); ++b) c.get_latency[b] += buckets[b];
  }
  const L1Stats l1 = service_.cache().l1().Stats();
  c.l1_hits = l1.hits;
  c.l1_misses = l1.misses;
  return c;
}

void StatsSampler::Tick() {
  StatsSample sample;
  // Whole milliseconds, as the history reports them, so a poller asking for the samples
  // after the newest it holds (StatsHistory::Since) does not get that one again.
  sample.time = std::chrono::floor<std::chrono::milliseconds>(
      options_.wall_clock ? options_.wall_clock() : std::chrono::system_clock::now());
  {
    MutexLock lock(mu_);
    const Counters now = Read();
    const Counters& before = previous_;
    const double seconds = ToSeconds(now.at - before.at);
    sample.requests_per_second =
        seconds > 0 ? static_cast<double>(Delta(now.requests, before.requests)) / seconds : 0;
    const uint64_t hits = Delta(now.get_hits, before.get_hits);
    sample.hit_rate = Ratio(hits, hits + Delta(now.get_misses, before.get_misses));
    const uint64_t l1_hits = Delta(now.l1_hits, before.l1_hits);
    sample.l1_hit_rate = Ratio(l1_hits, l1_hits + Delta(now.l1_misses, before.l1_misses));
    std::array<uint64_t, RequestMetrics::kBuckets.size() + 1> latency{};
    for (size_t b = 0; b < latency.size(); ++b) {
      latency[b] = Delta(now.get_latency[b], before.get_latency[b]);
    }
    sample.get_p99_seconds = HistogramQuantile(RequestMetrics::kBuckets, latency, 0.99);
    previous_ = now;
  }
  const L1Stats l1 = service_.cache().l1().Stats();
  sample.l1_bytes = l1.bytes;
  sample.l1_entries = l1.entries;
  const Result<uint64_t> resident =
      options_.resident_bytes ? options_.resident_bytes() : ResidentBytes();
  if (resident.ok()) sample.resident_bytes = *resident;
  for (const LowerTierStatus& t : service_.cache().LowerTiers()) {
    sample.tiers.push_back(TierStateSample{t.name, t.state});
  }
  history_.Add(std::move(sample));
}

void StatsSampler::Start() {
  // A zero interval would spin.
  const Duration interval = std::max<Duration>(options_.interval, std::chrono::milliseconds(1));
  thread_ = std::jthread([this, interval](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    // Due times advance by whole intervals, so samples stay about `interval` apart even
    // though each Tick takes a little time; after a stall the sampler skips ahead rather
    // than taking a burst of samples.
    auto due = std::chrono::steady_clock::now() + interval;
    while (!cv.wait_until(lock, stop, due, [&stop] { return stop.stop_requested(); })) {
      Tick();
      due += interval;
      const auto now = std::chrono::steady_clock::now();
      if (due <= now) due = now + interval;
    }
  });
}

void StatsSampler::Stop() {
  std::lock_guard lock(stop_mu_);
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

}  // namespace tiercache
