// RingForwarder: the parent's side of a slave's EventRing. A thread of the parent (the
// agent, or the local master) drains the ring every few milliseconds and sends what it
// finds to the master's results socket as RESULTS batches (PROTOCOL.md §5.3), under the
// slave's run and agent ids. When the slave has ended, finish() drains the rest, which
// the slave's death cannot take away, and closes the stream on its behalf with
// STOP-TEST-RUN: the total count and, for a slave that crashed, the crash. So what a
// slave recorded reaches the master whether it exited or died (PROTOCOL.md §10).
//
// A runner that never took the ring (an external --slave-binary that sends its own
// results, §10) is left alone: the forwarder sends nothing at all for it.
//
// Thread-safety: construct, finish() and done() from one thread (the agent's loop);
// the forwarder's own thread alone touches the socket. Takes ownership of the ring.
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
  std::string endpoint;  // the master's results endpoint; required
  std::string runId;     // the run; required
  std::string agentId;   // the agent whose slave it is; required
  proto::ResultsCurve curve;  // CURVE client with the run key; all "" = plain TCP
  std::size_t batchBytes = proto::kDefaultBatchBytes;  // send a batch at this size (64 KiB)
  std::chrono::milliseconds flushInterval{proto::kDefaultBatchIntervalMs};  // and this often (50 ms)
  std::chrono::milliseconds drainInterval{5};  // how often the ring is read (5 ms)
  std::chrono::milliseconds finishTimeout{10000};  // give up delivering after this (10 s)
};

class RingForwarder {
 public:
  // Connects the PUSH socket and starts draining. Throws zmq::error_t on a bad endpoint.
  RingForwarder(ForwarderOptions options, std::unique_ptr<EventRing> ring);
  ~RingForwarder();  // finishes (without a crash) when finish() was not called; joins
  RingForwarder(const RingForwarder&) = delete;
  RingForwarder& operator=(const RingForwarder&) = delete;

  EventRing& ring() { return *ring_; }
  // The slave has ended: the thread drains the rest and sends STOP-TEST-RUN (with
  // `crash`), then ends. Returns at once; done() says when it is over.
  void finish(std::optional<proto::CrashInfo> crash);
  bool done() const { return done_; }
  // Blocks until done() (at most finishTimeout + the drain).
  void join();
  std::uint64_t eventsSent() const { return eventsSent_; }

 private:
  struct Transport;
  void loop();
  bool send(const std::string& message);

  ForwarderOptions options_;
  std::unique_ptr<EventRing> ring_;
  std::unique_ptr<Transport> transport_;
  std::mutex mutex_;  // guards finishing_ and crash_
  std::condition_variable wake_;
  bool finishing_ = false;
  std::optional<proto::CrashInfo> crash_;
  std::atomic<bool> done_{false};
  std::atomic<std::uint64_t> eventsSent_{0};
  std::thread thread_;
};

}  // namespace loads::agent
