// LocalDriver: loads-master --in-process (without --agents). Runs the Runner in-process, cycle by
// cycle, each on a thread of its own while the follow loop (FollowLoop) follows it on
// the main thread; every event goes straight into the run's AggregateResult.
//
// Not thread-safe except clock(), which the dashboard's thread reads. `options`,
// `result` and `waiter` must outlive the driver; the waiter is woken (notifyDone) when a
// cycle ends.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "master/options.hpp"
#include "master/run_driver.hpp"
#include "master/signals.hpp"
#include "run/test_library.hpp"

namespace loads {
class AggregateResult;
class Runner;
}  // namespace loads

namespace loads::master {

// One sentence when no request at all reached the server: the usual cause is a wrong
// --server-url or a server that is down.
void explainUnreachable(const Snapshot& snap, const std::string& serverUrl);

class LocalDriver : public RunDriver {
 public:
  LocalDriver(const MasterOptions& options, AggregateResult& result, Waiter& waiter);
  ~LocalDriver() override;

  const char* mode() const override { return "local"; }
  int prepare() override;
  std::size_t cycles() const override;
  int startCycle(std::size_t index) override;
  void advance() override {}
  std::optional<std::chrono::milliseconds> pollInterval() const override { return std::nullopt; }
  bool cycleFinished() const override { return cycleDone_; }
  void requestStop(StopKind kind) override;
  CycleTime clock() const override;
  void wrapUp() override;
  RunEnding end(const Snapshot& snapshot) override;

 private:
  const MasterOptions& options_;
  AggregateResult& result_;
  Waiter& waiter_;
  TestLibrary library_;  // loaded: the tests' code lives in it
  std::vector<SelectedTest> tests_;
  std::unique_ptr<Runner> runner_;
  std::thread cycleThread_;
  std::atomic<bool> cycleDone_{false};
  bool started_ = false;  // runner_->start() was called
  std::chrono::system_clock::time_point startedAt_;
};

}  // namespace loads::master
