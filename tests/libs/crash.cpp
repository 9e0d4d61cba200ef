// Test code that crashes (issue #19, tests/e2e/crash_test.cpp): every test makes one
// request to serverUrl() per hit, then crashes its slave at hit $LOADS_CRASH_HIT (default
// 5) of user $LOADS_CRASH_USER (default 1), each in its own way. The request of the
// crashing hit was served and recorded before the crash: the report must count it.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <loads/loads.hpp>
#include <stdexcept>
#include <string>

namespace {

std::uint64_t setting(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value ? std::strtoull(value, nullptr, 10) : fallback;
}

// Not inlined, so that the backtrace has a frame of this library by this name.
[[gnu::noinline]] void dereferenceNull(int* pointer) {
  volatile int* target = pointer;
  *target = 42;
  asm volatile("" ::: "memory");  // no tail call: this frame stays on the stack
}

[[gnu::noinline]] int recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  // Bounded only by a depth no stack reaches: the compiler must not see it as endless.
  return depth < (1 << 30) ? recurse(depth + 1) + frame[0] : frame[0];
}

struct ThrowsInDestructor {
  ~ThrowsInDestructor() noexcept(false) { throw std::runtime_error("thrown by a destructor"); }
};

}  // namespace

class Crash : public loads::TestCase {
 public:
  void test_null() {
    if (request()) dereferenceNull(nullptr);
  }
  void test_abort() {
    if (request()) std::abort();
  }
  void test_terminate() {
    if (request()) {
      try {
        ThrowsInDestructor object;
        throw std::logic_error("unwinding");  // a second exception during unwinding
      } catch (...) {
      }
    }
  }
  void test_overflow() {
    if (request()) recurse(0);
  }
  void test_killed() {  // what an out-of-memory kill looks like from outside: SIGKILL
    if (request()) ::kill(::getpid(), SIGKILL);
  }
  void test_fine() { request(); }

 private:
  // One request; true when this is the hit to crash at.
  bool request() {
    session().get(serverUrl() + "/crash");
    const auto& s = loadsStatus();
    return s.currentUser == setting("LOADS_CRASH_USER", 1) &&
           s.currentHit == setting("LOADS_CRASH_HIT", 5);
  }
};

LOADS_TEST_CASE(Crash, test_null, test_abort, test_terminate, test_overflow, test_killed,
                test_fine);
