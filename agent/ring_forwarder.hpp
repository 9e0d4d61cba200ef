// RingForwarder: sends what is in an EventRing to the master's results socket as RESULTS
// batches and a last STOP-TEST-RUN (PROTOCOL.md §5.3), under the slave's run and agent
// ids. Two uses, one stream:
//
// - live, in the slave: a thread sends each slot's records when they reach batchBytes,
//   and the rest every flushInterval, noting each batch in the ring before it hands it to
//   its socket (EventRing::noteBatch); finishLive() flushes and sends STOP-TEST-RUN.
// - after the slave's death, in its parent: when the slave did not send its STOP-TEST-RUN,
//   finishAfterDeath() sends again the batches the ring retained (marked resent: the
//   master drops those that did arrive), then every record after them, then STOP-TEST-RUN
//   with the counts, and the crash when there was one, closing the stream on the slave's
//   behalf. So what a slave recorded reaches the master whether it exited or died.
//
// A runner that never took the ring (an external --slave-binary that sends its own
// results, §10) is left alone: nothing is sent for it after its end.
//
// Thread-safety: the public calls from one thread; the forwarder's own thread alone
// touches the socket. Takes ownership of the ring (the slave's and the parent's are two
// mappings of the same pages).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "proto/messages.hpp"
#include "proto/results.hpp"

namespace loads::agent {

class EventRing;

struct ForwarderOptions {
  std::string endpoint;       // the master's results endpoint; required
  std::string runId;          // the run; required
  std::string agentId;        // the agent whose slave it is; required
  proto::ResultsCurve curve;  // CURVE client with the run key; all "" = plain TCP
  std::size_t batchBytes =
      proto::kDefaultBatchBytes;  // send a slot's records at this size (64 KiB)
  std::chrono::milliseconds flushInterval{
      proto::kDefaultBatchIntervalMs};             // and this often (50 ms)
  std::chrono::milliseconds pollInterval{5};       // how often the ring is looked at (5 ms)
  std::chrono::milliseconds finishTimeout{10000};  // give up delivering after this (10 s)
  // --results summary (PROTOCOL.md §5.4), live only: each slot's records are folded into
  // one SUMMARY every summaryInterval, or sooner once summaryBytes of them wait, and one
  // SUMMARY folds at most summaryBytes (0: an eighth of the ring's slot; more could never
  // wait, since the writer stops at a full slot and the retained batches hold up to half
  // of it). After a death the parent sends raw RESULTS (the master takes both, by seq).
  bool summaries = false;
  std::chrono::milliseconds summaryInterval{1000};
  std::size_t summaryBytes = 0;
};

class RingForwarder {
 public:
  // Connects the PUSH socket (no thread yet). Throws zmq::error_t on a bad endpoint.
  RingForwarder(ForwarderOptions options, std::unique_ptr<EventRing> ring);
  ~RingForwarder();  // joins its thread (bounded by finishTimeout)
  RingForwarder(const RingForwarder&) = delete;
  RingForwarder& operator=(const RingForwarder&) = delete;

  EventRing& ring() { return *ring_; }

  // The slave: starts sending as records come.
  void startLive();
  // The slave, after its last event: sends the rest and STOP-TEST-RUN, waits (bounded)
  // until they are handed to the socket; false when some could not be.
  bool finishLive();

  // The parent, once the slave has ended: unless the slave sent its STOP-TEST-RUN (or
  // never took the ring), sends what it left and STOP-TEST-RUN with `crash` on its own
  // thread. Returns at once; done() says when it is over.
  void finishAfterDeath(std::optional<proto::CrashInfo> crash);
  bool done() const { return done_; }
  void join();

 private:
  struct Transport;
  void liveLoop();
  // Sends slot `slot`'s records from sentTo as batches of up to batchBytes; all of them
  // when `all`, else only full batches.
  void sendSlot(std::uint32_t slot, bool all);
  // The same as one SUMMARY of the slot's records (summaries).
  void sendSummary(std::uint32_t slot, bool all);
  void afterDeath(std::optional<proto::CrashInfo> crash);
  void countTooLarge();
  bool send(const std::string& message);
  void close();

  ForwarderOptions options_;
  std::unique_ptr<EventRing> ring_;
  std::unique_ptr<Transport> transport_;
  std::mutex mutex_;  // guards finishing_
  std::condition_variable wake_;
  bool finishing_ = false;
  std::atomic<bool> done_{false};
  std::atomic<std::uint64_t> dropped_{0};  // batches the socket never took
  std::thread thread_;
};

}  // namespace loads::agent
