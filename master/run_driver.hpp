// RunDriver: what a run mode does under the master's one follow loop (FollowLoop), as
// Locust's LocalRunner and MasterRunner do under its Runner. LocalDriver runs the Runner
// in-process; DistributedDriver runs the run on agents through the broker. The loop owns
// the lifecycle (dashboard, live line, stop requests, --abort-on-fail, the ending); a
// driver owns the work and what only its mode knows.
//
// The lifecycle, all from the loop's thread: prepare(); then for each cycle in order
// startCycle(i) and, until cycleFinished(), advance() between waits, requestStop() on
// a stop request; later cycles do not start once a stop was requested; then wrapUp()
// and end(). clock() is also called from the dashboard's thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "master/live_dashboard.hpp"
#include "report/json_output.hpp"
#include "report/run_facts.hpp"

namespace loads {
struct Snapshot;
}

namespace loads::master {

// The first stop request is graceful: no new hits, hits in flight get --stop-timeout.
// The second is hard: stop now (cancel the hits in flight, or stop waiting for agents).
enum class StopKind { kGraceful, kHard };

// Where the running cycle is in time, for the live line and the dashboard.
struct CycleTime {
  std::chrono::microseconds elapsed{0};                // since the cycle started
  std::optional<std::chrono::microseconds> remaining;  // duration-bound cycles only
  bool stopping = false;                               // the run is stopping
};

// What the report and the exit code need from the mode, once the run is over.
struct RunEnding {
  int code = 0;  // 0: the tests decide (0 or 1); else the mode's verdict (3: infrastructure)
  std::vector<std::string> tests;                   // full names of the tests run
  std::chrono::system_clock::time_point startedAt;  // when the first cycle started
  std::optional<DistributedFacts> distributed;      // the distributed mode's facts; none
  std::vector<CrashFacts> crashes;                  // slaves the test code crashed; none
};

class RunDriver {
 public:
  virtual ~RunDriver() = default;

  // "local" or "distributed" (the dashboard shows it).
  virtual const char* mode() const = 0;
  // Everything before the first cycle: load and check the library, bind sockets.
  // Returns 0 when ready, else the exit code after printing one sentence.
  virtual int prepare() = 0;
  // The run's cycles (-u 10:20 --hits 5:10 is four); at least 1.
  virtual std::size_t cycles() const = 0;
  // Starts cycle `index` (0-based), the previous one being over. Returns 0, or the exit
  // code after printing why the run cannot go on (no agents, broker unreachable).
  virtual int startCycle(std::size_t index) = 0;
  // Does the work due now without blocking (broker messages, heartbeats).
  virtual void advance() = 0;
  // How long the loop may wait before advance() is due again; nullopt when the driver
  // wakes the loop itself (Waiter::notifyDone) when its cycle is over.
  virtual std::optional<std::chrono::milliseconds> pollInterval() const = 0;
  // Whether the running cycle is over (ended, stopped, or given up on).
  virtual bool cycleFinished() const = 0;
  // Whether a further cycle may start once this one is over: false after a problem that
  // ends the run (broker gone, agents lost: the driver reports it). True by default.
  virtual bool canGoOn() const { return true; }
  // Passes on a stop request; says on stderr what it does.
  virtual void requestStop(StopKind kind) = 0;
  // Thread-safe: also read by the dashboard's thread.
  virtual CycleTime clock() const = 0;
  // Appended to the live line ("  agents 2/3"); none by default.
  virtual std::string liveColumns() const { return {}; }
  // The agents as the dashboard lists them; none by default.
  virtual std::vector<DashboardAgent> agents() const { return {}; }
  // The follow is over: ends what still runs (joins threads, leaves the broker) and
  // drains the results. After it, the AggregateResult no longer changes.
  virtual void wrapUp() = 0;
  // After the console report: prints the mode's part of it and returns the mode's facts.
  virtual RunEnding end(const Snapshot& snapshot) = 0;
};

}  // namespace loads::master
