#include "master/cycle_lines.hpp"

#include <iomanip>
#include <ostream>

#include "stats/aggregate_result.hpp"

namespace loads::master {

CycleTotals totalsOf(const Snapshot& snapshot) {
  CycleTotals t;
  for (const auto& [name, test] : snapshot.tests) {
    t.hits += test.stopped;
    t.successes += test.successes;
    t.failures += test.failures;
    t.errors += test.errors;
    t.skips += test.skips;
  }
  t.requests = snapshot.allRequests.count;
  t.requestFailures = snapshot.allRequests.failures;
  return t;
}

CycleFacts cycleLine(std::size_t index, std::uint64_t users, std::uint64_t hitsPerUser,
                     std::chrono::milliseconds took, const CycleTotals& before,
                     const CycleTotals& after) {
  CycleFacts line;
  line.index = index;
  line.users = users;
  line.hitsPerUser = hitsPerUser;
  line.tookMs = took.count();
  line.hits = after.hits - before.hits;
  line.successes = after.successes - before.successes;
  line.failures = after.failures - before.failures;
  line.errors = after.errors - before.errors;
  line.skips = after.skips - before.skips;
  line.requests = after.requests - before.requests;
  line.requestFailures = after.requestFailures - before.requestFailures;
  return line;
}

void printCycles(const std::vector<CycleFacts>& lines, std::ostream& out) {
  if (lines.size() < 2) return;
  out << "\nCycles\n";
  out << "  " << std::left << std::setw(8) << "cycle" << std::right << std::setw(8) << "users"
      << std::setw(12) << "hits/user" << std::setw(10) << "hits" << std::setw(10) << "ok"
      << std::setw(10) << "failed" << std::setw(10) << "errors" << std::setw(10) << "skipped"
      << std::setw(11) << "requests" << std::setw(10) << "seconds"
      << "\n";
  for (const CycleFacts& l : lines) {
    out << "  " << std::left << std::setw(8) << l.index + 1 << std::right << std::setw(8) << l.users
        << std::setw(12) << (l.hitsPerUser ? std::to_string(l.hitsPerUser) : "-") << std::setw(10)
        << l.hits << std::setw(10) << l.successes << std::setw(10) << l.failures << std::setw(10)
        << l.errors << std::setw(10) << l.skips << std::setw(11) << l.requests << std::setw(10)
        << std::fixed << std::setprecision(1) << static_cast<double>(l.tookMs) / 1000 << "\n";
  }
}

}  // namespace loads::master
