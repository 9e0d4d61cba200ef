// FollowLoop: the master's one follow loop, over a RunDriver (local or distributed),
// shaped like Locust's Runner over LocalRunner and MasterRunner. It owns a run's
// lifecycle for both modes:
//   - the start: driver.prepare(), the --web dashboard, each cycle in turn;
//   - the ticks: the live line every interval (1 s on a terminal, 10 s elsewhere),
//     the --abort-on-fail check every second, the dashboard's agents;
//   - the stop requests: Ctrl-C (or SIGTERM, or the dashboard's Stop, which is a
//     Ctrl-C) once asks the driver for a graceful stop, twice for a hard one; a
//     threshold that can no longer pass counts as the first;
//   - the ending: finishLive, the console report, the driver's part, the thresholds
//     and report files, the exit code (design.md §8).
//
// Not thread-safe: construct and run on the master's main thread. The options, driver,
// result and waiter must outlive it. Time comes from `now` so tests can drive it.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <optional>

#include "master/clock.hpp"
#include "master/cycle_lines.hpp"
#include "master/options.hpp"
#include "master/run_driver.hpp"
#include "master/signals.hpp"
#include "report/console_output.hpp"

namespace loads {
class AggregateResult;
}

namespace loads::master {

class LiveDashboard;
class MetricsEndpoint;

// Where the loop's time and console come from; real() is the process's own.
struct FollowSeams {
  NowFunction now;    // the clock of the live line and the --abort-on-fail check
  std::ostream* out;  // the live line and the console report
  bool terminal;      // redraw the live line in place, every second (else every 10 s)
  static FollowSeams real();
};

class FollowLoop {
 public:
  FollowLoop(const MasterOptions& options, RunDriver& driver, AggregateResult& result,
             Waiter& waiter, FollowSeams seams = FollowSeams::real());
  ~FollowLoop();

  // Runs the whole run; returns the process exit code.
  int run();

 private:
  void follow();
  void tick();
  void onStopRequest();
  void checkThresholds();
  LiveInfo liveInfo() const;
  std::chrono::milliseconds untilDue() const;
  int end();

  const MasterOptions& options_;
  RunDriver& driver_;
  AggregateResult& result_;
  Waiter& waiter_;
  FollowSeams seams_;
  ConsoleOutput console_;
  const bool live_;                     // not --quiet
  const Clock::duration liveInterval_;  // 1 s on a terminal, 10 s elsewhere
  TimePoint nextLive_;
  TimePoint nextCheck_;                       // --abort-on-fail: every second
  int stopRequests_ = 0;                      // Ctrl-C, dashboard Stop, --abort-on-fail
  std::optional<std::size_t> abortedBy_;      // the threshold that stopped the run
  std::unique_ptr<MetricsEndpoint> metrics_;  // --metrics or --web: /metrics
  std::unique_ptr<LiveDashboard> dashboard_;
  std::vector<CycleFacts> cycleLines_;  // one per cycle that ran, in order
};

}  // namespace loads::master
