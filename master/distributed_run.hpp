// DistributedRun: loads-master with --agents N (and the broker commands --ping, --stop,
// --purge). It asks the broker for agents (RUN), receives every result event on its own
// PULL socket (ResultsReceiver) into the same AggregateResult and outputs as local mode,
// follows the agents until each has ended or been lost, and reports events sent vs
// received per agent (docs/distributed.md, PROTOCOL.md §5.1).
//
// Not thread-safe: construct and run from main(). `options` and `signals` must outlive it.
#pragma once

#include "master/options.hpp"
#include "master/signals.hpp"

namespace loads::master {

class DistributedRun {
 public:
  DistributedRun(const MasterOptions& options, SignalWaiter& signals);
  // Runs what the options ask for; returns the exit code (design.md §8): 3 when the
  // broker does not answer, agents are missing or lost, or events went missing.
  int run();

 private:
  int ping();
  int stopRun();
  int purge();
  int runOnAgents();

  const MasterOptions& options_;
  SignalWaiter& signals_;
};

}  // namespace loads::master
