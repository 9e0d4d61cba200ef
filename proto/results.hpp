// The results stream (PROTOCOL.md §5.3): every TestResult call of a slave runner as an
// event, events in batches, batches as RESULTS messages and a final STOP-TEST-RUN that
// carries the number of events sent.
//
// Sender side: an EventBuffer is a TestResult that packs each call as one event. A
// ResultsEncoder frames buffers into messages (run id, agent id, sequence number,
// running event count). The TestResultProxy may keep one EventBuffer per runner thread
// and hand full buffers to the one thread that owns the encoder and the PUSH socket.
// Receiver side: decodeResultsBatch replays a message's events into any TestResult.
//
// Thread-safety: EventBuffer and ResultsEncoder are not thread-safe (one owner each);
// decodeResultsBatch is reentrant.
#pragma once

#include <cstdint>
#include <functional>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loads/test_result.hpp"
#include "proto/messages.hpp"

namespace loads::proto {

// Event kinds on the wire; the values are frozen.
enum class EventKind : std::uint8_t {
  kStartTestRun = 0,
  kStopTestRun,
  kStartTest,
  kStopTest,
  kAddSuccess,
  kAddFailure,
  kAddError,
  kAddSkip,
  kAddCancelled,
  kAddHit,
  kIncrCounter,
  kSocketOpen,
  kSocketMessage,
  kSocketClose,
  kAddDropped,
  kClaimRows,
};
inline constexpr EventKind kLastEventKind = EventKind::kClaimRows;  // append kinds before it moves

inline constexpr std::size_t kDefaultBatchBytes = 64 * 1024;  // flush when a buffer reaches it
inline constexpr int kDefaultBatchIntervalMs = 50;            // and at least this often
// Every time and duration an event carries (µs since the epoch, or µs) lies in
// [0, kMaxTimeUs] (PROTOCOL.md §5.3), some 36,000 years: a receiver may add and subtract
// two of them without overflow. An event with a time outside is malformed.
inline constexpr std::int64_t kMaxTimeUs = std::int64_t{1} << 60;

class EventBuffer final : public TestResult {
 public:
  EventBuffer();

  std::uint64_t events() const { return events_; }
  std::size_t bytes() const { return buffer_.size(); }
  bool empty() const { return events_ == 0; }
  // The packed events, concatenated.
  std::string_view data() const { return {buffer_.data(), buffer_.size()}; }
  void clear();
  void swap(EventBuffer& other);
  // Appends events already packed by another EventBuffer (data()), `events` of them.
  void appendPacked(std::string_view packed, std::uint64_t events);

  // Packed with the wall clock now, or with a time given (µs since the epoch).
  void startTestRun() override;
  void stopTestRun() override;
  void startTestRunAt(std::int64_t epochUs);
  void stopTestRunAt(std::int64_t epochUs);
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
  // Starts an event of `args` arguments after the five-element header.
  void begin(EventKind kind, std::uint32_t args, const LoadsStatus& s);
  void packFailure(EventKind kind, std::string_view test, const Failure& f, const LoadsStatus& s);

  msgpack::sbuffer buffer_;
  msgpack::packer<msgpack::sbuffer> packer_;
  std::uint64_t events_ = 0;
};

// A slave runner that died of a signal, as its parent describes it in the STOP-TEST-RUN
// it sends on the slave's behalf (field 6, PROTOCOL.md §5.3 and §10).
struct CrashFrame {
  std::string module;        // the shared object's (or executable's) file name; "" = unknown
  std::uint64_t offset = 0;  // the frame's address within that file (ELF vaddr)
  std::string function;      // demangled symbol + offset; "" = no symbol
  MSGPACK_DEFINE(module, offset, function);
};

struct CrashInfo {
  std::int32_t signal = 0;         // the signal that killed the slave
  std::string signalName;          // "SIGSEGV"
  std::string description;         // one sentence: what happened, where
  std::string test;                // the crashing thread's test ("Class.method"); "" = unknown
  std::uint64_t user = 0;          // its user (1-based); 0 = unknown
  std::uint64_t hit = 0;           // its hit (1-based); 0 = unknown
  std::vector<CrashFrame> frames;  // the crashing thread's stack, innermost first; none
  MSGPACK_DEFINE(signal, signalName, description, test, user, hit, frames);
};

class ResultsEncoder {
 public:
  ResultsEncoder(std::string runId, std::string agentId);

