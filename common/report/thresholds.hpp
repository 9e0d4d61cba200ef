// Thresholds: pass/fail criteria over a run's merged statistics (`--threshold EXPR`).
//
// The syntax is modelled on k6's and documented with its grammar and metric set in
// docs/thresholds.md, e.g. `http_req_duration{name:/api}:p(99)<250ms`,
// `errors:rate<0.01`, `hits:count>1000`. parseThreshold() checks an expression up
// front; evaluateThreshold() judges it over a Snapshot (the master's merged data, so
// percentiles are exact over every agent); cannotPass() tells, during the run, whether
// a threshold has already failed for good (--abort-on-fail).
//
// Thread-safety: plain functions over values; no shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loads {

struct Snapshot;

enum class ThresholdMetric {
  kHttpReqDuration,  // request latency (trend)
  kHttpReqs,         // requests made (counter)
  kHttpReqFailed,    // requests with status 0 or >= 400 (rate)
  kHitDuration,      // one test execution, setUp + test + tearDown (trend)
  kHits,             // test executions completed (counter)
  kErrors,           // executions that ended in a failure or an error (rate)
  kChecks,           // executions that succeeded (rate)
  kCounter,          // an incrCounter total (counter, may decrease)
  kWsSessions,       // WebSockets opened (counter)
  kWsFailed,         // WebSockets closed without a close handshake (rate)
  kWsMsgsSent,       // WebSocket messages sent (counter)
  kWsMsgsReceived,   // WebSocket messages received (counter)
  // HTTP phase timings of the requests that had them (trends; loads::Phase order):
  kHttpReqLookingUp,       // DNS
  kHttpReqConnecting,      // TCP connect (0 on a kept-alive connection)
  kHttpReqTlsHandshaking,  // TLS handshake
  kHttpReqSending,         // writing the request
  kHttpReqWaiting,         // time to first byte
  kHttpReqReceiving,       // reading the response
};

enum class ThresholdAggregation { kAvg, kMin, kMax, kMed, kPercentile, kCount, kRate };
enum class ThresholdComparison { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };

// What an observed value measures, which decides how it is printed.
enum class ThresholdUnit { kMicroseconds, kCount, kPerSecond, kFraction };

struct Threshold {
  std::string expression;  // as typed, for reports
  ThresholdMetric metric = ThresholdMetric::kHttpReqDuration;
  std::string name;    // {name:...}: request name or path, or counter name; "" = any
  std::string method;  // {method:...}: HTTP method of http_* metrics; "" = any
  std::string test;    // {test:...}: "Class.method" or "Class"; "" = any
  ThresholdAggregation aggregation = ThresholdAggregation::kAvg;
  double percentile = 0;  // for kPercentile: 0 < percentile <= 100
  ThresholdComparison comparison = ThresholdComparison::kLess;
  double bound = 0;  // in the unit of unitOf(): µs, a count, per second or a fraction
};

// Parses one expression. Throws std::invalid_argument with one sentence that quotes the
// expression, names the bad part and says what is expected.
Threshold parseThreshold(std::string_view text);

ThresholdUnit unitOf(const Threshold& threshold);

struct ThresholdResult {
  std::string expression;
  std::optional<double> observed;  // nullopt: no data (the threshold fails)
  ThresholdUnit unit = ThresholdUnit::kCount;
  bool pass = false;
  bool abortedRun = false;  // this threshold stopped the run (--abort-on-fail)
};

ThresholdResult evaluateThreshold(const Threshold& threshold, const Snapshot& snapshot);
std::vector<ThresholdResult> evaluateThresholds(const std::vector<Threshold>& thresholds,
                                                const Snapshot& snapshot);

// True when the threshold has failed and no later data can make it pass: a count that
// only grows is already past a `<` bound, a max above a `<` bound, a min below a `>`
// bound. Rates, averages and percentiles can recover, so they never abort a run.
bool cannotPass(const Threshold& threshold, const Snapshot& snapshot);
// Whether cannotPass() can ever be true for this threshold (docs/thresholds.md).
bool canAbort(const Threshold& threshold);

// "312.50 ms", "1,234", "12.3/s", "0.53%"; "no data" for nullopt.
std::string formatObserved(std::optional<double> value, ThresholdUnit unit);
// "us", "count", "per_second", "fraction": the JSON report's names for the units.
std::string_view unitName(ThresholdUnit unit);
std::optional<ThresholdUnit> unitFromName(std::string_view name);

}  // namespace loads
