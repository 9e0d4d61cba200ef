// Master: what loads-master does once its options are parsed.
//
// Local mode runs the Runner in-process; both modes feed one AggregateResult whose
// snapshot drives the live line, the final report and the JSON file.
// Not thread-safe: construct and run from main().
#pragma once

#include <chrono>
#include <vector>

#include "master/options.hpp"
#include "master/signals.hpp"
#include "report/json_output.hpp"

namespace loads::master {

class Master {
 public:
  // `signals` must outlive the Master.
  Master(MasterOptions options, SignalWaiter& signals);
  // Runs what the options ask for; returns the process exit code (design.md §8).
  int run();

 private:
  int runLocal();

  MasterOptions options_;
  SignalWaiter& signals_;
};

}  // namespace loads::master
