// Signals for the master's main thread: SIGINT/SIGTERM are blocked in every thread and
// taken synchronously by the main thread, which also uses the wait as its clock tick.
#pragma once

#include <pthread.h>

#include <chrono>

namespace loads::master {

enum class Wake { kTimeout, kInterrupt, kDone };

class SignalWaiter {
 public:
  // Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread (and in threads it starts
  // later). Construct first thing in main(), before any thread exists.
  SignalWaiter();
  // Waits up to `timeout` for Ctrl-C/SIGTERM (kInterrupt) or notifyDone() (kDone).
  Wake wait(std::chrono::milliseconds timeout);
  // Wakes the waiting thread with kDone; callable from any thread.
  void notifyDone();
  // Wakes the waiting thread with kInterrupt, exactly as Ctrl-C does (the dashboard's
  // Stop button); callable from any thread.
  void interrupt();

 private:
  pthread_t mainThread_;
};

}  // namespace loads::master
