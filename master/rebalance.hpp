// Rebalance: the new split of a distributed run after an agent left it early
// (loads-master --rebalance; REBALANCE in proto/PROTOCOL.md §5.1), and how the reports
// show it (console; report/json_output.hpp writes it to the JSON).
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "proto/messages.hpp"
#include "report/run_facts.hpp"
#include "run/runner.hpp"

namespace loads::master {

// An agent that still runs the run, with the index of its current share.
struct ShareHolder {
  std::string agentId;      // its id
  std::string host;         // its host
  std::uint32_t index = 0;  // its current share's index (the RUN-ACCEPTED one at first)
};

// The new split: the holders keep their order (by current index) and take indices
// 0..n-1, so that no share shrinks (docs/distributed.md). `fromMs` is the schedule
// offset from which it applies (0 for a closed run without stages).
proto::Rebalance planRebalance(const std::string& runId, std::vector<ShareHolder> holders,
                               std::uint64_t fromMs, const std::string& lost);

// One rebalance as the reports show it (the JSON writer's plain facts).
using RebalanceEvent = RebalanceFacts;

// The event for `rebalance`: each share's users from the run's totals in `job`.
RebalanceEvent describeRebalance(const proto::Rebalance& rebalance,
                                 const std::vector<ShareHolder>& holders,
                                 const proto::JobOptions& job, const RunOptions& run);
void printRebalances(const std::vector<RebalanceEvent>& events, std::ostream& out);

}  // namespace loads::master
