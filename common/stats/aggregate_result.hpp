// AggregateResult: the aggregating TestResult of the master and of local mode.
//
// It counts everything a run reports (per test, per request name, per second, counters,
// WebSocket figures, deduplicated error samples) and forwards every call to its
// observers (the outputs). snapshot() returns a merged, plain copy of it all.
//
// Thread-safety: every TestResult method may be called concurrently from any thread.
// The hot path takes no global lock: each calling thread gets its own shard (created on
// its first call, registered under a mutex) guarded by the shard's own mutex, which is
// contended only while snapshot() merges. snapshot() may run concurrently with calls.
// addObserver() must be called before the run starts (before the first call).
//
// Memory stays bounded on long runs: full per-second histograms are kept only for a
// short sliding window; older seconds keep a small summary (counts, p50, p99, users, and
// requests per source for at most AggregateOptions::seriesSources sources plus one
// "other" entry, so many agents cost at most that many entries a second). An event for
// a second already summarised adds to its totals, allocating a few dozen bytes at most
// (its compact histogram of one value). At most AggregateOptions::maxSeriesSeconds
// seconds are kept besides the live window.
//
// Memory stays bounded at any number of names: distinct request names, test names,
// counter names and status codes are capped per run (AggregateOptions::maxNames ...).
// Past a cap, each new name's events are counted, exactly, under one kOtherName entry
// (status code kOtherStatus), and Snapshot::overflows names the first ones that went
// there, so the outputs can say what happened. Histograms are compact (histogram.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "loads/test_result.hpp"
#include "run/row_runs.hpp"
#include "stats/histogram.hpp"

