// jobOptions: what a slave runs for one load cycle (PROTOCOL.md §5.1 JobOptions), from
// the master's options: every agent of a distributed cycle, and the local master's child
// slave, run the same.
#pragma once

#include <chrono>
#include <cstddef>

#include "master/options.hpp"
#include "proto/messages.hpp"

namespace loads::master {

// Cycle `cycle` (0-based); a --rate or --stages schedule starts `scheduleLead` from now.
proto::JobOptions jobOptions(const MasterOptions& o, std::size_t cycle,
                             std::chrono::milliseconds scheduleLead);

}  // namespace loads::master
