#include "workload.h"

#include <algorithm>
#include <cmath>

namespace tierbench {

void ThreadStats::Merge(const ThreadStats& o) {
  gets += o.gets;
  hits += o.hits;
  misses += o.misses;
  sets += o.sets;
  errors += o.errors;
  latency.Merge(o.latency);
  for (const auto& [k, v] : o.error_kinds) error_kinds[k] += v;
}

}  // namespace tierbench
