// EventRing: the shared memory between a slave runner and its parent (the agent, or the
// local master) through which every result event travels, so that the events a slave
// recorded survive its death (docs/distributed.md "When test code crashes", PROTOCOL.md
// §10). The parent creates it (a memfd) before fork/exec and passes the descriptor; the
// slave maps the same pages.
//
// Layout: a header (the batches sent last, the slave's crash record and loaded modules),
// then one slot per runner thread. A slot is a byte ring of records [u32 bytes][u32
// events][packed events] with one writer at a time (a spin lock, uncontended: one thread
// per slot unless there are more threads than slots). The writer publishes a record by a
// release store of `head` after its bytes; a slave that dies mid-record leaves it
// unpublished, never half-read.
//
// The slave's sender reads records from `sentTo` and sends them as batches; before it
// hands a batch to its socket it notes the batch (seq, slot, byte range, counts) in a
// table of the last kRetained batches, and a batch's bytes are freed (`tail`) only when
// its entry is overwritten, kRetained batches later: "handed to the socket" is not
// "delivered" (a dead process's ZeroMQ queue dies with it), so what may still have been
// queued stays readable. After the slave's death the parent sends the retained batches
// again (marked resent: the master drops those it has) and everything after them.
//
// Thread-safety: append() from any thread of the slave; the sender's calls from one
// thread; the parent's after the slave has ended. Ownership: an EventRing owns its
// mapping and descriptor.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace loads::agent {

inline constexpr int kRingFd = 4;  // the slave's descriptor of the ring (--ring-fd 4)
// The slave's --results when its parent reads the ring itself (the local master): the
// slave sends nothing, and the parent replays the records in place (master/ring_reader).
inline constexpr const char* kParentReadsRing = "ring";

// What the slave's crash handler wrote (async-signal-safe: fixed sizes, no pointers).
struct RawCrash {
  static constexpr std::size_t kMaxFrames = 64;
  static constexpr std::size_t kTestBytes = 160;
  std::int32_t signal = 0;
  std::int32_t code = 0;            // siginfo si_code
  std::uint64_t faultAddress = 0;   // siginfo si_addr
  std::uint64_t pc = 0;             // where the crashing thread was (its frame in frames)
  std::uint64_t user = 0, hit = 0;  // the crashing thread's last event's LoadsStatus
  char test[kTestBytes] = {};       // the crashing thread's last test started
  std::uint32_t frameCount = 0;
  std::uint64_t frames[kMaxFrames] = {};  // return addresses, innermost first
  std::uint32_t stackOverflow = 0;        // the fault hit the guard page below a stack
  char note[256] = {};                    // std::terminate: which exception escaped; ""
};

// A shared object of the slave as the dynamic loader placed it (for symbolizing later).
struct RawModule {
  static constexpr std::size_t kPathBytes = 256;
  std::uint64_t base = 0;            // dlpi_addr: ELF vaddr + base = address
  std::uint64_t start = 0, end = 0;  // the span of its PT_LOAD segments
  char path[kPathBytes] = {};        // "" = the executable
};

// A batch the slave's sender handed (or was about to hand) to its socket.
struct SentBatch {
  std::uint64_t seq = 0;           // its sequence number; 0 = none
  std::uint32_t slot = 0;          // the slot its events came from
  std::uint64_t from = 0, to = 0;  // their byte range in the slot
  std::uint64_t events = 0;        // events in it
  std::uint64_t eventsSent = 0;    // the running count, it included
};

class EventRing {
 public:
  struct Header;
  struct Slot;
  static constexpr std::size_t kMaxModules = 64;
  // Batches kept readable after they were handed to the socket: more than the sender's
  // ZeroMQ queue can hold (RingForwarder's high-water mark, 8, plus the one being written).
  static constexpr std::size_t kRetained = 16;

  // Parent: a new ring of `slots` slots of `slotBytes` each. Throws std::runtime_error.
  static std::unique_ptr<EventRing> create(std::uint32_t slots, std::size_t slotBytes = 2u << 20);
  // A second mapping of the same ring (its own descriptor), for another owner.
  std::unique_ptr<EventRing> share() const;
  // Slave: maps the ring passed as `fd`; nullptr when `fd` is no ring.
  static std::unique_ptr<EventRing> attach(int fd);
  ~EventRing();
  EventRing(const EventRing&) = delete;
  EventRing& operator=(const EventRing&) = delete;

  int fd() const { return fd_; }  // give the child this one (not close-on-exec)

  // ---- slave side
  // Marks the ring as used: the parent forwards only a ring a slave has taken.
  void take();
  // This thread's slot, claimed on first use (slots are shared round-robin beyond).
  std::uint32_t claimSlot();
  // Copies one record; waits (back-pressure) while the parent has not made room. An
  // event larger than the slot is dropped and counted in tooLarge().
  void append(std::uint32_t slot, std::string_view packed, std::uint32_t events);
  // Where the crash handler writes; claimCrash() is true for the first crashing thread.
  bool claimCrash();
  RawCrash& crashRecord();
  void publishCrash();
  // Records the slave's loaded modules (call after the test library is loaded).
  void recordModules();

  // ---- the sender (the slave's, then the parent's after the slave's death)
  std::uint32_t slotsUsed() const;
  std::size_t slotBytes() const;
  std::uint64_t head(std::uint32_t slot) const;    // bytes published
  std::uint64_t sentTo(std::uint32_t slot) const;  // bytes sent (or being sent)
  // Hands the records from `from` on to `sink` until `maxBytes` are read or the head is
  // reached (a record that crosses `maxBytes` is read whole); returns where it stopped.
  using Sink = std::function<void(std::string_view packed, std::uint32_t events)>;
  std::uint64_t read(std::uint32_t slot, std::uint64_t from, std::size_t maxBytes,
                     const Sink& sink);
  // Notes a batch before it is handed to the socket; frees the one kRetained before it.
  void noteBatch(const SentBatch& batch);
  // Moves sentTo forward to `to` (never back).
  void skipTo(std::uint32_t slot, std::uint64_t to);
  void markFinalSent();
  bool finalSent() const;
  // The noted batches still retained, by seq.
  std::vector<SentBatch> retained() const;
  // A parent that reads the ring itself, in place of a sender: the slot's records up to
  // `to` are consumed, their bytes may be written over at once (nothing is in flight).
  void release(std::uint32_t slot, std::uint64_t to);

  // ---- parent side
  bool taken() const;
  // The crash record, once the slave is gone; nullptr when no handler wrote one.
  const RawCrash* crash() const;
  std::vector<RawModule> modules() const;
  std::uint64_t tooLarge() const;

 private:
  EventRing(int fd, void* base, std::size_t bytes);
  Slot& slot(std::uint32_t i) const;
  int fd_;
  void* base_;
  std::size_t bytes_;
  Header* header_;
  std::vector<char> wrapped_;  // read(): a record that wraps around, made contiguous
};

}  // namespace loads::agent