namespace loads {

struct IntervalSummary;  // stats/interval_summary.hpp

inline constexpr std::size_t kErrorKindCount = static_cast<std::size_t>(ErrorKind::kOther) + 1;

// A request counts as failed when no response arrived (status 0) or status >= 400.
inline bool isFailedStatus(int status) { return status == 0 || status >= 400; }
// A hit counts as failed when it has an error kind or a status >= 400. A measure() call
// that succeeded is status 0 with ErrorKind::kNone: ok, and no status code counted.
inline bool isFailedHit(const Hit& hit) {
  return hit.error != ErrorKind::kNone || hit.status >= 400;
}

struct TestSummary {
  std::uint64_t started = 0;  // startTest calls (hits begun)
  std::uint64_t stopped = 0;  // stopTest calls (hits ended)
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  std::uint64_t errors = 0;
  std::uint64_t skips = 0;
  std::uint64_t cancelled = 0;
  Histogram hitTime;                                          // stopTest's elapsed, µs
  std::map<std::string, std::int64_t, std::less<>> counters;  // incrCounter totals
  std::uint64_t dropped = 0;  // open model: planned hits that found no free user
};

struct RequestSummary {
  std::uint64_t count = 0;
  std::uint64_t failures = 0;                               // status 0 or >= 400
  std::uint64_t bytes = 0;                                  // response bytes received
  std::map<int, std::uint64_t> statusCodes;                 // 0 = no response
  std::array<std::uint64_t, kErrorKindCount> errorKinds{};  // indexed by ErrorKind
  Histogram latency;                                        // Hit::elapsedUs
  std::int64_t firstStartedUs = 0;  // earliest Hit::startedUs, µs since epoch; 0 = none
  std::int64_t lastEndedUs = 0;     // latest startedUs + elapsedUs; 0 = none
  // Open model: latency from the planned start (coordinated-omission corrected), µs.
  // Hits without a plan record their actual latency here too, so it merges with `latency`.
  Histogram latencyCorrected;
  std::uint64_t planned = 0;  // hits that carried a planned start (0 = closed model)
  // HTTP phase timings (Hit::phaseUs) of the requests that had them, µs, by Phase.
  std::array<Histogram, kPhaseCount> phases;
  std::uint64_t phased = 0;  // requests with phase timings (0: none, e.g. measure() only)
};

struct SocketSummary {
  std::uint64_t opened = 0;
  std::uint64_t closed = 0;  // every socketClose, clean or not
  std::uint64_t failed = 0;  // socketClose without a clean close handshake
  std::uint64_t messagesSent = 0;
  std::uint64_t messagesReceived = 0;
  std::uint64_t bytesSent = 0;
  std::uint64_t bytesReceived = 0;
  bool any() const { return opened || closed || messagesSent || messagesReceived; }
};

// One distinct error or failure (same test, type, message, file and line).
struct ErrorSample {
  bool failure = false;  // addFailure (assertion) rather than addError (exception)
  std::string test, type, message, file;
  int line = 0;
  std::uint64_t count = 0;
};

// The entry that counts every name past a cap (request, test and counter names).
inline constexpr std::string_view kOtherName = "(other)";
// The status code that counts every status past AggregateOptions::maxStatusCodes.
inline constexpr int kOtherStatus = -1;

// One cap that was reached: which names, the cap, the first names past it, how many
// events went to kOtherName (or kOtherStatus) because of it.
struct NameOverflow {
  std::string what;     // "request names", "test names", "counter names", "status codes"
  std::size_t cap = 0;  // the cap in force
  std::vector<std::string> firstNames;  // the first names past the cap, at most 3
  std::uint64_t events = 0;  // hits, test events or counter increments counted as (other)
};

// One sentence that tells the user what an overflow did and what to do about it.
std::string overflowSentence(const NameOverflow& overflow);

// SourceRequests::source of the entry that sums every source at or above the cap.
inline constexpr std::uint32_t kOtherSources = UINT32_MAX;

// Requests one source (an agent in distributed mode, see setSource) started in a second.
struct SourceRequests {
  std::uint32_t source = 0;    // the source, or kOtherSources for all sources >= the cap
  std::uint64_t requests = 0;  // never 0: sources without requests have no entry
  bool operator==(const SourceRequests&) const = default;
};

// One wall-clock second of the run.
struct SecondSample {
  std::int64_t second = 0;         // Unix time, seconds
  std::uint64_t requests = 0;      // hits that started in this second
  std::uint64_t errors = 0;        // of those, failed (status 0 or >= 400)
  std::uint64_t testFailures = 0;  // addFailure + addError calls in this second
  std::int64_t p50Us = 0;          // latency percentiles of those hits, µs
  std::int64_t p95Us = 0;
  std::int64_t p99Us = 0;
  std::uint32_t users = 0;  // active users: per source the max seen, summed
  // false when the second was summarised before all its hits arrived (a hit that took
  // longer than the window): requests/errors stay exact, percentiles miss those hits.
  bool complete = true;
  std::uint64_t dropped = 0;  // open model: hits planned in this second and dropped
  double target = -1;         // stages/rate: target users or rate at the second's start; -1 none
  // `requests` by source, ascending (kOtherSources last); the entries sum to `requests`.
  std::vector<SourceRequests> bySource;
};

struct Snapshot {
  std::int64_t runStartedUs = 0;   // earliest startTestRun, µs since epoch; 0 = not yet
  std::int64_t runStoppedUs = 0;   // latest stopTestRun; 0 = none yet
  std::int64_t firstEventUs = 0;   // earliest event time seen; 0 = none
  std::int64_t lastEventUs = 0;    // latest event time seen
  std::uint32_t currentUsers = 0;  // users in the latest second that saw any
  std::uint32_t maxUsers = 0;      // largest per-second user count
  std::map<std::string, TestSummary> tests;
  std::map<std::string, RequestSummary> requests;             // by request name
  RequestSummary allRequests;                                 // every request name merged
  std::map<std::string, std::int64_t, std::less<>> counters;  // incrCounter totals by name
  SocketSummary sockets;
  std::vector<ErrorSample> errors;    // most frequent first
  std::uint64_t errorsDropped = 0;    // occurrences of distinct errors beyond the cap
  std::vector<SecondSample> seconds;  // ascending by second
  std::map<std::uint32_t, std::uint64_t> requestsBySource;  // see setSource()
  std::uint64_t droppedHits = 0;        // open model: addDropped calls, all tests
  std::string targetKind;               // "users" (--stages), "rate" (--rate) or "" (none)
  double currentTarget = -1;            // the target now (see setTarget); -1 = none
  std::vector<NameOverflow> overflows;  // caps reached, in the order of NameOverflow::what
};

struct AggregateOptions {
  // Wall clock in µs since the Unix epoch, for events that carry no time (default:
  // std::chrono::system_clock). Tests pass a fake.
  std::function<std::int64_t()> clock;
  // Seconds kept with full histograms before they are summarised (default 10).
  int liveWindowSeconds = 10;
  // Distinct error samples kept; further distinct ones are only counted (default 100).
  std::size_t maxErrorSamples = 100;
  // Sources 0 .. seriesSources-1 get their own requests in each second's bySource; the
  // requests of higher sources are summed under kOtherSources (default 10: one chart
  // line per agent stays readable, and a second costs at most 11 entries).
  std::uint32_t seriesSources = 10;
  // Summarised seconds the series keeps (default 172,800: two days) besides the live
  // window; past it, a new second's totals are added to the nearest kept second, marked
  // incomplete.
  std::size_t maxSeriesSeconds = 172'800;
  // Distinct request names kept per run (loads-master --max-names, default 1,000); the
  // requests of further names are counted under kOtherName.
  std::size_t maxNames = 1000;
  // Distinct test names and counter names (all tests together) kept (default 1,000 each).
  std::size_t maxTests = 1000;
  std::size_t maxCounters = 1000;
  // Distinct status codes kept, all requests together (default 100); others count under
  // kOtherStatus.
  std::size_t maxStatusCodes = 100;
};

class AggregateResult final : public TestResult {
 public:
  explicit AggregateResult(AggregateOptions options = {});
  ~AggregateResult() override;
  AggregateResult(const AggregateResult&) = delete;
  AggregateResult& operator=(const AggregateResult&) = delete;

