// LiveDashboard: loads-master --web for one run. It turns the run's AggregateResult
// snapshot (plus the run's clock and, in distributed mode, its agents) into the compact
// JSON state the page shows, serves it with a WebDashboard, and calls onStop when the
// page's Stop button is pressed (the master makes that a Ctrl-C).
//
// Thread-safety: the state is built on the dashboard's thread from
// AggregateResult::snapshot() (thread-safe) and from what setAgents() stored under a
// mutex; setAgents() and finish() are called by the thread that runs the run. The
// result must outlive the LiveDashboard.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "master/web_dashboard.hpp"

namespace loads {
class AggregateResult;
struct Snapshot;
}  // namespace loads

namespace loads::master {

// An agent of a distributed run, as the page lists it.
struct DashboardAgent {
  std::string id;                    // the broker's agent id
  std::string host;                  // where it runs
  std::uint32_t index = 0;           // its source index in the AggregateResult
  std::string state;                 // "running", "done" or "lost"
  std::uint64_t eventsReceived = 0;  // result events received from it so far
};

// Where the run is in time.
struct DashboardClock {
  std::chrono::microseconds elapsed{0};                // since the run started
  std::optional<std::chrono::microseconds> remaining;  // duration-bound runs only
  bool stopping = false;                               // the run is stopping
};

class LiveDashboard {
 public:
  using ClockFn = std::function<DashboardClock()>;
  // Starts serving `result` on `address`; prints "dashboard: URL" on stdout, and a
  // warning on stderr when the address is not loopback. `mode` is "local" or
  // "distributed". Returns nullptr after printing one sentence when it cannot bind.
  // `metrics`, when given, is served at /metrics (see DashboardOptions::metrics).
  static std::unique_ptr<LiveDashboard> start(const WebAddress& address, std::string mode,
                                              const AggregateResult& result, ClockFn clock,
                                              std::function<void()> onStop,
                                              std::function<std::string()> metrics = {});
  ~LiveDashboard();

  // Replaces the agents shown (distributed mode).
  void setAgents(std::vector<DashboardAgent> agents);
  // The run is over: shows `final` (the snapshot the reports are made of) on every page.
  void finish(const Snapshot& final);
  // The JSON state every page receives for `snap` (what the page's script renders).
  std::string state(const Snapshot& snap, bool finished) const;

 private:
  LiveDashboard(std::string mode, const AggregateResult& result, ClockFn clock);

  const std::string mode_;
  const AggregateResult& result_;
  ClockFn clock_;
  mutable std::mutex mutex_;  // guards agents_ and stopRequested_
  std::vector<DashboardAgent> agents_;
  bool stopRequested_ = false;
  std::unique_ptr<WebDashboard> web_;  // last: its thread calls state()
};

}  // namespace loads::master
