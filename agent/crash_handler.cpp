#include "agent/crash_handler.hpp"

#include <cxxabi.h>
#include <execinfo.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <typeinfo>

#include "agent/event_ring.hpp"

namespace loads::agent {
namespace {

EventRing* crashRing = nullptr;
constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP};
constexpr std::size_t kAltStackBytes = 64 * 1024;
// Why std::terminate was called, written by the terminate handler before abort().
char terminateNote[256] = {};

thread_local ThreadActivity activity{};

void copyText(char* to, std::size_t size, const char* from) {
  std::size_t n = 0;
  while (n + 1 < size && from[n]) {
    to[n] = from[n];
    ++n;
  }
  to[n] = '\0';
}

void onCrash(int signal, siginfo_t* info, void* context) {
  if (crashRing && crashRing->claimCrash()) {
    RawCrash& c = crashRing->crashRecord();
    c.signal = signal;
    c.code = info ? info->si_code : 0;
    c.faultAddress = info ? reinterpret_cast<std::uint64_t>(info->si_addr) : 0;
    copyText(c.test, sizeof c.test, activity.test);
    c.user = activity.user;
    c.hit = activity.hit;
    copyText(c.note, sizeof c.note, terminateNote);
#if defined(__x86_64__)
    if (context)
      c.pc =
          static_cast<std::uint64_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
    // A fault within a page or two of the stack pointer is the stack running into its
    // guard page (a coroutine's, or a thread's).
    if (context && signal == SIGSEGV && c.faultAddress) {
      const auto sp =
          static_cast<std::uint64_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RSP]);
      const std::uint64_t distance =
          c.faultAddress > sp ? c.faultAddress - sp : sp - c.faultAddress;
      c.stackOverflow = distance < 2 * 4096;
    }
#endif
    void* frames[RawCrash::kMaxFrames];
    const int n = ::backtrace(frames, RawCrash::kMaxFrames);
    c.frameCount = n > 0 ? static_cast<std::uint32_t>(n) : 0;
    for (std::uint32_t i = 0; i < c.frameCount; ++i) {
      c.frames[i] = reinterpret_cast<std::uint64_t>(frames[i]);
    }
    crashRing->publishCrash();
  }
  // Die of the same signal: the handler was reset (SA_RESETHAND), so a fault re-executes
  // into the default action, and an explicit signal is raised again.
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

// std::terminate: say which exception escaped, then abort() (SIGABRT, the handler).
void onTerminate() {
  std::string note = "std::terminate called";
  if (auto current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::exception& e) {
      int status = 0;
      char* type = abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status);
      note += " after an exception escaped: " +
              std::string(status == 0 && type ? type : typeid(e).name()) + ": " + e.what();
      std::free(type);
    } catch (...) {
      note += " after an exception of an unknown type escaped";
    }
  } else {
    note += " without an active exception (an exception escaped a noexcept function?)";
  }
  copyText(terminateNote, sizeof terminateNote, note.c_str());
  std::abort();
}

}  // namespace

ThreadActivity& threadActivity() { return activity; }

void prepareThreadForCrash() {
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;
  // Never freed: the thread may crash until it ends, and runner threads are few.
  void* stack =
      ::mmap(nullptr, kAltStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack == MAP_FAILED) return;
  stack_t alt{};
  alt.ss_sp = stack;
  alt.ss_size = kAltStackBytes;
  ::sigaltstack(&alt, nullptr);
}

void installCrashHandler(EventRing& ring) {
  crashRing = &ring;
  void* warm[4];
  ::backtrace(warm, 4);  // loads libgcc_s now: backtrace() may allocate only the first time
  prepareThreadForCrash();
  std::set_terminate(onTerminate);
  struct sigaction action {};
  action.sa_sigaction = onCrash;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int signal : kSignals) ::sigaction(signal, &action, nullptr);
}

}  // namespace loads::agent
