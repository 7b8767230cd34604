#pragma once

#include <string>
#include <string_view>

#include "core/metrics.h"
#include "core/service.h"

namespace tiercache {

// GET /metrics (and gRPC Status.metrics): every family of the service's snapshot, then the
// standard process families, in Prometheus text format 0.0.4. The one renderer: a front
// end serves what this returns and appends nothing of its own.
std::string RenderPrometheus(const MetricsSnapshot& metrics);
// The service's families alone, without the process ones (whose values tests can't fix).
std::string RenderServiceMetrics(const MetricsSnapshot& metrics);

// Appends one sample line: `name{labels} value\n`. `labels` is empty or `a="x",b="y"`.
void AppendSample(std::string& out, std::string_view name, std::string_view labels, double value);
// `value` as a label value: quotes, backslashes and newlines escaped, and any byte that is
// not printable ASCII replaced by '_' (key segments are arbitrary bytes; the exposition
// format wants UTF-8).
std::string LabelValue(std::string_view value);
// Appends the `# HELP` and `# TYPE` lines of a family.
void AppendFamilyHeader(std::string& out, std::string_view name, std::string_view type,
                        std::string_view help);
// Appends the _bucket, _sum and _count samples of one histogram series (`labels` may be
// empty); nothing for a series that has observed nothing.
void AppendHistogram(std::string& out, std::string_view name, std::string_view labels,
                     const LatencyHistogram::Counts& counts);

}  // namespace tiercache
