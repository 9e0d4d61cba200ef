// TestResult: the data collector every part of a run reports to.
//
// The interface follows Python unittest's TestResult (startTestRun, startTest,
// addSuccess, ...) plus the load-testing calls (addHit, incrCounter, socket events),
// so that any component taking a TestResult takes the aggregating implementation, the
// TestResultProxy of a slave runner, or an output observer alike.
//
// Thread-safety: implementations are called concurrently from every runner thread.
// Every method has an empty default so observers override only what they need.
// `test` is the test's full name, "Class.method".
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "loads/status.hpp"

namespace loads {

class TestResult {
 public:
  virtual ~TestResult() = default;

  virtual void startTestRun() {}
  virtual void stopTestRun() {}

  virtual void startTest(std::string_view /*test*/, const LoadsStatus&) {}
  // elapsed: the hit's duration (setUp + test + tearDown).
  virtual void stopTest(std::string_view /*test*/, std::chrono::microseconds /*elapsed*/,
                        const LoadsStatus&) {}
  virtual void addSuccess(std::string_view /*test*/, const LoadsStatus&) {}
  virtual void addFailure(std::string_view /*test*/, const Failure&, const LoadsStatus&) {}
  virtual void addError(std::string_view /*test*/, const Failure&, const LoadsStatus&) {}
  virtual void addSkip(std::string_view /*test*/, std::string_view /*reason*/, const LoadsStatus&) {
  }
  // A hit cut short when the run stopped: neither success nor failure.
  virtual void addCancelled(std::string_view /*test*/, const LoadsStatus&) {}

  virtual void addHit(const Hit&, const LoadsStatus&) {}
  virtual void incrCounter(std::string_view /*test*/, std::string_view /*name*/,
                           std::int64_t /*value*/, const LoadsStatus&) {}

  virtual void socketOpen(std::string_view /*url*/, const LoadsStatus&) {}
  virtual void socketMessage(std::string_view /*url*/, Direction, std::uint64_t /*size*/,
                             const LoadsStatus&) {}
  virtual void socketClose(std::string_view /*url*/, const SocketClose&, const LoadsStatus&) {}
  // Open model: a hit planned at plannedStartUs (µs since the epoch) found no free user
  // and was not run (k6's dropped_iterations).
  virtual void addDropped(std::string_view /*test*/, std::int64_t /*plannedStartUs*/,
                          const LoadsStatus&) {}
  // A unique CSV feeder's progress in run `run` of its rows (run/row_runs.hpp): elements
  // below `upTo` may have been dealt, or, when `exact`, exactly those were (the runner's
  // last word). The master re-deals the rest when the runner leaves a distributed run
  // early (--rebalance); nothing else reads it.
  virtual void claimRows(std::string_view /*feed*/, std::uint32_t /*run*/, std::uint64_t /*upTo*/,
                         bool /*exact*/) {}
};

}  // namespace loads
