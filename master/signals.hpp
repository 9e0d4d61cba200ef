// Signals for the master's main thread: SIGINT/SIGTERM are blocked in every thread and
// taken synchronously by the main thread, which also uses the wait as its clock tick.
#pragma once

#include <pthread.h>

#include <chrono>

namespace loads::master {

enum class Wake { kTimeout, kInterrupt, kDone };

// What the master's follow loop waits on: a stop request (Ctrl-C, SIGTERM, the
// dashboard's Stop), the run's end, or a timeout. The seam that lets tests script them.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Waits up to `timeout` for interrupt() (kInterrupt) or notifyDone() (kDone).
  virtual Wake wait(std::chrono::milliseconds timeout) = 0;
  // Wakes the waiting thread with kDone; callable from any thread.
  virtual void notifyDone() = 0;
  // Wakes the waiting thread with kInterrupt; callable from any thread.
  virtual void interrupt() = 0;
};

// The real one: the signals themselves.
class SignalWaiter : public Waiter {
 public:
  // Blocks SIGINT, SIGTERM and SIGUSR1 in the calling thread (and in threads it starts
  // later). Construct first thing in main(), before any thread exists.
  SignalWaiter();
  // Waits up to `timeout` for Ctrl-C/SIGTERM (kInterrupt) or notifyDone() (kDone).
  Wake wait(std::chrono::milliseconds timeout) override;
  // Wakes the waiting thread with kDone; callable from any thread.
  void notifyDone() override;
  // Wakes the waiting thread with kInterrupt, exactly as Ctrl-C does (the dashboard's
  // Stop button); callable from any thread.
  void interrupt() override;

 private:
  pthread_t mainThread_;
};

}  // namespace loads::master
