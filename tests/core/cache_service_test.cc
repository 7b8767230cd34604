// Unit tests of the service facade: validation against the limits (bad input changes
// nothing), the L1 read/write path, invalidation counts, strategies and request metrics.

#include "core/cache_service.h"
#include "tests/core/sync_service.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/l1_store.h"
#include "core/limits.h"
#include "core/metrics.h"
#include "core/status.h"
#include "tests/core/status_printer.h"
#include "core/strategy_options.h"


namespace tiercache {
namespace {

using namespace std::chrono_literals;

class CacheServiceTest {
 protected:
  CacheServiceTest() { Build(Strategies(StrategyKind::kTtl)); }

  static Limits SmallLimits() {
    Limits limits;
    limits.max_key_bytes = 16;
    limits.max_value_bytes = 64;
    limits.max_tags = 3;
    limits.max_tag_bytes = 8;
    limits.max_pattern_bytes = 32;
    limits.max_keys_per_request = 4;
    return limits;
  }

  static StrategyOptions Strategies(StrategyKind default_strategy) {
    StrategyOptions strategies;
    strategies.default_timeout = 300s;
    strategies.default_strategy = default_strategy;
    strategies.adaptive.base_timeout = 300s;
    strategies.adaptive.min_timeout = 60s;
    strategies.adaptive.max_timeout = 3600s;
    strategies.max_timeout = 86400s;
    return strategies;
  }

  void Build(const StrategyOptions& strategies) {
    service_.reset();
    cache_.reset();
    store_.reset();
    L1Options options;
    options.shards = 4;
    options.max_entries = 10'000;
    options.max_bytes = 1 << 20;
    options.ttl_factor = 1.0;
    store_ = std::make_unique<L1Store>(options, strategies.adaptive, clock_);
    cache_ = std::make_unique<TieredCache>(*store_, options.ttl_factor,
                                           std::vector<TieredCache::LowerTier>{},
                                           TierHealthOptions{}, clock_);
    service_ = std::make_unique<CacheService>(SmallLimits(), strategies, *cache_);
  }

  StatusCode Set(std::string key, std::string value, std::vector<std::string> tags = {},
                 std::optional<Duration> ttl = std::nullopt,
                 std::optional<StrategyKind> strategy = std::nullopt,
                 Frontend from = Frontend::Named("http")) {
    SetRequest request;
    request.key = std::move(key);
    request.value = std::move(value);
    request.tags = std::move(tags);
    request.ttl = ttl;
    request.strategy = strategy;
    return test::SyncSet(*service_, from, std::move(request)).code();
  }

  StatusCode GetCode(std::string_view key, Frontend from = Frontend::Named("http")) {
    return test::SyncGet(*service_, from, key).status().code();
  }

  // The value served for `key`, or "<miss>".
  std::string ValueOf(std::string_view key) {
    auto hit = test::SyncGet(*service_, Frontend::Named("http"), key);
    return hit.ok() ? std::string(*hit->value) : std::string("<miss>");
  }

  // Seconds left reported by a Get of `key`, or -1 on a miss.
  double TtlLeft(std::string_view key) {
    auto hit = test::SyncGet(*service_, Frontend::Named("http"), key);
    return hit.ok() ? ToSeconds(hit->ttl_left) : -1.0;
  }

  StatusCode DeleteCode(std::string_view key, Frontend from = Frontend::Named("http")) {
    return test::SyncDelete(*service_, from, key).code();
  }

  Result<InvalidateResult> Invalidate(std::vector<std::string> keys,
                                      std::vector<std::string> tags = {},
                                      std::optional<std::string> pattern = std::nullopt,
                                      Frontend from = Frontend::Named("http")) {
    InvalidateRequest request;
    request.keys = std::move(keys);
    request.tags = std::move(tags);
    request.pattern = std::move(pattern);
    return test::SyncInvalidate(*service_, from, request);
  }

  // Entries held by L1, read without touching them.
  uint64_t StoredEntries() const { return store_->Stats().entries; }

  uint64_t Requests(Frontend f, Operation op, Outcome outcome) {
    return service_->request_metrics().Requests(f, op, outcome);
  }

  void Advance(Duration d) { clock_.Advance(d); }

