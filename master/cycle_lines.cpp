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

CycleLine cycleLine(std::size_t index, std::uint64_t users, std::uint64_t hits,
                    std::chrono::milliseconds took, const CycleTotals& before,
                    const CycleTotals& after) {
  CycleLine line{index, users, hits, took, {}};
  line.ran.hits = after.hits - before.hits;
  line.ran.successes = after.successes - before.successes;
  line.ran.failures = after.failures - before.failures;
  line.ran.errors = after.errors - before.errors;
  line.ran.skips = after.skips - before.skips;
  line.ran.requests = after.requests - before.requests;
  line.ran.requestFailures = after.requestFailures - before.requestFailures;
  return line;
}

void printCycles(const std::vector<CycleLine>& lines, std::ostream& out) {
  if (lines.size() < 2) return;
  out << "\nCycles\n";
  out << "  " << std::left << std::setw(8) << "cycle" << std::right << std::setw(8) << "users"
      << std::setw(12) << "hits/user" << std::setw(10) << "hits" << std::setw(10) << "ok"
      << std::setw(10) << "failed" << std::setw(10) << "errors" << std::setw(10) << "skipped"
      << std::setw(11) << "requests" << std::setw(10) << "seconds" << "\n";
  for (const CycleLine& l : lines) {
    out << "  " << std::left << std::setw(8) << l.index + 1 << std::right << std::setw(8)
        << l.users << std::setw(12) << (l.hits ? std::to_string(l.hits) : "-") << std::setw(10)
        << l.ran.hits << std::setw(10) << l.ran.successes << std::setw(10) << l.ran.failures
        << std::setw(10) << l.ran.errors << std::setw(10) << l.ran.skips << std::setw(11)
        << l.ran.requests << std::setw(10) << std::fixed << std::setprecision(1)
        << static_cast<double>(l.took.count()) / 1000 << "\n";
  }
}

nlohmann::ordered_json cyclesJson(const std::vector<CycleLine>& lines) {
  auto list = nlohmann::ordered_json::array();
  for (const CycleLine& l : lines) {
    list.push_back({{"cycle", l.index + 1},
                    {"users", l.users},
                    {"hitsPerUser", l.hits ? nlohmann::ordered_json(l.hits) : nlohmann::ordered_json(nullptr)},
                    {"hits", l.ran.hits},
                    {"successes", l.ran.successes},
                    {"failures", l.ran.failures},
                    {"errors", l.ran.errors},
                    {"skips", l.ran.skips},
                    {"requests", l.ran.requests},
                    {"requestFailures", l.ran.requestFailures},
                    {"seconds", static_cast<double>(l.took.count()) / 1000}});
  }
  return list;
}

}  // namespace loads::master
