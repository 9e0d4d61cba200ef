// ChildDriver: loads-master without --agents (and without --in-process). The test code
// runs in a child loads-slave, the one the agents run, cycle by cycle (one slave each),
// so a crash of the test code ends the slave, never the master: the master replays the
// slave's events from the EventRing they share (RingReader: every event the slave
// recorded, whether it exits or dies; the slave runs with --results ring and sends
// nothing), and reports the crash (exit 3).
//
// Not thread-safe except clock(), which the dashboard's thread reads. `options`,
// `result` and `waiter` must outlive the driver.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "master/options.hpp"
#include "master/run_driver.hpp"
#include "master/signals.hpp"
#include "proto/results.hpp"

namespace loads {
class AggregateResult;
}

namespace loads::agent {
class RingedSlave;
}

namespace loads::master {

class RingReader;

class ChildDriver : public RunDriver {
 public:
  ChildDriver(const MasterOptions& options, AggregateResult& result, Waiter& waiter);
  ~ChildDriver() override;

  const char* mode() const override { return "local"; }
  // Loads the library here (its errors are exit 2 before any slave starts), finds
  // loads-slave.
  int prepare() override;
  std::size_t cycles() const override;
  bool canGoOn() const override { return problems_.empty(); }
  int startCycle(std::size_t index) override;
  void advance() override;
  std::optional<std::chrono::milliseconds> pollInterval() const override;
  bool cycleFinished() const override { return finished_; }
  void requestStop(StopKind kind) override;
  CycleTime clock() const override;
  void wrapUp() override;
  // Prints the crash or the slave's failure and any missing events (exit 3).
  RunEnding end(const Snapshot& snapshot) override;

 private:
  using SteadyClock = std::chrono::steady_clock;
  void endCycle();

  const MasterOptions& options_;
  AggregateResult& result_;
  Waiter& waiter_;
  std::vector<std::string> tests_;  // full names of the tests selected
  std::string library_;             // the library's absolute path
  std::string slaveBinary_;
  std::unique_ptr<agent::RingedSlave> slave_;
  std::unique_ptr<RingReader> reader_;  // the running cycle's slave's ring
  std::string runId_;
  std::optional<SteadyClock::time_point> exitedAt_;  // the running cycle's slave ended
  bool finished_ = false;
  bool stopping_ = false;
  std::chrono::system_clock::time_point startedAt_;
  std::atomic<SteadyClock::rep> cycleStartTicks_{0};  // for clock(); 0 = not started
  std::vector<std::string> problems_;                 // one sentence each: exit 3
  std::vector<proto::CrashInfo> crashes_;
};

// The report's account of a crash; `agent` "" for local mode's slave.
CrashFacts crashFacts(const proto::CrashInfo& crash, std::string agent);

// loads-slave for this loads-master: $LOADS_SLAVE_BINARY, else next to this executable
// (an install), else in ../agent/ (the build tree); "" when none is there.
std::string findSlaveBinary();

}  // namespace loads::master
