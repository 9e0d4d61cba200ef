// TestResultProxy: the slave runner's TestResult. Every call is packed as one event
// (proto::EventBuffer) and shipped in RESULTS batches to the master's PULL socket; the
// last message is STOP-TEST-RUN with the number of events sent (PROTOCOL.md §5.3).
// With `summaries` (--results summary) the calls are folded instead, per runner thread,
// by a SummaryBuilder and shipped as one SUMMARY per thread and interval (§5.4).
//
// Thread-safety: every TestResult method may be called concurrently from any thread.
// The hot path packs into a per-thread buffer guarded by that buffer's own mutex
// (contended only when the sender takes it). Only the sender thread, started by the
// constructor, touches the PUSH socket. A thread whose full buffers pile up beyond
// `maxQueuedBuffers` waits for the sender: the queue is bounded (back-pressure).
// finish() must be called once, after the last call from the runner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loads/test_result.hpp"
#include "proto/messages.hpp"
#include "proto/results.hpp"

namespace loads::agent {

struct ProxyOptions {
  std::string endpoint;  // the master's results endpoint, tcp://host:port; required
  std::string runId;     // the run; required
  std::string agentId;   // the agent whose slave this is; required
  std::size_t batchBytes =
      proto::kDefaultBatchBytes;  // flush a thread's buffer at this size (64 KiB)
  std::chrono::milliseconds flushInterval{
      proto::kDefaultBatchIntervalMs};  // and this often (50 ms)
  std::size_t maxQueuedBuffers = 64;    // full buffers per thread before callers wait (64)
  std::chrono::milliseconds finishTimeout{10000};  // finish() gives up delivering after this (10 s)
  int sendHighWaterMark = 1000;                    // ZMQ_SNDHWM of the PUSH socket, messages (1000)
  proto::ResultsCurve curve;                       // CURVE client with the run key; all "" = plain
  bool summaries = false;  // --results summary: SUMMARY messages instead of RESULTS (false)
  std::chrono::milliseconds summaryInterval{1000};  // one SUMMARY per thread this often (1 s)
};

struct ProxyStats {
  std::uint64_t eventsSent = 0;   // events in messages handed to the socket
  std::uint64_t batchesSent = 0;  // RESULTS + STOP-TEST-RUN messages
  bool delivered = false;  // finish() handed every message to the socket and they all left it
                           // before its linger ran out
};

class TestResultProxy final : public TestResult {
 public:
  // Connects the PUSH socket and starts the sender thread. Throws zmq::error_t on a bad
  // endpoint.
  explicit TestResultProxy(ProxyOptions options);
  ~TestResultProxy() override;  // finishes if finish() was not called
  TestResultProxy(const TestResultProxy&) = delete;
  TestResultProxy& operator=(const TestResultProxy&) = delete;

  // Flushes every buffer, sends STOP-TEST-RUN, waits (bounded) until it is delivered to
  // the socket, joins the sender. Idempotent.
  ProxyStats finish();

  void startTestRun() override;
  void stopTestRun() override;
  void startTest(std::string_view test, const LoadsStatus& s) override;
  void stopTest(std::string_view test, std::chrono::microseconds elapsed,
                const LoadsStatus& s) override;
  void addSuccess(std::string_view test, const LoadsStatus& s) override;
  void addFailure(std::string_view test, const Failure& f, const LoadsStatus& s) override;
  void addError(std::string_view test, const Failure& f, const LoadsStatus& s) override;
  void addSkip(std::string_view test, std::string_view reason, const LoadsStatus& s) override;
  void addCancelled(std::string_view test, const LoadsStatus& s) override;
  void addHit(const Hit& hit, const LoadsStatus& s) override;
  void addDropped(std::string_view test, std::int64_t plannedStartUs,
                  const LoadsStatus& s) override;
  void incrCounter(std::string_view test, std::string_view name, std::int64_t value,
                   const LoadsStatus& s) override;
  void socketOpen(std::string_view url, const LoadsStatus& s) override;
  void socketMessage(std::string_view url, Direction direction, std::uint64_t size,
                     const LoadsStatus& s) override;
  void socketClose(std::string_view url, const SocketClose& close, const LoadsStatus& s) override;
  void claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo, bool exact) override;

 private:
  struct Shard;
  struct Transport;  // the PUSH socket and the encoder: sender thread only
  Shard& shard();
  // Runs `pack` on the calling thread's buffer, then hands the buffer over when full.
  template <class Pack>
  void record(Pack&& pack);
  void handOver(Shard& shard, std::unique_lock<std::mutex>& lock);
  void handOverSummary(Shard& shard, std::unique_lock<std::mutex>& lock);
  void wakeSender();
  void sendLoop();
  // Takes the full buffers of every shard, and the partial ones too when `partial`.
  void collectAndSend(bool partial);
  // Hands one message to the socket, retrying while the master is slow; false when it
  // had to be dropped (no progress for finishTimeout).
  bool send(const std::string& message);

  ProxyOptions options_;
  const std::uint64_t instanceId_;
  std::mutex shardsMutex_;  // guards shards_ (the list, not the contents)
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<Transport> transport_;

  std::mutex wakeMutex_;  // guards the two flags below
  std::condition_variable wake_;
  bool fullPending_ = false;
  bool finishing_ = false;
  std::atomic<std::uint64_t> dropped_{0};  // messages the socket never took
  std::thread sender_;

  std::mutex finishMutex_;
  bool finished_ = false;
  ProxyStats stats_;
};

}  // namespace loads::agent