  FakeClock clock_;
  std::unique_ptr<L1Store> store_;
  std::unique_ptr<TieredCache> cache_;
  std::unique_ptr<CacheService> service_;
};

// --- Get and Set ---------------------------------------------------------------------------

TEST_CASE_METHOD(CacheServiceTest, "CacheService: GetOfAnAbsentKeyIsNotFound", "[service]") {
  REQUIRE(GetCode("absent") == StatusCode::kNotFound);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: GetHitComesFromL1WithTheTimeLeft",
                 "[service]") {
  REQUIRE(Set("k", "value", {}, 100s) == StatusCode::kOk);
  Advance(40s);
  auto hit = test::SyncGet(*service_, Frontend::Named("http"), "k");
  REQUIRE(hit.ok());
  REQUIRE(*hit->value == "value");
  REQUIRE(hit->tier == "L1");
  REQUIRE(ToSeconds(hit->ttl_left) == 60.0);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: GetAfterTheTtlIsNotFound", "[service]") {
  REQUIRE(Set("k", "v", {}, 100s) == StatusCode::kOk);
  Advance(100s);
  REQUIRE(GetCode("k") == StatusCode::kNotFound);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: SetWithoutTtlUsesTheDefaultTimeout",
                 "[service]") {
  REQUIRE(Set("k", "v") == StatusCode::kOk);
  REQUIRE(TtlLeft("k") == 300.0);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: KeyOverMaxKeyBytesIsTooLarge", "[service]") {
  const std::string too_long(17, 'k');
  REQUIRE(Set(too_long, "v") == StatusCode::kTooLarge);
  REQUIRE(GetCode(too_long) == StatusCode::kTooLarge);
  REQUIRE(DeleteCode(too_long) == StatusCode::kTooLarge);
  REQUIRE(StoredEntries() == 0);
  REQUIRE(Set(std::string(16, 'k'), "v") == StatusCode::kOk);
  REQUIRE(StoredEntries() == 1);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: EmptyKeyIsInvalidArgument", "[service]") {
  REQUIRE(Set("", "v") == StatusCode::kInvalidArgument);
  REQUIRE(GetCode("") == StatusCode::kInvalidArgument);
  REQUIRE(DeleteCode("") == StatusCode::kInvalidArgument);
  REQUIRE(StoredEntries() == 0);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: ValueOverMaxValueBytesIsRefusedAndNothingStored",
                 "[service]") {
  REQUIRE(Set("new", std::string(65, 'x')) == StatusCode::kTooLarge);
  REQUIRE(StoredEntries() == 0);
  REQUIRE(Set("k", "old") == StatusCode::kOk);
  REQUIRE(Set("k", std::string(65, 'x')) == StatusCode::kTooLarge);
  REQUIRE(ValueOf("k") == "old");
  REQUIRE(Set("k", std::string(64, 'x')) == StatusCode::kOk);
  REQUIRE(ValueOf("k") == std::string(64, 'x'));
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: TooManyTagsAreRefusedAndNothingStored",
                 "[service]") {
  REQUIRE(Set("k", "v", {"a", "b", "c", "d"}) == StatusCode::kTooLarge);
  REQUIRE(StoredEntries() == 0);
  REQUIRE(Set("k", "v", {"a", "b", "c"}) == StatusCode::kOk);
  REQUIRE(StoredEntries() == 1);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: TagOverMaxTagBytesIsRefusedAndNothingStored",
                 "[service]") {
  REQUIRE(Set("k", "v", {"ok", "123456789"}) == StatusCode::kTooLarge);
  REQUIRE(StoredEntries() == 0);
  REQUIRE(Set("k", "v", {"ok", "12345678"}) == StatusCode::kOk);
  REQUIRE(StoredEntries() == 1);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: EmptyTagIsInvalidArgument", "[service]") {
  REQUIRE(Set("k", "v", {"a", ""}) == StatusCode::kInvalidArgument);
  REQUIRE(StoredEntries() == 0);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: TtlMustBePositiveAndAtMostMaxTimeout",
                 "[service]") {
  REQUIRE(Set("k", "v", {}, 0s) == StatusCode::kInvalidArgument);
  REQUIRE(Set("k", "v", {}, -1s) == StatusCode::kInvalidArgument);
  REQUIRE(Set("k", "v", {}, Duration(86400s) + 1ns) == StatusCode::kInvalidArgument);
  REQUIRE(StoredEntries() == 0);
  REQUIRE(Set("k", "v", {}, 86400s) == StatusCode::kOk);
  REQUIRE(TtlLeft("k") == 86400.0);
  REQUIRE(Set("short", "v", {}, 1ns) == StatusCode::kOk);
  REQUIRE(StoredEntries() == 2);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: DeleteRemovesALiveKeyAndReportsAbsence",
                 "[service]") {
  REQUIRE(Set("k", "v") == StatusCode::kOk);
  REQUIRE(Set("short", "v", {}, 1s) == StatusCode::kOk);
  Advance(1s);
  REQUIRE(DeleteCode("k") == StatusCode::kOk);
  REQUIRE(DeleteCode("k") == StatusCode::kNotFound);
  REQUIRE(DeleteCode("short") == StatusCode::kNotFound);
  REQUIRE(DeleteCode("never") == StatusCode::kNotFound);
  REQUIRE(StoredEntries() == 0);
}

// --- Invalidate and Clear ------------------------------------------------------------------

TEST_CASE_METHOD(CacheServiceTest, "CacheService: InvalidateWithNoCriteriaIsInvalidArgument",
                 "[service][invalidate]") {
  REQUIRE(Invalidate({}).status().code() == StatusCode::kInvalidArgument);
  REQUIRE(Invalidate({}, {}, std::string()).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: InvalidPatternChangesNothingEvenWithKeysAndTags",
                 "[service][invalidate]") {
  REQUIRE(Set("a", "v", {"t"}) == StatusCode::kOk);
  REQUIRE(Set("b", "v") == StatusCode::kOk);
  auto result = Invalidate({"b"}, {"t"}, "user:(");
  REQUIRE(result.status().code() == StatusCode::kInvalidArgument);
  REQUIRE(StoredEntries() == 2);
  REQUIRE(ValueOf("a") == "v");
  REQUIRE(ValueOf("b") == "v");
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: OversizedInvalidateRequestChangesNothing",
                 "[service][invalidate]") {
  REQUIRE(Set("a", "v", {"t"}) == StatusCode::kOk);
  REQUIRE(Set("b", "v") == StatusCode::kOk);
  REQUIRE(Invalidate({"a", "b", "c", "d", "e"}).status().code() == StatusCode::kTooLarge);
  REQUIRE(Invalidate({"b", std::string(17, 'k')}, {"t"}).status().code() ==
          StatusCode::kTooLarge);
  REQUIRE(Invalidate({"b"}, {"t", "123456789"}).status().code() == StatusCode::kTooLarge);
  REQUIRE(Invalidate({"b"}, {"t", "u", "v", "w"}).status().code() == StatusCode::kTooLarge);
  REQUIRE(Invalidate({"b"}, {"t"}, std::string(33, 'a')).status().code() ==
          StatusCode::kTooLarge);
  REQUIRE(Invalidate({"b", ""}).status().code() == StatusCode::kInvalidArgument);
  REQUIRE(StoredEntries() == 2);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: InvalidateCountsEachEntryOnceUnderItsFirstCriterion",
                 "[service][invalidate]") {
  REQUIRE(Set("user:1", "v", {"t"}) == StatusCode::kOk);  // key, tag and pattern all match
  REQUIRE(Set("user:2", "v", {"t"}) == StatusCode::kOk);  // tag and pattern match
  REQUIRE(Set("user:3", "v") == StatusCode::kOk);         // pattern matches
  REQUIRE(Set("org:1", "v", {"t"}) == StatusCode::kOk);   // tag matches
  REQUIRE(Set("org:2", "v") == StatusCode::kOk);          // nothing matches
  auto result = Invalidate({"user:1", "absent"}, {"t"}, "^user:");
  REQUIRE(result.ok());
  REQUIRE(result->by_keys == 1);
  REQUIRE(result->by_tags == 2);
  REQUIRE(result->by_pattern == 1);
  REQUIRE(result->total() == 4);
  REQUIRE(StoredEntries() == 1);
  REQUIRE(ValueOf("org:2") == "v");
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: InvalidateByPatternAloneRemovesMatchingKeys",
                 "[service][invalidate]") {
  for (int i = 0; i < 10; ++i) {
    REQUIRE(Set("user:" + std::to_string(i) + ":p", "v") == StatusCode::kOk);
    REQUIRE(Set("org:" + std::to_string(i) + ":p", "v") == StatusCode::kOk);
  }
  auto result = Invalidate({}, {}, "^user:[0-9]+:p$");
  REQUIRE(result.ok());
  REQUIRE(result->by_pattern == 10);
  REQUIRE(result->total() == 10);
  REQUIRE(StoredEntries() == 10);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: ClearReturnsTheLiveCountAndEmptiesL1",
                 "[service]") {
  REQUIRE(Set("a", "v") == StatusCode::kOk);
  REQUIRE(Set("b", "v") == StatusCode::kOk);
  REQUIRE(Set("c", "v") == StatusCode::kOk);
  REQUIRE(Set("short", "v", {}, 1s) == StatusCode::kOk);
  Advance(1s);
  auto cleared = test::SyncClear(*service_, Frontend::Named("grpc"));
  REQUIRE(cleared.ok());
  REQUIRE(cleared->total() == 3);
  REQUIRE(StoredEntries() == 0);
  REQUIRE(GetCode("a") == StatusCode::kNotFound);
}

// --- Strategies ----------------------------------------------------------------------------

TEST_CASE_METHOD(CacheServiceTest, "CacheService: DefaultAdaptiveStrategyIsHonoured",
                 "[service][adaptive]") {
  Build(Strategies(StrategyKind::kAdaptive));
  REQUIRE(Set("hot", "v") == StatusCode::kOk);
  REQUIRE(Set("fixed", "v", {}, std::nullopt, StrategyKind::kTtl) == StatusCode::kOk);
  double hot_left = 0;
  double fixed_left = 0;
  for (int i = 0; i < 100; ++i) {
    hot_left = TtlLeft("hot");
    fixed_left = TtlLeft("fixed");
  }
  // The 100th read sees the heat of the 99 before it.
  REQUIRE(hot_left == Approx(300.0 * std::log2(100.0)).epsilon(1e-9));
  REQUIRE(fixed_left == 300.0);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: TtlStrategyIsTheDefaultWhenConfigured",
                 "[service][adaptive]") {
  REQUIRE(Set("k", "v") == StatusCode::kOk);
  for (int i = 0; i < 99; ++i) REQUIRE(ValueOf("k") == "v");
  REQUIRE(TtlLeft("k") == 300.0);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: AdaptiveRequestTtlIsTheBaseTimeout",
                 "[service][adaptive]") {
  REQUIRE(Set("k", "v", {}, 100s, StrategyKind::kAdaptive) == StatusCode::kOk);
  REQUIRE(TtlLeft("k") == 60.0);   // first read, no earlier heat: min_timeout
  REQUIRE(TtlLeft("k") == 100.0);  // earlier heat 1: the base
  REQUIRE(TtlLeft("k") == Approx(100.0 * std::log2(3.0)).epsilon(1e-9));  // heat 2
  REQUIRE(TtlLeft("k") == 200.0);  // earlier heat 3: base × log2(4)
}

// --- Status and request metrics ------------------------------------------------------------

TEST_CASE_METHOD(CacheServiceTest, "CacheService: StatusReportsL1StatsAndLimits", "[service]") {
  REQUIRE(Set("a", "v") == StatusCode::kOk);
  REQUIRE(Set("b", "v") == StatusCode::kOk);
  const ServiceStatus status = service_->GetStatus(Frontend::Named("grpc"));
  REQUIRE(status.version == TIERCACHE_VERSION);
  REQUIRE(status.l1.entries == 2);
  REQUIRE(status.l1.max_entries == 10'000);
  REQUIRE(status.limits.max_key_bytes == 16);
  REQUIRE(Requests(Frontend::Named("grpc"), Operation::kStatus, Outcome::kOk) == 1);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: RequestsAreCountedPerFrontendOperationOutcome",
                 "[service][metrics]") {
  REQUIRE(GetCode("absent") == StatusCode::kNotFound);
  REQUIRE(GetCode("absent") == StatusCode::kNotFound);
  REQUIRE(Set("k", "v", {}, std::nullopt, std::nullopt, Frontend::Named("grpc")) == StatusCode::kOk);
  REQUIRE(Set("big", std::string(65, 'x'), {}, std::nullopt, std::nullopt, Frontend::Named("grpc")) ==
          StatusCode::kTooLarge);
  REQUIRE(GetCode("k", Frontend::Named("grpc")) == StatusCode::kOk);
  REQUIRE(GetCode("", Frontend::Named("grpc")) == StatusCode::kInvalidArgument);
  REQUIRE(DeleteCode("absent") == StatusCode::kNotFound);
  REQUIRE(DeleteCode("k") == StatusCode::kOk);
  REQUIRE(Invalidate({}, {}, "(").status().code() == StatusCode::kInvalidArgument);
  REQUIRE(Invalidate({"k"}).ok());
  REQUIRE(test::SyncClear(*service_, Frontend::Named("grpc")).ok());

  REQUIRE(Requests(Frontend::Named("http"), Operation::kGet, Outcome::kMiss) == 2);
  REQUIRE(Requests(Frontend::Named("grpc"), Operation::kGet, Outcome::kMiss) == 0);
  REQUIRE(Requests(Frontend::Named("grpc"), Operation::kGet, Outcome::kHit) == 1);
  REQUIRE(Requests(Frontend::Named("grpc"), Operation::kGet, Outcome::kInvalidArgument) == 1);
  REQUIRE(Requests(Frontend::Named("grpc"), Operation::kSet, Outcome::kOk) == 1);
  REQUIRE(Requests(Frontend::Named("grpc"), Operation::kSet, Outcome::kTooLarge) == 1);
  REQUIRE(Requests(Frontend::Named("http"), Operation::kSet, Outcome::kOk) == 0);
  REQUIRE(Requests(Frontend::Named("http"), Operation::kDelete, Outcome::kNotFound) == 1);
  REQUIRE(Requests(Frontend::Named("http"), Operation::kDelete, Outcome::kOk) == 1);
  REQUIRE(Requests(Frontend::Named("http"), Operation::kInvalidate, Outcome::kInvalidArgument) == 1);
  REQUIRE(Requests(Frontend::Named("http"), Operation::kInvalidate, Outcome::kOk) == 1);
  REQUIRE(Requests(Frontend::Named("grpc"), Operation::kClear, Outcome::kOk) == 1);
  REQUIRE(Requests(Frontend::Named("http"), Operation::kClear, Outcome::kOk) == 0);
}

}  // namespace
}  // namespace tiercache

namespace tiercache {
namespace {

using namespace std::chrono_literals;

// The use cases the front ends share, through the facade alone: bulk load, scheduling,
// jobs, warm, metrics.
class ServiceUseCasesTest {
 protected:
  ServiceUseCasesTest()
      : store_(Options(), AdaptiveOptions{}, clock_),
        cache_(store_, 1.0, {}, TierHealthOptions{}, clock_),
        scheduler_(SchedulerOptions{}, clock_),
        service_(Options3Keys(), cache_, ServiceParts{.scheduler = &scheduler_}) {}

