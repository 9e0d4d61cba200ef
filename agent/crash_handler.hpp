// The slave runner's crash handler: on SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT (abort,
// std::terminate) and SIGSYS it writes the signal, the crashing thread's test, user and
// hit (its last event's) and the raw return addresses of its stack into the EventRing's
// crash record, then dies of the same signal. Only async-signal-safe work happens in
// the handler: fixed-size copies, and backtrace(), loaded once beforehand. The parent
// symbolizes the frames after the slave is gone (crash_report.hpp).
//
// Each thread that runs test code needs its own alternate signal stack, or a stack
// overflow (a coroutine's guard page) could not run the handler: prepareThreadForCrash()
// gives the calling thread one (RingRecorder calls it on a thread's first event).
// Thread-safety: install once, from main, before any thread starts.
#pragma once

#include <cstdint>

namespace loads::agent {

class EventRing;

// What the crash handler reports about the crashing thread (kept by RingRecorder).
struct ThreadActivity {
  char test[160];      // the last test started on this thread; "" = none
  std::uint64_t user;  // the last event's LoadsStatus
  std::uint64_t hit;
};
ThreadActivity& threadActivity();

// `ring` must outlive the process (the slave's ring lives until exit).
void installCrashHandler(EventRing& ring);
void prepareThreadForCrash();

}  // namespace loads::agent
