#include "master/signals.hpp"

#include <csignal>
#include <ctime>

namespace loads::master {
namespace {
sigset_t waitedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}
}  // namespace

SignalWaiter::SignalWaiter() : mainThread_(pthread_self()) {
  sigset_t set = waitedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Wake SignalWaiter::wait(std::chrono::milliseconds timeout) {
  sigset_t set = waitedSignals();
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>(timeout.count() % 1000) * 1'000'000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  if (sig == SIGUSR1) return Wake::kDone;
  if (sig == SIGINT || sig == SIGTERM) return Wake::kInterrupt;
  return Wake::kTimeout;
}

void SignalWaiter::notifyDone() { pthread_kill(mainThread_, SIGUSR1); }

void SignalWaiter::interrupt() { pthread_kill(mainThread_, SIGINT); }

}  // namespace loads::master
