#include "master/broker_commands.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>

#include "master/broker_link.hpp"

namespace loads::master {
namespace {

// One line that stays readable at any fleet size: agents by state, hosts, the longest
// silence of an agent that is not lost (--ping --agents lists them one by one).
void printAgentCounts(const std::vector<proto::AgentInfo>& agents) {
  std::map<std::string, std::size_t> byState;
  std::set<std::string> hosts;
  std::uint64_t longestSilence = 0;
  for (const auto& a : agents) {
    ++byState[a.state];
    hosts.insert(a.host);
    if (a.state != "lost") longestSilence = std::max(longestSilence, a.silentMs);
  }
  std::cout << "agents (" << agents.size() << "): " << byState["idle"] << " idle, "
            << byState["busy"] << " busy, " << byState["lost"] << " lost";
  for (const auto& [state, count] : byState) {
    if (state != "idle" && state != "busy" && state != "lost")
      std::cout << ", " << count << " " << state;
  }
  std::cout << "; " << hosts.size() << (hosts.size() == 1 ? " host" : " hosts")
            << "; longest silence " << longestSilence << " ms\n";
}

int ping(const MasterOptions& options_) {
  BrokerLink link(options_.broker, options_.key, options_.brokerKey);
  int code = 0;
  auto pong = ask<proto::Pong>(link, proto::Ping{}, code);
  if (!pong) return code;
  std::cout << "broker " << options_.broker << ": pid " << pong->pid << ", loads " << pong->version
            << ", protocol " << pong->protocol << ", up " << pong->uptimeMs / 1000 << " s\n";
  printAgentCounts(pong->agents);
  if (options_.pingAgents) {
    for (const auto& a : pong->agents) {
      std::cout << "  " << std::left << std::setw(24) << a.id << std::setw(20) << a.host
                << std::setw(6) << a.state << " run " << (a.runId.empty() ? "-" : a.runId)
                << "  cores " << a.cores << "  silent " << a.silentMs << " ms\n";
    }
  }
  std::cout << "runs in progress (" << pong->runs.size() << ")\n";
  for (const auto& r : pong->runs) {
    std::cout << "  " << r.runId << "  " << r.state << "  " << r.agents.size() << "/"
              << r.agentsWanted << " agents, " << r.ended << " ended, " << r.ageMs / 1000
              << " s, master " << r.masterHost << ", " << r.libraryName << "\n";
  }
  return 0;
}

int stopRun(const MasterOptions& options_) {
  BrokerLink link(options_.broker, options_.key, options_.brokerKey);
  int code = 0;
  auto stopped = ask<proto::Stopped>(link, proto::Stop{options_.stopRun}, code);
  if (!stopped) return code;
  std::cout << "run " << stopped->runId << ": stop sent to " << stopped->agents << " agents\n";
  return 0;
}

int purge(const MasterOptions& options_) {
  BrokerLink link(options_.broker, options_.key, options_.brokerKey);
  int code = 0;
  auto purged = ask<proto::Purged>(link, proto::Purge{}, code);
  if (!purged) return code;
  std::cout << "purged: " << purged->runs << " runs stopped\n";
  return 0;
}

}  // namespace

bool isBrokerCommand(const MasterOptions& options) {
  return options.ping || !options.stopRun.empty() || options.purge;
}

int runBrokerCommand(const MasterOptions& options) {
  if (options.ping) return ping(options);
  if (!options.stopRun.empty()) return stopRun(options);
  return purge(options);
}

}  // namespace loads::master
