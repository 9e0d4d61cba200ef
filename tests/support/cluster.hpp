// A loopback fleet for end-to-end tests: a real loads-broker, N loads-agent processes and
// the example target, plus the helpers distributed tests share. Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace loads::testing {

// A port nobody listens on right now (the broker CLI cannot bind port 0 and print it).
int freePort();

// Polls `condition` every 100 ms until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling, not synchronisation
  }
  return condition();
}

// Lines of `text` that contain `needle`.
int countLines(const std::string& text, const std::string& needle);

// Extra arguments for the cluster's processes (keys, --insecure, ...).
struct ClusterArgs {
  std::vector<std::string> broker;                          // loads-broker
  std::function<std::vector<std::string>(int)> agent;       // loads-agent number i
  std::vector<std::string> master;                          // every loads-master (ping too)
  int frontendPort = 0, backendPort = 0;                    // the broker's; 0 = a free port
};

struct Cluster {
  explicit Cluster(int agentCount, ClusterArgs args = {});
  ~Cluster();

  void startBroker();
  Completed ping() const;
  int agentsIn(const std::string& state) const;  // agents in that state per PING; -1 on error
  // loads-master argv for the blog example against the target, plus `extra`.
  std::vector<std::string> master(std::vector<std::string> extra) const;
  std::uint64_t served() const;  // requests the target served on / and /comments
  // The pid of the slave of agent process `agent`, from /proc; 0 when none.
  static pid_t slaveOf(const Process& agent);

  ClusterArgs args;
  std::string frontend, backend;  // the broker's endpoints on 127.0.0.1
  std::string dir;  // a fresh directory, removed at the end
  std::unique_ptr<Process> broker;
  std::vector<std::unique_ptr<Process>> agents;
  std::unique_ptr<Process> target;
  int targetPort = 0;
};

}  // namespace loads::testing