  // A RESULTS message with every event of `events`, which is cleared.
  std::string batch(EventBuffer& events);
  // The STOP-TEST-RUN message: the remaining events and the total count, and the
  // slave's crash when its parent sends it on a crashed slave's behalf. Last call.
  std::string finalBatch(EventBuffer& events, const CrashInfo* crash = nullptr);
  // A batch the slave may have sent before it died, sent again by its parent with the
  // number and running count it had, marked resent (field 5): a receiver that has it
  // drops the copy. Leaves this encoder's counters as they are.
  std::string resentBatch(EventBuffer& events, std::uint64_t seq, std::uint64_t eventsSent);
  // Goes on from a dead slave's last batch: the next batch is seq + 1.
  void resume(std::uint64_t seq, std::uint64_t eventsSent) {
    seq_ = seq;
    eventsSent_ = eventsSent;
  }
  // A SUMMARY message folding `events` calls, whose summary the caller packed
  // (proto/summary.hpp); numbered and counted like a batch.
  std::string summary(std::uint64_t events, std::string_view packedSummary);

  std::uint64_t eventsSent() const { return eventsSent_; }
  std::uint64_t batchesSent() const { return seq_; }

 private:
  std::string frame(MessageType type, EventBuffer& events, const CrashInfo* crash = nullptr,
                    bool resent = false);

  std::string runId_;
  std::string agentId_;
  std::uint64_t seq_ = 0;
  std::uint64_t eventsSent_ = 0;
};

// What a decoded RESULTS / STOP-TEST-RUN message said about itself.
struct BatchInfo {
  std::string runId;
  std::string agentId;
  std::uint64_t seq = 0;
  std::uint64_t eventsSent = 0;    // the sender's running total, this batch included
  std::uint64_t events = 0;        // events in this message (replayed + skipped once replayed)
  std::uint64_t replayed = 0;      // events replayed into the sink
  std::uint64_t skipped = 0;       // events of an unknown kind or with wrong types
  bool final = false;              // STOP-TEST-RUN: eventsSent is the slave's total
  bool resent = false;             // sent again by a dead slave's parent (field 5)
  std::optional<CrashInfo> crash;  // STOP-TEST-RUN of a crashed slave (field 6); none
};

// The run's start (kStartTestRun) or stop (kStopTestRun) at the time the sender gave it,
// µs since the epoch (PROTOCOL.md §5.3).
using RunTimeCallback = std::function<void(EventKind kind, std::int64_t atUs)>;

// Replays `events` packed events (as an EventBuffer holds them) into `sink`; returns how
// many replayed (a malformed one is skipped). For a sender that folds what it recorded.
std::uint64_t replayPacked(std::string_view packed, std::uint32_t events, TestResult& sink,
                           const RunTimeCallback& runTime = nullptr);

// Replays the events of one RESULTS or STOP-TEST-RUN message into `sink`, in order.
// Malformed header → error and nothing replayed; a malformed event is skipped and
// counted in `skipped`. Never throws (except what `sink` itself throws).
// `beforeReplay`, when given, is called once the header is decoded and before the first
// event is replayed (the master uses it to tag the events with their agent, and to refuse
// a message that is not of its run): when it returns false nothing is replayed and the
// result is ErrorCode::kUnknownRun.
// `runTime`, when given, takes a startTestRun/stopTestRun that carries its time instead
// of the sink; one without a time (an older sender) goes to the sink either way.
Decoded<BatchInfo> decodeResultsBatch(
    std::string_view bytes, TestResult& sink, const DecodeLimits& limits = {},
    const std::function<bool(const BatchInfo&)>& beforeReplay = nullptr,
    const RunTimeCallback& runTime = nullptr);

}  // namespace loads::proto
