// ResultsReceiver: the master's PULL socket in distributed mode. Every RESULTS and
// STOP-TEST-RUN batch from the slaves is replayed into the master's AggregateResult,
// tagged with the sending agent's index (AggregateResult::setSource), and tallied per
// agent so the report can compare events sent with events received (PROTOCOL.md §5.3).
//
// Thread-safety: the constructor binds; after start() only the receiver's own thread
// touches the socket and calls the sink. tallies(), malformed() and setAgentIndex() may
// be called from any thread. The sink must outlive the receiver.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "security/curve.hpp"

namespace loads {
class AggregateResult;
}

namespace loads::master {

// What one agent's slave delivered.
struct AgentTally {
  std::uint32_t source = 0;      // its index in the AggregateResult (setSource)
  std::uint64_t received = 0;    // events replayed
  std::uint64_t skipped = 0;     // events that did not decode (counted as not received)
  std::uint64_t eventsSent = 0;  // the slave's own count, from its latest batch
  std::uint64_t batches = 0;     // RESULTS + STOP-TEST-RUN messages received
  std::uint64_t seqGaps = 0;     // batches missing between sequence numbers
  std::uint64_t lastSeq = 0;
  bool final = false;  // STOP-TEST-RUN arrived: eventsSent is the total
};

struct ReceiverOptions {
  std::string bind = "tcp://127.0.0.1:*";  // --results-bind; "*" port = ephemeral
  std::string address;  // --results-address, given to agents; "" = derived from the bind
  std::size_t maxMessageSize = 64u << 20;  // larger frames are dropped and counted (64 MiB)
  // CURVE (PROTOCOL.md §9.3): with a key pair the socket is a CURVE server that accepts
  // only `allowedClient`, the run key's public key; none = plain TCP.
  security::KeyPair key;      // the master's --key; none
  std::string allowedClient;  // Z85 public key of the run key; ""
};

class ResultsReceiver {
 public:
  // Binds the PULL socket; throws zmq::error_t when the endpoint cannot be bound.
  ResultsReceiver(ReceiverOptions options, AggregateResult& sink);
  ~ResultsReceiver();  // stops
  ResultsReceiver(const ResultsReceiver&) = delete;
  ResultsReceiver& operator=(const ResultsReceiver&) = delete;

  // Where slaves connect: --results-address, or the bound endpoint (a wildcard host is
  // replaced by this machine's host name).
  const std::string& endpoint() const { return endpoint_; }

  // The source index of an agent's events; agents not set get indexes from 10000 on.
  void setAgentIndex(const std::string& agentId, std::uint32_t index);
  void start();
  // Drains what is already queued (bounded), then joins the thread. Idempotent.
  void stop();

  std::map<std::string, AgentTally> tallies() const;  // by agent id
  std::uint64_t malformed() const { return malformed_; }
  std::uint64_t keysRefused() const;  // CURVE clients refused (wrong key)

  struct Socket;  // zmq context and socket (results_receiver.cpp)

 private:
  void loop();
  void onBatch(const void* data, std::size_t size);
  // agentId, or "(other agents)" past the cap on ids never set; caller holds mutex_.
  const std::string& agentKey(const std::string& agentId);

  static constexpr std::size_t kMaxUnknownAgents = 64;  // distinct ids never set, per run

  ReceiverOptions options_;
  AggregateResult& sink_;
  std::unique_ptr<Socket> socket_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stopRequested_{false};
  std::atomic<std::uint64_t> malformed_{0};
  mutable std::mutex mutex_;  // guards tallies_ and indexes_
  std::map<std::string, AgentTally> tallies_;
  std::map<std::string, std::uint32_t> indexes_;
  std::uint32_t nextUnknownIndex_ = 10000;
  std::size_t knownAgents_ = 0;  // ids given by setAgentIndex
};

}  // namespace loads::master
