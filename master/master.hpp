// Master: what loads-master does once its options are parsed.
//
// A run, local or distributed, is one FollowLoop over a driver (LocalDriver runs the
// Runner in-process, DistributedDriver runs it on agents); both feed one AggregateResult
// whose snapshot drives the live line, the final report and the JSON file. Besides runs:
// --list, --report, and the broker commands (--ping, --stop, --purge).
// Not thread-safe: construct and run from main().
#pragma once

#include "master/options.hpp"
#include "master/signals.hpp"

namespace loads::master {

class Master {
 public:
  // `signals` must outlive the Master.
  Master(MasterOptions options, Waiter& signals);
  // Runs what the options ask for; returns the process exit code (design.md §8).
  int run();

 private:
  MasterOptions options_;
  Waiter& signals_;
};

}  // namespace loads::master
