// DistributedDriver: loads-master with --agents N. It asks the broker for agents (RUN),
// receives every result event on its own PULL socket (ResultsReceiver) into the same
// AggregateResult as local mode, follows the agents until each has ended or been lost
// (answering the broker's heartbeats, moving a lost agent's share with --rebalance), and
// reports events sent vs received per agent (docs/distributed.md, PROTOCOL.md §5.1).
// A cycle is one RUN on the broker: -u 10:20 --hits 5:10 is four RUNs, one after the
// other, each split over the agents the broker picks for it.
//
// Not thread-safe except clock(), which the dashboard's thread reads. `options`,
// `result` and `waiter` must outlive the driver.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "master/options.hpp"
#include "master/rebalance.hpp"
#include "master/run_driver.hpp"
#include "master/signals.hpp"
#include "proto/messages.hpp"

namespace loads {
class AggregateResult;
}

namespace loads::master {

class BrokerLink;
class ResultsReceiver;
struct AgentRow;

class DistributedDriver : public RunDriver {
 public:
  DistributedDriver(const MasterOptions& options, AggregateResult& result, Waiter& waiter);
  ~DistributedDriver() override;

  const char* mode() const override { return "distributed"; }
  // Checks the options against the agents, loads the library here (fail here, not on
  // every agent), binds and starts the results receiver.
  int prepare() override;
  std::size_t cycles() const override;
  // False once a problem ended the run (it is reported) or a stop was asked for.
  bool canGoOn() const override;
  // Sends RUN and waits for RUN-ACCEPTED: 3 when no broker answers or agents are
  // missing, 2 when the broker refuses the options.
  int startCycle(std::size_t index) override;
  void advance() override;
  std::optional<std::chrono::milliseconds> pollInterval() const override;
  bool cycleFinished() const override { return finished_; }
  // Graceful: STOP to the broker, then wait for the agents (--stop-timeout + 15 s).
  // Hard: stop waiting and report what arrived (a problem: exit 3).
  void requestStop(StopKind kind) override;
  CycleTime clock() const override;
  std::string liveColumns() const override;
  std::vector<DashboardAgent> agents() const override;
  // Leaves the broker (which stops the run if it still goes on), drains the results.
  void wrapUp() override;
  // Prints the agents, rebalances and problems; any problem is exit 3.
  RunEnding end(const Snapshot& snapshot) override;

 private:
  using SteadyClock = std::chrono::steady_clock;
  void followProblem(std::string text);
  void finishCycle();

  const MasterOptions& options_;
  AggregateResult& result_;
  Waiter& waiter_;
  std::vector<std::string> tests_;  // full names of the tests selected
  proto::Bytes library_;            // the test library sent with RUN
  proto::ResultsCurve curve_;       // the run key given to the slaves; none
  std::unique_ptr<ResultsReceiver> receiver_;
  std::unique_ptr<BrokerLink> link_;
  proto::JobOptions job_;  // what every agent runs
  std::string runId_;
  std::vector<AgentRow> rows_;                        // the running cycle's agents
  std::vector<AgentRow> allRows_;                     // every finished cycle's, for the report
  std::size_t cycle_ = 0;                             // the running (or last) cycle
  std::map<std::uint32_t, std::uint64_t> cycleBase_;  // requests by source when it began
  std::chrono::system_clock::time_point startedAt_;
  SteadyClock::time_point runStart_;
  std::atomic<SteadyClock::rep> runStartTicks_{0};  // runStart_ for clock(); 0 = not started
  std::atomic<bool> stopping_{false};               // a graceful stop was requested
  std::optional<SteadyClock::time_point> giveUpAt_;
  bool finished_ = false;
  // Why the follow ended early: said at once, and kept for the report's problems (exit 3).
  std::vector<std::string> followProblems_;
  std::vector<RebalanceEvent> rebalances_;
  std::optional<proto::Rebalance> lastSplit_;  // --rebalance: the running cycle's last split
  // What every JOB adds to jobOptions(): the user mix, --param and --include (with the
  // files' bytes for the RUN).
  proto::JobOptions data_;
  std::vector<proto::Bytes> files_;
};

}  // namespace loads::master
