// EventRing: the shared memory between a slave runner and its parent (the agent, or the
// local master) through which every result event travels, so that the events a slave
// recorded survive its death (docs/distributed.md "When test code crashes", PROTOCOL.md
// §10). The parent creates it (a memfd) before fork/exec and passes the descriptor; the
// slave maps the same pages and never talks to the master itself: the parent forwards.
//
// Layout: a header (the slave's crash record and loaded modules), then one slot per
// runner thread. A slot is a byte ring of records [u32 bytes][u32 events][packed events]
// with one writer at a time (a spin lock, uncontended: one thread per slot unless there
// are more threads than slots) and one reader (the parent). The writer publishes a record
// by a release store of `head` after its bytes; a slave that dies mid-record leaves it
// unpublished, never half-read. The reader frees space by a release store of `tail`.
//
// Thread-safety: append() from any thread of the slave; drain() from one thread of the
// parent; crash() after the slave has ended. Ownership: an EventRing owns its mapping and
// descriptor; the slave's inherited descriptor is the slave's.
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

// What the slave's crash handler wrote (async-signal-safe: fixed sizes, no pointers).
struct RawCrash {
  static constexpr std::size_t kMaxFrames = 64;
  static constexpr std::size_t kTestBytes = 160;
  std::int32_t signal = 0;
  std::int32_t code = 0;             // siginfo si_code
  std::uint64_t faultAddress = 0;    // siginfo si_addr
  std::uint64_t pc = 0;              // where the crashing thread was (its frame in frames)
  std::uint64_t user = 0, hit = 0;   // the crashing thread's last event's LoadsStatus
  char test[kTestBytes] = {};        // the crashing thread's last test started
  std::uint32_t frameCount = 0;
  std::uint64_t frames[kMaxFrames] = {};  // return addresses, innermost first
  std::uint32_t stackOverflow = 0;        // the fault hit the guard page below a stack
  char note[256] = {};                    // std::terminate: which exception escaped; ""
};

// A shared object of the slave as the dynamic loader placed it (for symbolizing later).
struct RawModule {
  static constexpr std::size_t kPathBytes = 256;
  std::uint64_t base = 0;           // dlpi_addr: ELF vaddr + base = address
  std::uint64_t start = 0, end = 0;  // the span of its PT_LOAD segments
  char path[kPathBytes] = {};       // "" = the executable
};

class EventRing {
 public:
  struct Header;
  struct Slot;
  static constexpr std::size_t kMaxModules = 64;

  // Parent: a new ring of `slots` slots of `slotBytes` each. Throws std::runtime_error.
  static std::unique_ptr<EventRing> create(std::uint32_t slots, std::size_t slotBytes = 2u << 20);
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

  // ---- parent side
  bool taken() const;
  // Hands every published record to `sink`, in order per slot; returns the events.
  using Sink = std::function<void(std::string_view packed, std::uint32_t events)>;
  std::uint64_t drain(const Sink& sink);
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
  std::vector<char> wrapped_;  // reader: a record that wraps around, made contiguous
};

}  // namespace loads::agent
