// Cycle lines: one per load cycle of a run (-u 10:20:30, --hits 5:10), the same in both
// modes: what the cycle ran, taken as the difference between the run's totals when it
// ended and when it began. The follow loop records one after each cycle (the local
// runner's events are all in by then, and so are the agents' STOP-TEST-RUN totals); the
// console, the JSON report ("cycles", written from RunFacts) and the HTML report show them.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <vector>

#include "report/run_facts.hpp"

namespace loads {
struct Snapshot;
}

namespace loads::master {

// The run's totals that a cycle line is the difference of.
struct CycleTotals {
  std::uint64_t hits = 0, successes = 0, failures = 0, errors = 0, skips = 0;
  std::uint64_t requests = 0, requestFailures = 0;
};
CycleTotals totalsOf(const Snapshot& snapshot);

// The line of a cycle from the totals before and after it.
CycleFacts cycleLine(std::size_t index, std::uint64_t users, std::uint64_t hitsPerUser,
                     std::chrono::milliseconds took, const CycleTotals& before,
                     const CycleTotals& after);
// "Cycles" section of the console report; nothing for a run of one cycle.
void printCycles(const std::vector<CycleFacts>& lines, std::ostream& out);

}  // namespace loads::master