  static ServiceOptions Options3Keys() {
    ServiceOptions o;
    o.limits.max_keys_per_request = 3;
    return o;
  }

  static L1Options Options() {
    L1Options o;
    o.shards = 2;
    o.max_entries = 100;
    o.max_bytes = 1 << 20;
    return o;
  }

  static SetRequest Entry(std::string key, std::string value = "v") {
    SetRequest r;
    r.key = std::move(key);
    r.value = std::move(value);
    return r;
  }

  Result<uint64_t> BulkLoad(std::vector<SetRequest> entries) {
    return test::Await<Result<uint64_t>>([&](auto done) {
      service_.BulkLoad(Frontend::Named("http"), std::move(entries), std::move(done));
    });
  }

  Result<ScheduledJob> Schedule(double delay_seconds, InvalidateRequest request) {
    return test::Await<Result<ScheduledJob>>([&](auto done) {
      service_.ScheduleInvalidation(Frontend::Named("http"), delay_seconds, std::move(request),
                                    std::move(done));
    });
  }

  static InvalidateRequest Keys(std::vector<std::string> keys) {
    InvalidateRequest r;
    r.keys = std::move(keys);
    return r;
  }

  FakeClock clock_;
  L1Store store_;
  TieredCache cache_;
  Scheduler scheduler_;
  CacheService service_;
};

TEST_CASE_METHOD(ServiceUseCasesTest, "Service: BulkLoadStoresEveryEntryAndCountsThem",
                 "[service]") {
  auto loaded = BulkLoad({Entry("a"), Entry("b"), Entry("c")});
  REQUIRE(loaded.ok());
  CHECK(*loaded == 3);
  CHECK(store_.Stats().entries == 3);
}

TEST_CASE_METHOD(ServiceUseCasesTest, "Service: BulkLoadWithOneBadEntryStoresNoneAndNamesIt",
                 "[service]") {
  auto loaded = BulkLoad({Entry("a"), Entry(""), Entry("c")});
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == StatusCode::kInvalidArgument);
  CHECK(loaded.status().message().rfind("entries[1]: ", 0) == 0);
  CHECK(store_.Stats().entries == 0);
}

TEST_CASE_METHOD(ServiceUseCasesTest, "Service: BulkLoadOverTheKeyLimitIsTooLargeAndStoresNone",
                 "[service]") {
  auto loaded = BulkLoad({Entry("a"), Entry("b"), Entry("c"), Entry("d")});
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().code() == StatusCode::kTooLarge);
  CHECK(store_.Stats().entries == 0);
}

TEST_CASE_METHOD(ServiceUseCasesTest, "Service: ScheduledInvalidationIsListedAndCancellable",
                 "[service]") {
  auto job = Schedule(60, Keys({"a"}));
  REQUIRE(job.ok());
  CHECK_FALSE(job->persisted);
  const std::vector<JobInfo> jobs = service_.ListJobs();
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == job->job_id);
  CHECK(jobs[0].kind == "invalidation");
  CHECK(service_.CancelJob(job->job_id).ok());
  CHECK(service_.ListJobs().empty());
  CHECK(service_.CancelJob(job->job_id).code() == StatusCode::kNotFound);
}

TEST_CASE_METHOD(ServiceUseCasesTest, "Service: ScheduleRefusesDelaysOutsideZeroToTenYears",
                 "[service]") {
  for (double delay : {-1.0, kMaxRequestSeconds * 2, std::numeric_limits<double>::quiet_NaN(),
                       std::numeric_limits<double>::infinity()}) {
    CAPTURE(delay);
    CHECK(Schedule(delay, Keys({"a"})).status().code() == StatusCode::kInvalidArgument);
  }
  CHECK(service_.ListJobs().empty());
  CHECK(Schedule(kMaxRequestSeconds, Keys({"a"})).ok());
}

TEST_CASE_METHOD(ServiceUseCasesTest, "Service: ScheduleChecksTheCriteriaAsInvalidateDoes",
                 "[service]") {
  CHECK(Schedule(1, InvalidateRequest{}).status().code() == StatusCode::kInvalidArgument);
  InvalidateRequest unknown_model;
  unknown_model.model.emplace().model = "no.Such";
  CHECK(Schedule(1, unknown_model).status().code() == StatusCode::kNotFound);
  CHECK(service_.ListJobs().empty());
}

TEST_CASE_METHOD(ServiceUseCasesTest, "Service: StartWarmOfAnUnknownSourceIsNotFound",
                 "[service]") {
  CHECK(service_.StartWarm("nope").code() == StatusCode::kNotFound);
}

TEST_CASE_METHOD(ServiceUseCasesTest, "Service: MetricsSnapshotCountsNoRequest", "[service]") {
  REQUIRE(test::SyncSet(service_, Frontend::Named("http"), Entry("a")).ok());
  const uint64_t before = service_.request_metrics().total();
  const MetricsSnapshot m = service_.Metrics();
  CHECK(service_.request_metrics().total() == before);
  CHECK(m.l1.entries == 1);
  CHECK(m.scheduler);
  CHECK_FALSE(m.connections.empty());
  (void)service_.GetStatus(Frontend::Named("http"));
  CHECK(service_.request_metrics().total() == before + 1);
}

TEST_CASE("Frontend: NamesAreGivenOnceAndKeptInOrder", "[service]") {
  const Frontend a = Frontend::Named("test-a");
  const Frontend b = Frontend::Named("test-b");
  CHECK(Frontend::Named("test-a") == a);
  CHECK(b.index() > a.index());
  CHECK(a.name() == "test-a");
  CHECK(Frontend::Internal().name() == "internal");
  CHECK(Frontend::Internal().index() == 0);
  CHECK(Frontend::Count() >= 3);
}

// --- Read-modify-write ------------------------------------------------------------------------

TEST_CASE_METHOD(CacheServiceTest, "CacheService: IncrementStartsFromZeroAndKeepsTheTimeLeft",
                 "[service][update]") {
  const Frontend resp = Frontend::Named("resp");
  CHECK(*test::SyncIncrement(*service_, resp, "n", 5) == 5);
  CHECK(TtlLeft("n") == Approx(300));  // a new counter gets the default timeout
  Advance(100s);
  CHECK(*test::SyncIncrement(*service_, resp, "n", -7) == -2);
  CHECK(ValueOf("n") == "-2");
  CHECK(TtlLeft("n") == Approx(200));
  REQUIRE(Set("s", "x1") == StatusCode::kOk);
  const auto refused = test::SyncIncrement(*service_, resp, "s", 1);
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  CHECK(refused.status().message() == "value is not an integer or out of range");
  CHECK(ValueOf("s") == "x1");
  REQUIRE(Set("max", "9223372036854775807") == StatusCode::kOk);
  CHECK(test::SyncIncrement(*service_, resp, "max", 1).status().message() ==
        "increment or decrement would overflow");
  // Counted as writes of the front end.
  CHECK(Requests(resp, Operation::kSet, Outcome::kOk) == 2);
  CHECK(Requests(resp, Operation::kSet, Outcome::kInvalidArgument) == 2);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: UpdateChecksTheChangeAsSetDoes",
                 "[service][update]") {
  const Frontend resp = Frontend::Named("resp");
  REQUIRE(Set("k", "v", {"a"}) == StatusCode::kOk);
  // Over limits.max_value_bytes (64): refused, nothing changes.
  const Status big = test::SyncUpdate(*service_, resp, "k", [](const StoredEntry* current) {
    EntryChange change;
    change.action = EntryChange::Action::kWrite;
    change.value = std::string(*current->value) + std::string(100, 'x');
    return Result<EntryChange>(change);
  });
  CHECK(big.code() == StatusCode::kTooLarge);
  CHECK(ValueOf("k") == "v");
  // An error from the decision is the answer, and changes nothing.
  CHECK(test::SyncUpdate(*service_, resp, "k", [](const StoredEntry*) {
          return Result<EntryChange>(Status::InvalidArgument("no"));
        }).code() == StatusCode::kInvalidArgument);
  // Tags and time left are kept unless the change gives its own.
  Advance(50s);
  REQUIRE(test::SyncUpdate(*service_, resp, "k", [](const StoredEntry* current) {
            EntryChange change;
            change.action = EntryChange::Action::kWrite;
            change.value = std::string(*current->value) + "w";
            return Result<EntryChange>(change);
          }).ok());
  CHECK(ValueOf("k") == "vw");
  CHECK(TtlLeft("k") == Approx(250));
  CHECK(store_->Inspect("k")->tags == std::vector<std::string>{"a"});
  REQUIRE(test::SyncUpdate(*service_, resp, "k", [](const StoredEntry*) {
            EntryChange change;
            change.action = EntryChange::Action::kDelete;
            return Result<EntryChange>(change);
          }).ok());
  CHECK(GetCode("k") == StatusCode::kNotFound);
}

TEST_CASE_METHOD(CacheServiceTest, "CacheService: ScanKeysWalksEveryShardOnce", "[service]") {
  for (int i = 0; i < 20; ++i) REQUIRE(Set("k" + std::to_string(i), "v") == StatusCode::kOk);
  size_t shard = 0, seen = 0, pages = 0;
  do {
    Service::KeyPage page = service_->ScanKeys(shard, [](std::string_view k) { return k != "k3"; });
    seen += page.keys.size();
    shard = page.next_shard;
    ++pages;
  } while (shard != 0);
  CHECK(seen == 19);
  CHECK(pages == store_->shard_count());
}

}  // namespace
}  // namespace tiercache