  // Every call is forwarded to `observer` after it is counted. The observer must outlive
  // this object. Not thread-safe: add observers before the run starts.
  void addObserver(TestResult& observer);

  // Tags the events the calling thread reports from now on as coming from `source`
  // (default 0): the master's receiver sets the agent's index before forwarding its
  // batch. Active users per second are summed over sources.
  void setSource(std::uint32_t source);

  Snapshot snapshot() const;

  // The run's target over time ("users" or "rate" and the target at a wall-clock time in
  // µs since the epoch), shown in the live line and the per-second series. Set before
  // the run starts.
  using TargetFunction = std::function<double(std::int64_t epochUs)>;
  void setTarget(std::string kind, TargetFunction target);

  // The run spans the earliest start to the latest stop reported (several slaves each
  // start and stop their share). startTestRun()/stopTestRun() count at now().
  void startTestRun() override;
  void stopTestRun() override;
  // The same, at a time the reporter measured (µs since the epoch): a slave's own clock.
  void startTestRunAt(std::int64_t epochUs);
  void stopTestRunAt(std::int64_t epochUs);
  void startTest(std::string_view test, const LoadsStatus&) override;
  void stopTest(std::string_view test, std::chrono::microseconds elapsed,
                const LoadsStatus&) override;
  void addSuccess(std::string_view test, const LoadsStatus&) override;
  void addFailure(std::string_view test, const Failure&, const LoadsStatus&) override;
  void addError(std::string_view test, const Failure&, const LoadsStatus&) override;
  void addSkip(std::string_view test, std::string_view reason, const LoadsStatus&) override;
  void addCancelled(std::string_view test, const LoadsStatus&) override;
  void addHit(const Hit&, const LoadsStatus&) override;
  void incrCounter(std::string_view test, std::string_view name, std::int64_t value,
                   const LoadsStatus&) override;
  void socketOpen(std::string_view url, const LoadsStatus&) override;
  void socketMessage(std::string_view url, Direction, std::uint64_t size,
                     const LoadsStatus&) override;
  void socketClose(std::string_view url, const SocketClose&, const LoadsStatus&) override;
  void addDropped(std::string_view test, std::int64_t plannedStartUs, const LoadsStatus&) override;
  // Kept by source, for --rebalance (rowClaims); not in the snapshot nor passed to observers.
  void claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo, bool exact) override;
  // What `source`'s unique feeders claimed (run/row_runs.hpp).
  RowClaims rowClaims(std::uint32_t source) const;
  void forgetRowClaims();  // a new load cycle numbers its sources afresh

  // Counts a slave's summary of an interval (--results summary, SummaryBuilder) exactly as
  // its calls replayed one by one would have been counted, under the calling thread's
  // source. The observers are not called: a summary carries no single calls.
  void mergeSummary(const IntervalSummary& summary);

 private:
  struct SecondData;
  struct Series;
  struct Shard;
  struct NameCaps;
  Shard& shard();
  std::int64_t now() const;
  std::int64_t eventNow() const;  // now(), coarse: for events without a time of their own
  template <class Update>
  void countTestEvent(std::string_view test, const LoadsStatus&, bool testFailure, Update&& update);
  template <class Update>
  void countSocketEvent(Update&& update);
  void mergeShard(Shard& shard, Snapshot& snap,
                  std::map<std::string, ErrorSample, std::less<>>& errors,
                  std::map<std::int64_t, SecondData>& pending) const;
  std::vector<SecondSample> mergedSeconds(std::map<std::int64_t, SecondData>& pending) const;
  void addTestError(std::string_view test, const Failure&, const LoadsStatus&, bool failure);
  void mergeSummaryCounts(Shard& shard, const IntervalSummary& summary);

  AggregateOptions options_;
  const std::uint64_t instanceId_;  // tells this object's shards from a reused address's
  std::vector<TestResult*> observers_;
  mutable std::mutex shardsMutex_;  // guards shards_ (the list, not their contents)
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<Series> series_;
  std::unique_ptr<NameCaps> caps_;
  std::int64_t runStartedUs_ = 0;  // guarded by shardsMutex_
  std::int64_t runStoppedUs_ = 0;
  mutable std::mutex claimsMutex_;             // guards claims_
  std::map<std::uint32_t, RowClaims> claims_;  // by source
  std::string targetKind_;                     // set before the run
  TargetFunction target_;
};

}  // namespace loads
