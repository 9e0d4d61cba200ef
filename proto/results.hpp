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
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loads/test_result.hpp"
#include "proto/event_scan.hpp"
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

// Packs msgpack values in the formats msgpack::packer picks, byte for byte, into its own
// growable buffer, with the writes inline: msgpack's packer over an sbuffer made ~10
// out-of-line calls per event, 2,000 of a slave's instructions a hit (issue #13).
// EventBuffer's storage; used by results.cpp only.
class EventPacker {
 public:
  // Packs into room reserved beforehand (reserve()), then commit(): the position is a
  // local the compiler keeps in a register, where a member written through char* is
  // stored and loaded again around every byte (~30 instructions a value).
  class Out {
   public:
    explicit Out(char* at) : at_(at) {}
    void array(std::uint32_t n);      // at most kMaxHead bytes
    void uint64(std::uint64_t v);     // at most kMaxScalar
    void int64(std::int64_t v);       // at most kMaxScalar
    void str(std::string_view text);  // at most maxStr(text)
    void boolean(bool v);             // 1
    char* end() const { return at_; }

   private:
    char* at_;
  };
  static constexpr std::size_t kMaxHead = 5;
  static constexpr std::size_t kMaxScalar = 9;
  static constexpr std::size_t maxStr(std::string_view text) { return 5 + text.size(); }

  explicit EventPacker(std::size_t capacity);
  const char* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  void clear() { size_ = 0; }
  void write(const char* bytes, std::size_t n);
  Out reserve(std::size_t bytes) { return Out(room(bytes)); }
  // Ends the values packed into `out`; aborts if they went past the room reserved.
  void commit(const Out& out) {
    size_ = static_cast<std::size_t>(out.end() - data_.get());
    if (size_ > capacity_) std::abort();
  }

 private:
  char* room(std::size_t bytes);  // where `bytes` more can be written
  void grow(std::size_t bytes);
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_;
};

class EventBuffer final : public TestResult {
 public:
  EventBuffer();

  std::uint64_t events() const { return events_; }
  std::size_t bytes() const;
  bool empty() const { return events_ == 0; }
  // The packed events, concatenated.
  std::string_view data() const;
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
  // Starts an event of `args` arguments after the five-element header, with room for
  // `argBytes` more (EventPacker's bounds); the caller packs them and commits.
  EventPacker::Out begin(EventKind kind, std::uint32_t args, const LoadsStatus& s,
                         std::size_t argBytes);
  void packFailure(EventKind kind, std::string_view test, const Failure& f, const LoadsStatus& s);

  EventPacker packer_;
  std::uint64_t events_ = 0;
};

// ---------------------------------------------------------------- EventPacker, inline

inline char* EventPacker::room(std::size_t bytes) {
  if (capacity_ - size_ < bytes) grow(bytes);
  return data_.get() + size_;
}

inline void EventPacker::write(const char* bytes, std::size_t n) {
  std::memcpy(room(n), bytes, n);
  size_ += n;
}

namespace detail {

inline char* bigEndian(char* at, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    at[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return at + bytes;
}

// A first byte and `bytes` big-endian bytes of `v`.
inline char* tagged(char* at, unsigned char tag, std::uint64_t v, int bytes) {
  *at = static_cast<char>(tag);
  return bigEndian(at + 1, v, bytes);
}

// A scalar the object decoder produced, as the scanner (event_scan.hpp) reads it: what an
// event the scanner refused is replayed from, and the scanner's tests' oracle.
ScanValue scanValueOf(const msgpack::object& o);

}  // namespace detail

// msgpack::packer's pack_imp_uint64: the smallest of fixint, uint 8/16/32/64.
inline void EventPacker::Out::uint64(std::uint64_t v) {
  char*& at = at_;
  if (v < 128) {
    *at++ = static_cast<char>(v);
  } else if (v < 256) {
    at = detail::tagged(at, 0xcc, v, 1);
  } else if (v < 65536) {
    at = detail::tagged(at, 0xcd, v, 2);
  } else if (v < (std::uint64_t{1} << 32)) {
    at = detail::tagged(at, 0xce, v, 4);
  } else {
    at = detail::tagged(at, 0xcf, v, 8);
  }
}

// pack_imp_int64: a value >= 0 as an unsigned one, else negative fixint, int 8/16/32/64.
inline void EventPacker::Out::int64(std::int64_t v) {
  if (v >= 0) return uint64(static_cast<std::uint64_t>(v));
  char*& at = at_;
  const auto bits = static_cast<std::uint64_t>(v);
  if (v >= -32) {
    *at++ = static_cast<char>(v);
  } else if (v >= -128) {
    at = detail::tagged(at, 0xd0, bits, 1);
  } else if (v >= -32768) {
    at = detail::tagged(at, 0xd1, bits, 2);
  } else if (v >= -(std::int64_t{1} << 31)) {
    at = detail::tagged(at, 0xd2, bits, 4);
  } else {
    at = detail::tagged(at, 0xd3, bits, 8);
  }
}

inline void EventPacker::Out::array(std::uint32_t n) {
  char*& at = at_;
  if (n < 16) {
    *at++ = static_cast<char>(0x90 | n);
  } else if (n < 65536) {
    at = detail::tagged(at, 0xdc, n, 2);
  } else {
    at = detail::tagged(at, 0xdd, n, 4);
  }
}

inline void EventPacker::Out::str(std::string_view text) {
  const std::size_t n = text.size();
  char*& at = at_;
  if (n < 32) {
    *at++ = static_cast<char>(0xa0 | n);
  } else if (n < 256) {
    at = detail::tagged(at, 0xd9, n, 1);
  } else if (n < 65536) {
    at = detail::tagged(at, 0xda, n, 2);
  } else {
    at = detail::tagged(at, 0xdb, n, 4);
  }
  std::memcpy(at, text.data(), n);
  at += n;
}

inline void EventPacker::Out::boolean(bool v) { *at_++ = static_cast<char>(v ? 0xc3 : 0xc2); }

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
