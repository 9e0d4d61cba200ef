// A distributed cluster of real processes on loopback for end-to-end and fault tests: a
// loads-broker, N loads-agents and the example target, plus the commands a test runs
// against them (ping, master). Not thread-safe; every wait is bounded.
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
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling interval
  }
  return condition();
}

int countLines(const std::string& text, const std::string& needle);

// Extra arguments for the cluster's processes (keys, --insecure, ...) and its settings.
struct ClusterArgs {
  std::vector<std::string> broker;                     // loads-broker
  std::function<std::vector<std::string>(int)> agent;  // loads-agent number i
  std::vector<std::string> master;                     // every loads-master (ping too)
  int frontendPort = 0, backendPort = 0;               // the broker's; 0 = a free port
  // The broker's: a peer silent for liveness x 200 ms is lost. 2 s: an agent starved of
  // CPU for 1 s by the suite's other test (-j2) was lost once (its run exited 3).
  int liveness = 10;
};

struct Cluster {
  ClusterArgs args;
  std::string frontend, backend;  // the broker's endpoints on 127.0.0.1
  std::string dir;                // a fresh directory, removed at the end
  std::unique_ptr<Process> broker;
  std::vector<std::unique_ptr<Process>> agents;  // agent i has the id "agent-i"
  std::unique_ptr<Process> target;
  int targetPort = 0;

  // Starts everything and waits (20 s at most) until the agents are idle.
  explicit Cluster(int agentCount, ClusterArgs args = {});
  ~Cluster();  // SIGTERM to the agents, then the rest is killed

  // The broker with a 200 ms heartbeat and args.liveness.
  void startBroker();
  // (Re)starts agent i with the id "agent-i", replacing a previous one.
  void startAgent(std::size_t i);
  Completed ping() const;
  // Agents in `state` ("idle", "busy") in the broker's PING, -1 when it did not answer.
  int agentsIn(const std::string& state) const;
  // loads-master argv against this cluster's broker and target with the blog library.
  std::vector<std::string> master(std::vector<std::string> extra) const;
  // Requests the target served on the blog's paths.
  std::uint64_t served() const;
  // The pid of the slave of agent `agent`, from /proc; 0 when none.
  static pid_t slaveOf(const Process& agent);
};

}  // namespace loads::testing
