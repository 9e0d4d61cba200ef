// The /metrics writer: a run's statistics in the OpenMetrics text format (Prometheus
// scrapes it; docs/metrics.md names every metric and the latency bucket ladder).
//
// Fed by what the JSON writer gets (the Snapshot and the RunFacts) plus whether the run
// is over, so a scrape during the run sees live totals and one after it the final ones,
// equal to the JSON report's. Counters are cumulative over the run; latency comes both
// as a histogram on a fixed ladder (summable across runs and masters) and as exact
// percentile gauges from the merged histograms.
//
// Thread-safety: plain functions over values; no shared state.
#pragma once

#include <array>
#include <string>

#include "report/run_facts.hpp"
#include "util/openmetrics.hpp"

namespace loads {

struct Snapshot;

// The upper bounds (le) of loads_request_duration_seconds, in µs; +Inf follows.
inline constexpr std::array<std::int64_t, 17> kLatencyBucketsUs{
    500,     1'000,   2'500,   5'000,     10'000,     25'000,     50'000,     100'000,    250'000,
    500'000, 1000000, 2500000, 5'000'000, 10'000'000, 30'000'000, 60'000'000, 300'000'000};

// What /metrics says about the run besides the statistics.
struct MetricsRun {
  std::string mode;       // "local" or "distributed"
  bool finished = false;  // the run is over: the values are final
  RunFacts facts;         // library, tests, run id; exit code and thresholds once finished
};

// The exposition of `snapshot`, ending with "# EOF".
std::string metricsText(const Snapshot& snapshot, const MetricsRun& run);

}  // namespace loads
