#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace tiercache {

// The q-quantile (0 < q <= 1) of observations counted in histogram buckets, estimated as
// Prometheus' histogram_quantile does: linear interpolation inside the bucket that holds
// the q-th observation, from its lower bound (0 for the first bucket) to its upper bound.
//
// `upper_bounds` are the finite bounds in increasing order; `counts` has one count per
// bound plus a last one for +Inf (not cumulative). A quantile falling in the +Inf bucket
// is reported as the highest finite bound: the histogram cannot tell more. nullopt when
// there is no observation, or when the sizes do not match.
std::optional<double> HistogramQuantile(std::span<const double> upper_bounds,
                                        std::span<const uint64_t> counts, double q);

}  // namespace tiercache
