// Broker: the loads-broker daemon as a library class (PROTOCOL.md). Owns the frontend
// ROUTER (masters) and the backend ROUTER (agents), the agent registry and the run table,
// and runs one thread with a zmq poll loop.
//
// Thread-safety: the constructor binds the sockets; after start() only the broker's own
// thread touches them. stop() and stats() may be called from any thread. The destructor
// stops the broker.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "broker/clock.hpp"
#include "proto/messages.hpp"
#include "security/curve.hpp"
#include "util/metrics_server.hpp"

namespace loads::broker {

struct BrokerOptions {
  std::string frontend = "tcp://127.0.0.1:7780";  // masters; tcp://*:7780 serves a fleet
  std::string backend = "tcp://127.0.0.1:7781";   // agents
  Duration heartbeatInterval{1000};               // heartbeat period H, both sockets
  std::uint32_t liveness = 5;                     // silent intervals before a peer is lost
  std::size_t maxMessageSize = proto::kDefaultMaxMessageSize;  // larger messages are dropped
  Duration lostRetention{10 * 60 * 1000};  // lost agents stay visible in PONG this long
  std::size_t maxWaitingRuns = 16;         // runs waiting for agents, each with its library
  NowFunction now;                         // the clock; empty = steady_clock::now
  // CURVE (PROTOCOL.md §9): with a key pair both sockets are CURVE servers and only
  // these public keys (Z85) may connect; empty key = plain TCP, anyone may connect.
  security::KeyPair key;                 // --key; none
  std::set<std::string> allowedMasters;  // --allow-masters DIR: frontend clients; none
  std::set<std::string> allowedAgents;   // --allow-agents DIR: backend clients; none
  // --metrics [HOST:]PORT: serve /metrics (OpenMetrics, docs/metrics.md) there; none.
  std::optional<ListenAddress> metrics;
};

// Counters for tests and PING-style diagnostics.
struct BrokerStats {
  std::uint64_t malformedFrontend = 0;  // frames dropped or answered 400 on the frontend
  std::uint64_t malformedBackend = 0;   // same on the backend
  std::uint64_t errorsSent = 0;         // ERROR replies
  std::uint64_t runsAccepted = 0;
  std::uint64_t runsRefused = 0;
  std::uint64_t agentsLost = 0;
  std::uint64_t keysRefused = 0;       // CURVE handshakes refused by the ZAP handler
  std::uint64_t connectionsCut = 0;    // peers cut for an unfinished message (InboundGuard)
  std::uint64_t agentIdsRefused = 0;   // HELLOs with an agent id registered under another key
  std::uint64_t messagesFrontend = 0;  // messages received on the frontend (masters)
  std::uint64_t messagesBackend = 0;   // messages received on the backend (agents)
  // Gauges, refreshed once per heartbeat interval: agents by state, runs by state.
  std::uint64_t agentsIdle = 0, agentsBusy = 0, agentsLostNow = 0;
  std::uint64_t runsWaiting = 0, runsRunning = 0;
};

// The broker's /metrics exposition of `stats` (docs/metrics.md).
std::string brokerMetricsText(const BrokerStats& stats);

class Broker {
 public:
  // Binds both sockets; throws zmq::error_t when an endpoint cannot be bound.
  explicit Broker(BrokerOptions options);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // The bound endpoints, with the real port when the option said tcp://host:*.
  const std::string& frontendEndpoint() const { return frontendEndpoint_; }
  const std::string& backendEndpoint() const { return backendEndpoint_; }

  void start();  // runs the loop on the broker's thread
  void stop();   // tells agents and masters (DISCONNECT), joins the thread; idempotent
  BrokerStats stats() const;
  // "http://127.0.0.1:9465/metrics" with --metrics; "" without.
  std::string metricsUrl() const;

  class Loop;  // the state behind the poll loop (broker.cpp)

 private:
  std::unique_ptr<Loop> loop_;
  std::string frontendEndpoint_;
  std::string backendEndpoint_;
  std::thread thread_;
  std::unique_ptr<MetricsServer> metrics_;  // --metrics; last: its thread calls stats()
};

}  // namespace loads::broker
