// Runner: runs the selected tests with virtual users on N threads and reports every
// event to a TestResult.
//
// Each virtual user is a stackful coroutine (asio::spawn) on one of the runner's
// threads, with its own TestCase instance constructed once. Users are spread over the
// selected tests round-robin. Cycles: for every users value, for every hits value, one
// cycle runs after the previous one.
//
// Thread-safety: run() blocks the calling thread; stop(), cancel() and progress() may be
// called from any other thread while it runs. The TestResult must outlive the Runner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "loads/test_result.hpp"
#include "run/schedule.hpp"
#include "run/test_library.hpp"
#include "run/user_context.hpp"

namespace loads {

struct RunOptions {
  std::vector<std::uint64_t> userCycles{1};  // -u: users per cycle; default one cycle of 1
  std::vector<std::uint64_t> hitCycles;      // --hits: per user; empty = by duration (or 1)
  std::optional<std::chrono::milliseconds> duration;  // -d: per cycle; default none
  std::chrono::milliseconds ramp{0};            // --ramp: user starts spread over this; default 0
  unsigned threads = 0;                         // -t: runner threads; 0 = one per core
  std::chrono::milliseconds stopTimeout{5000};  // --stop-timeout: grace for hits in flight
  detail::UserSettings user;      // --server-url, --insecure-skip-tls-verify, --timeout
  std::uint32_t firstUserId = 1;  // ids of this runner's users start here

  // Open model (--rate, --rate-stages): hits start on this schedule of the whole run
  // (hits/s over every agent), run by a pool of users; none = closed model.
  std::optional<StageProfile> rate;
  std::uint32_t maxUsers = 0;  // --max-users: this runner's pool for `rate`
  // Closed model with --stages: target users of the whole run over time; none.
  std::optional<StageProfile> userStages;
  std::uint32_t shareIndex = 0;  // this runner's share of a distributed schedule
  std::uint32_t shareCount = 1;  // shares (agents) of the run; 1 = local
  // When the schedule's time 0 is (the master's common start); none = when run() starts.
  std::optional<std::chrono::system_clock::time_point> startAt;
};

// The target of the whole run `sinceStart` into its schedule: users (--stages) or hits/s
// (--rate); -1 when the run has no schedule.
double scheduleTarget(const RunOptions& options, Micros sinceStart);
// "users", "rate" or "" (no schedule).
const char* scheduleKind(const RunOptions& options);

// A new share for a runner of a distributed run that lost an agent (REBALANCE,
// PROTOCOL.md §5.1): from now on it runs share `index` of `count`.
struct Resplit {
  std::uint32_t index = 0;  // the new share's index, 0-based
  std::uint32_t count = 1;  // shares (agents) from now on
  Micros from{0};           // schedules: the new split applies from this offset; 0
  std::uint32_t users = 0;  // closed model: this runner's users; open model: its pool
};

// A snapshot of where the run is, for live outputs.
struct Progress {
  std::size_t cycle = 0;    // 0-based index of the running cycle
  std::size_t cycles = 1;   // number of cycles
  std::uint64_t users = 0;  // users of this cycle
  std::uint32_t activeUsers = 0;
  std::chrono::steady_clock::time_point cycleStart;
  std::optional<std::chrono::milliseconds> duration;  // planned length of each cycle
  bool stopping = false;  // duration over or stop() called; hits in flight finishing
  double target = -1;     // schedule target now (users or hits/s, whole run); -1 none
};

class Runner {
 public:
  Runner(std::vector<SelectedTest> tests, RunOptions options, TestResult& result);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs every cycle; calls startTestRun first and stopTestRun last.
  void run();
  // Ends the run as if its duration were over: no new hits; hits in flight get the
  // stop timeout, then are cancelled. Later cycles do not start.
  void stop();
  // Cancels the hits in flight now (a second Ctrl-C).
  void cancel();
  Progress progress() const;
  // Takes the new share: the open model re-splits its arrivals from `from`, stages their
  // targets from `from`; a closed run starts the users it lacks at once. Users and pool
  // only grow (a runner never gives users back). Callable from any thread.
  void rebalance(const Resplit& resplit);
  // scheduleTarget() at a wall-clock time (µs since the epoch); -1 before run() starts.
  double targetAt(std::int64_t epochUs) const;

 private:
  struct Cycle;
  struct Thread;
  struct Slot;
  struct UserScope;
  void runCycle(std::uint64_t users, std::uint64_t hits);
  void runOpen();
  void runStaged();
  void finishCycle(Cycle& cycle, std::unique_lock<std::mutex>& lock);
  void runUser(Thread& thread, Cycle& cycle, std::uint64_t index, boost::asio::yield_context yield);
  void runDispatcher(Thread& thread, Cycle& cycle, ArrivalDispatcher dispatcher,
                     boost::asio::yield_context yield);
  void runPooledUser(Thread& thread, Cycle& cycle, std::uint64_t index,
                     boost::asio::yield_context yield);
  bool waitIdle(Thread& thread, Slot& slot, detail::UserContext& user,
                boost::asio::yield_context& yield);
  std::unique_ptr<TestCase> buildTest(detail::UserContext& user, const SelectedTest& selected);
  void wakeIdle();
  void scheduleStart();
  void runHit(detail::UserContext& user, TestCase& test, const SelectedTest& selected);
  void userDone(Cycle& cycle);
  void growUsers(std::uint64_t users);
  void track(Cycle& cycle, std::uint64_t users, bool pooled);
  void cancelAll();
  void raiseFileLimit(std::uint64_t users);

  std::vector<SelectedTest> tests_;
  RunOptions options_;
  TestResult& result_;
  std::vector<std::unique_ptr<Thread>> threads_;
  std::unique_ptr<detail::DnsCache> dns_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopRequested_ = false;         // guarded by mutex_
  bool cancelRequested_ = false;       // guarded by mutex_
  std::atomic<bool> stopping_{false};  // read by users before each hit
  std::atomic<std::uint32_t> activeUsers_{0};
  Progress progress_;  // guarded by mutex_
  // The schedule's time 0 (open model and stages), set before any user starts.
  std::chrono::steady_clock::time_point scheduleStart_;
  std::atomic<std::int64_t> scheduleStartUs_{0};  // the same, wall clock µs; 0 = not yet
  std::atomic<std::uint32_t> targetUsers_{0};     // --stages: users of this runner now
  // What rebalance() changes, guarded by mutex_: the running cycle, its users so far,
  // how they are spawned, and the --stages schedule.
  Cycle* cycle_ = nullptr;
  std::uint64_t cycleUsers_ = 0;
  bool pooled_ = false;                // pooled users (open model, stages)
  std::size_t dispatcherThreads_ = 0;  // open model: threads [0, this) dispatch
  UserTargetSchedule* staged_ = nullptr;
};

}  // namespace loads
