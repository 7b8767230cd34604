// Unit tests of the request metrics.

#include "core/metrics.h"

#include <catch2/catch.hpp>

#include "core/status.h"

namespace tiercache {
namespace {

using namespace std::chrono_literals;

class MetricsTest {
 protected:
  void Record(Frontend f, Operation op, Outcome o, Duration latency = 1ms) {
    metrics_.Record(f, op, o, latency);
  }

  RequestMetrics metrics_;
};

TEST_CASE_METHOD(MetricsTest, "Metrics: RecordCountsEachFrontendOperationOutcomeSeparately",
                 "[metrics]") {
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kHit);
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kHit);
  Record(Frontend::Named("http"), Operation::kGet, Outcome::kMiss);
  Record(Frontend::Named("grpc"), Operation::kGet, Outcome::kHit);
  Record(Frontend::Named("grpc"), Operation::kStatus, Outcome::kInternal);
  REQUIRE(metrics_.Requests(Frontend::Named("http"), Operation::kGet, Outcome::kHit) == 2);
  REQUIRE(metrics_.Requests(Frontend::Named("http"), Operation::kGet, Outcome::kMiss) == 1);
  REQUIRE(metrics_.Requests(Frontend::Named("grpc"), Operation::kGet, Outcome::kHit) == 1);
  REQUIRE(metrics_.Requests(Frontend::Named("grpc"), Operation::kStatus, Outcome::kInternal) == 1);
  REQUIRE(metrics_.Requests(Frontend::Named("http"), Operation::kSet, Outcome::kHit) == 0);
}

TEST_CASE_METHOD(MetricsTest, "Metrics: OutcomeOfMapsEveryStatusCode", "[metrics]") {
  REQUIRE(OutcomeOf(Status::Ok()) == Outcome::kOk);
  REQUIRE(OutcomeOf(Status::NotFound("x")) == Outcome::kNotFound);
  REQUIRE(OutcomeOf(Status::InvalidArgument("x")) == Outcome::kInvalidArgument);
  REQUIRE(OutcomeOf(Status::TooLarge("x")) == Outcome::kTooLarge);
  REQUIRE(OutcomeOf(Status::Unavailable("x")) == Outcome::kUnavailable);
  REQUIRE(OutcomeOf(Status::Internal("x")) == Outcome::kInternal);
}

TEST_CASE_METHOD(MetricsTest, "Metrics: LabelNamesAreLowerCaseWords", "[metrics]") {
  REQUIRE(Frontend::Named("http").name() == "http");
  REQUIRE(Frontend::Named("grpc").name() == "grpc");
  REQUIRE(OperationName(Operation::kInvalidate) == "invalidate");
  REQUIRE(OutcomeName(Outcome::kTooLarge) == "too_large");
  REQUIRE(OutcomeName(Outcome::kInvalidArgument) == "invalid_argument");
}

}  // namespace
}  // namespace tiercache
