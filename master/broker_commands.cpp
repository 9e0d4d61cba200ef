#include "master/broker_commands.hpp"

#include <iomanip>
#include <iostream>

#include "master/broker_link.hpp"

namespace loads::master {
namespace {

int ping(const MasterOptions& options_) {
  BrokerLink link(options_.broker, options_.key, options_.brokerKey);
  int code = 0;
  auto pong = ask<proto::Pong>(link, proto::Ping{}, code);
  if (!pong) return code;
  std::cout << "broker " << options_.broker << ": pid " << pong->pid << ", loads " << pong->version
            << ", protocol " << pong->protocol << ", up " << pong->uptimeMs / 1000 << " s\n";
  std::cout << "agents (" << pong->agents.size() << ")\n";
  for (const auto& a : pong->agents) {
    std::cout << "  " << std::left << std::setw(24) << a.id << std::setw(20) << a.host
              << std::setw(6) << a.state << " run " << (a.runId.empty() ? "-" : a.runId)
              << "  cores " << a.cores << "  silent " << a.silentMs << " ms\n";
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
