// A distributed set-up for end-to-end tests: a real loads-broker, N loads-agent
// processes and the example target, on loopback. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace loads::testing {

// A loopback TCP port nobody listens on right now.
int freePort();

// Polls `condition` every 100 ms until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(100));  // polling interval, not synchronisation
  }
  return condition();
}

// Lines of `text` that contain `needle`.
int countLines(const std::string& text, const std::string& needle);

struct Cluster {
  std::string frontend;
  std::string backend;
  std::string dir;  // a fresh directory for caches and reports, removed at the end
  std::unique_ptr<Process> broker;
  std::vector<std::unique_ptr<Process>> agents;  // ids agent-0, agent-1, ...
  std::unique_ptr<Process> target;
  int targetPort = 0;

  // Starts the broker (heartbeat 200 ms, liveness 5), the agents and the target, and
  // waits (bounded) until every agent is idle. Agents inherit this process's environment.
  explicit Cluster(int agentCount);
  ~Cluster();

  void startBroker();
  Completed ping() const;
  int agentsIn(const std::string& state) const;  // -1 when the ping failed
  // loads-master against the broker, libblog and the target, quiet, then `extra`.
  std::vector<std::string> master(std::vector<std::string> extra) const;
  // The target's count of requests on the pages libblog asks for.
  std::uint64_t served() const;
  // The pid of the slave of the agent process `agent`, from /proc; 0 when none.
  static pid_t slaveOf(const Process& agent);
};

}  // namespace loads::testing
