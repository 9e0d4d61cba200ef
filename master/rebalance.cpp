#include "master/rebalance.hpp"

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace loads::master {

proto::Rebalance planRebalance(const std::string& runId, std::vector<ShareHolder> holders,
                               std::uint64_t fromMs, const std::string& lost) {
  std::sort(holders.begin(), holders.end(),
            [](const ShareHolder& a, const ShareHolder& b) { return a.index < b.index; });
  proto::Rebalance rebalance;
  rebalance.runId = runId;
  rebalance.count = static_cast<std::uint32_t>(holders.size());
  rebalance.fromMs = fromMs;
  rebalance.lost = lost;
  for (std::uint32_t i = 0; i < holders.size(); ++i) {
    rebalance.shares.push_back({holders[i].agentId, i});
  }
  return rebalance;
}

RebalanceEvent describeRebalance(const proto::Rebalance& rebalance,
                                 const std::vector<ShareHolder>& holders,
                                 const proto::JobOptions& job, const RunOptions& run) {
  RebalanceEvent event;
  event.fromMs = rebalance.fromMs;
  event.count = rebalance.count;
  if (run.rate) {
    event.firstArrival = ArrivalSchedule(*run.rate, 0, 1)
                             .firstArrivalFrom(std::chrono::milliseconds(rebalance.fromMs));
  }
  const std::uint32_t total = run.rate ? job.maxUsers : job.users;
  for (const auto& share : rebalance.shares) {
    auto holder = std::find_if(holders.begin(), holders.end(),
                               [&](const ShareHolder& h) { return h.agentId == share.agentId; });
    event.shares.push_back({share.agentId, holder == holders.end() ? "" : holder->host, share.index,
                            proto::usersForAgent(total, share.index, rebalance.count)});
  }
  return event;
}

namespace {
std::string secondsText(std::uint64_t ms) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << static_cast<double>(ms) / 1000 << " s";
  return s.str();
}
}  // namespace

void printRebalances(const std::vector<RebalanceEvent>& events, std::ostream& out) {
  if (events.empty()) return;
  out << "\nRebalanced (--rebalance)\n";
  for (const auto& e : events) {
    out << "  at " << secondsText(e.atMs) << ": agent " << e.lostId << " on " << e.lostHost
        << " left (" << e.reason << "); " << e.count << " agents share the run";
    if (e.firstArrival) {
      out << " from " << secondsText(e.fromMs) << " into the schedule (arrival " << *e.firstArrival
          << " on)";
    } else if (e.fromMs > 0) {
      out << " from " << secondsText(e.fromMs) << " into the schedule";
    }
    out << "\n";
    for (const auto& s : e.shares) {
      out << "    " << std::left << std::setw(22) << s.agentId << std::setw(16) << s.host
          << "share " << s.index + 1 << " of " << e.count << ", " << s.users
          << (e.firstArrival ? " pooled users, arrivals " + std::to_string(s.index) + " mod " +
                                   std::to_string(e.count)
                             : " users")
          << std::right << "\n";
    }
    for (const auto& f : e.rows) {
      out << "    unique rows of " << f.feed << ": " << f.dealt
          << (e.rowsFinal ? " dealt by " : " claimed by ") << e.lostId
          << (e.rowsMoved ? "; the rest went to the agents above"
                          : "; the rest stayed unused (its slave's end did not arrive)")
          << "\n";
    }
  }
}

}  // namespace loads::master
