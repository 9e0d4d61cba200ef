// ResultsReceiver: the master's PULL socket in distributed mode. Every RESULTS and
// STOP-TEST-RUN batch from the slaves is replayed into the master's AggregateResult (a
// SUMMARY is merged into it, AggregateResult::mergeSummary),
// tagged with the sending agent's index (AggregateResult::setSource), and tallied per
// agent so the report can compare events sent with events received (PROTOCOL.md §5.3).
//
// Only the run's own messages count: a message of another run, from an agent that is not
// in the run, one that repeats or goes back on its agent's sequence number or event count,
// or one after its agent's STOP-TEST-RUN is dropped before any event is replayed, and
// counted in rejected() (docs/reliability.md).
//
// Thread-safety: the constructor binds; after start() only the receiver's own thread
// touches the socket and calls the sink. tallies(), malformed() and rejected() may be
// called from any thread. The sink must outlive the receiver.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "security/curve.hpp"

namespace loads {
class AggregateResult;
namespace proto {
struct BatchInfo;
struct DecodeLimits;
}  // namespace proto
}  // namespace loads

namespace loads::master {

// What one agent's slave delivered.
struct AgentTally {
  std::string runId;             // the run these figures are of (a new run starts afresh)
  std::uint32_t source = 0;      // its index in the AggregateResult (setSource)
  std::uint64_t received = 0;    // events replayed
  std::uint64_t skipped = 0;     // events that did not decode (counted as not received)
  std::uint64_t eventsSent = 0;  // the slave's own count, from its latest batch
  std::uint64_t batches = 0;     // RESULTS + STOP-TEST-RUN messages received
  std::uint64_t seqGaps = 0;     // batches missing between sequence numbers
  std::uint64_t lastSeq = 0;
  bool final = false;  // STOP-TEST-RUN arrived: eventsSent is the total
};

// Results messages dropped because they are not the run's (ResultsReceiver).
struct RejectedResults {
  std::uint64_t otherRun = 0;          // another run id
  std::uint64_t unknownAgent = 0;      // an agent id that is not in the run
  std::uint64_t outOfSequence = 0;     // seq not above its agent's last, or events-sent too small
  std::uint64_t afterFinal = 0;        // after its agent's STOP-TEST-RUN
  std::string otherRunExample;         // the first other run id seen (at most 64 bytes)
  std::string unknownAgentExample;     // the first unknown agent id seen (at most 64 bytes)
  std::set<std::string> impersonated;  // run agents named by out-of-sequence or late messages
  std::uint64_t total() const { return otherRun + unknownAgent + outOfSequence + afterFinal; }
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

  // Starts the receiver's thread before the run is known: it guards the socket against
  // unfinished messages (security::InboundGuard) but reads nothing yet. Idempotent.
  void listen();
  // Starts reading, once the run is known: its id, and each of its agents with the
  // source index of its events. Messages that came before wait in the socket. Listens
  // first if listen() was not called.
  void start(const std::string& runId, const std::map<std::string, std::uint32_t>& agents);
  // Drains what is already queued (bounded), then joins the thread. Idempotent.
  void stop();

  std::map<std::string, AgentTally> tallies() const;  // by agent id
  // When the receiver last worked on a message (steady clock; now while it does): while it
  // works through a backlog this stays recent, so a missing STOP-TEST-RUN may still come.
  std::chrono::steady_clock::time_point lastReadAt() const;
  std::uint64_t malformed() const { return malformed_; }
  RejectedResults rejected() const;
  std::uint64_t keysRefused() const;  // CURVE clients refused (wrong key)

  struct Socket;  // zmq context and socket (results_receiver.cpp)

 private:
  void loop();
  void onBatch(const void* data, std::size_t size);
  void onSummary(std::string_view bytes, const proto::DecodeLimits& limits);  // SUMMARY (§5.4)
  void countMalformed(const std::string& reason);
  void count(const proto::BatchInfo& batch);  // the agent's tally; locked
  // Whether a message with this header belongs to the run; counts it when not. Locked.
  bool admit(const proto::BatchInfo& info);

  ReceiverOptions options_;
  AggregateResult& sink_;
  std::unique_ptr<Socket> socket_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> reading_{false};  // start() was called: the run is known
  std::atomic<bool> stopRequested_{false};
  std::atomic<std::uint64_t> malformed_{0};
  std::atomic<std::chrono::steady_clock::rep> lastReadTicks_{0};
  std::atomic<bool> replaying_{false};  // inside onBatch()
  mutable std::mutex mutex_;            // guards tallies_, rejected_ and, once started, the rest
  std::string runId_;
  std::map<std::string, std::uint32_t> indexes_;  // the run's agents
  std::map<std::string, AgentTally> tallies_;
  RejectedResults rejected_;
};

}  // namespace loads::master
