// The broker commands of loads-master: --ping (the broker's agents and runs), --stop RUN
// and --purge (stop every run). Each asks the broker once and prints its answer.
// Not thread-safe: called from main()'s thread.
#pragma once

#include "master/options.hpp"

namespace loads::master {

// Whether the options ask for one of the broker commands rather than a run.
bool isBrokerCommand(const MasterOptions& options);

// Runs the command; returns the exit code: 0, or 3 when the broker does not answer or
// answers with an ERROR.
int runBrokerCommand(const MasterOptions& options);

}  // namespace loads::master
