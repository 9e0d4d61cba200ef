// Rebalance: the new split of a distributed run after an agent left it early
// (loads-master --rebalance; REBALANCE in proto/PROTOCOL.md §5.1), and how the reports
// show it (console, JSON "rebalances", HTML).
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "proto/messages.hpp"
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

// One rebalance as the reports show it.
struct RebalanceEvent {
  struct Share {
    std::string agentId, host;
    std::uint32_t index = 0;  // new index, 0-based
    std::uint32_t users = 0;  // closed model: users; open model: its --max-users pool
  };
  std::uint64_t atMs = 0;        // when the master decided it, since the run's start
  std::string lostId, lostHost;  // the agent that left
  std::string reason;            // why it left ("no heartbeat for 5000 ms", ...)
  std::uint64_t fromMs = 0;      // schedules: applies from this offset into the schedule
  std::int64_t appliesAtUs = 0;  // the same as wall clock µs (closed run: when it was sent)
  std::optional<std::uint64_t> firstArrival;  // open model: the first re-split arrival
  std::uint32_t count = 0;                    // agents sharing the run from then on
  std::vector<Share> shares;
};

// The event for `rebalance`: each share's users from the run's totals in `job`.
RebalanceEvent describeRebalance(const proto::Rebalance& rebalance,
                                 const std::vector<ShareHolder>& holders,
                                 const proto::JobOptions& job, const RunOptions& run);
void printRebalances(const std::vector<RebalanceEvent>& events, std::ostream& out);
nlohmann::ordered_json rebalancesJson(const std::vector<RebalanceEvent>& events);

}  // namespace loads::master
