// IntervalSummary: what a slave's TestResult calls of one interval add up to, in the form
// AggregateResult::mergeSummary() takes (--results summary, docs/distributed.md). The
// SummaryBuilder folds calls into it; proto/summary.hpp carries it as a SUMMARY message.
//
// Merging a summary gives the aggregate exactly what replaying its calls would have: every
// list that a cap of the aggregate reads (request, test, counter and status names, error
// samples) keeps the order in which the calls first named each entry, and every entry says
// how many calls it folds, so names past a cap are counted as they would have been one by
// one. Plain data, no thread-safety of its own.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "run/row_runs.hpp"
#include "stats/aggregate_result.hpp"
#include "stats/histogram.hpp"

namespace loads {

struct IntervalSummary {
  struct Test {  // one test name, in the order the calls first named it
    std::string name;
    TestSummary counts;  // its `counters` stay empty: incrCounter calls are in `counters`
    // Calls that named this test (a cap counts them past it); incrCounter calls are in
    // Counter::events.
    std::uint64_t calls() const {
      const TestSummary& c = counts;
      return c.started + c.stopped + c.successes + c.failures + c.errors + c.skips + c.cancelled +
             c.dropped;
    }
  };
  struct Request {  // one request name, in the order of its first hit
    std::string name;
    RequestSummary counts;  // its `statusCodes` stay empty: the hits by status are `statuses`
  };
  struct Status {  // hits of one (request, status), in the order of the pair's first hit
    std::uint32_t request = 0;  // index into requests
    int status = 0;
    std::uint64_t count = 0;
  };
  struct Counter {           // one (test, counter name), in the order of its first increment
    std::int64_t test = -1;  // index into tests; -1 = incrCounter without a test
    std::string name;
    std::int64_t value = 0;    // the sum, saturating at the int64 limits
    std::uint64_t events = 0;  // incrCounter calls
  };
  struct Error {  // one distinct error sample, in the order of its first occurrence
    bool failure = false;
    std::string test, type, message, file;
    int line = 0;
    std::uint64_t count = 0;
  };
  struct Second {             // one wall-clock second, ascending
    std::int64_t second = 0;  // Unix time
    std::uint64_t requests = 0, errors = 0, testFailures = 0, dropped = 0;
    std::uint32_t users = 0;  // the most active users a call of this second reported
    Histogram latency;        // of the hits that started in it
  };

  std::uint64_t events = 0;       // TestResult calls folded into this summary
  std::int64_t runStartedUs = 0;  // earliest startTestRun in it; 0 = none
  std::int64_t runStoppedUs = 0;  // latest stopTestRun; 0 = none
  std::int64_t firstEventUs = 0;  // as Snapshot::firstEventUs, over these calls; 0 = none
  std::int64_t lastEventUs = 0;
  std::vector<Test> tests;
  std::vector<Request> requests;
  std::vector<Status> statuses;
  std::vector<Counter> counters;
  SocketSummary sockets;
  std::vector<Error> errors;
  std::vector<Second> seconds;
  RowClaims rows;  // claimRows calls folded: the latest word per (feed, run)
};

}  // namespace loads
