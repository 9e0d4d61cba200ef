// Runner: runs the selected tests with virtual users on N threads and reports every
// event to a TestResult.
//
// Each virtual user is a stackful coroutine (asio::spawn) on one of the runner's
// threads, with its own TestCase instance constructed once. Users are spread over the
// selected tests by one rule in every mode (docs/distributed.md): user k of the run runs
// test k mod T, arrival n of the open model runs test n mod T, or with weights the tests
// of TestMix slots k and n (run/test_mix.hpp). A runner that is share i of
// n of a distributed run has the users k = i, i + n, i + 2n, … of the run. Cycles: for
// every users value, for every hits value, one cycle runs after the previous one.
//
// Thread-safety: run() blocks the calling thread; stop(), cancel() and progress() may be
// called from any other thread while it runs. The TestResult must outlive the Runner.
// Constructing a Runner installs its files, params and share as the process's run data
// (run/run_data.hpp): one Runner at a time per process.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "loads/test_result.hpp"
#include "run/row_runs.hpp"
#include "run/run_data.hpp"
#include "run/schedule.hpp"
#include "run/test_library.hpp"
#include "run/test_mix.hpp"
#include "run/user_context.hpp"

namespace loads {

struct RunOptions {
  std::vector<std::uint64_t> userCycles{1};  // -u: users per cycle; default one cycle of 1
  std::vector<std::uint64_t> hitCycles;      // --hits: per user; empty = by duration (or 1)
  std::optional<std::chrono::milliseconds> duration;  // -d: per cycle; default none
  std::chrono::milliseconds ramp{0};            // --ramp: user starts spread over this; default 0
  unsigned threads = 0;                         // -t: runner threads; 0 = one per core
  std::chrono::milliseconds stopTimeout{5000};  // --stop-timeout: grace for hits in flight
  detail::UserSettings user;  // --server-url, --insecure-skip-tls-verify, --timeout

  // Open model (--rate, --rate-stages): hits start on this schedule of the whole run
  // (hits/s over every agent), run by a pool of users; none = closed model.
  std::optional<StageProfile> rate;
  std::uint32_t maxUsers = 0;  // --max-users: this runner's pool for `rate`
  // Closed model with --stages: target users of the whole run over time; none.
  std::optional<StageProfile> userStages;
  std::uint32_t shareIndex = 0;  // this runner's share of a distributed run (0)
  std::uint32_t shareCount = 1;  // shares (agents) of the run; 1 = local
  // Users of the whole run (open model: its pool; stages: its most): users a rebalance
  // adds are numbered from here on; 0 = this runner's users times shareCount.
  std::uint64_t runUsers = 0;
  // When the schedule's time 0 is (the master's common start); none = when run() starts.
  std::optional<std::chrono::system_clock::time_point> startAt;
  // Test data (docs/data.md): what dataFile() and config() answer in the run's tests.
  std::map<std::string, std::string> files;   // --include: name → path here; none
  std::map<std::string, std::string> params;  // --param key=value; none
};

// The run's cycles: every users value with every hits value, users first (-u 10:20
// --hits 5:10 is four); a --rate or --stages schedule is one cycle.
std::size_t cycleCount(const RunOptions& options);
struct CycleShape {
  std::uint64_t users = 0;  // users of the cycle (of the whole run)
  std::uint64_t hits = 0;   // hits per user; 0 = until the duration ends
};
// Cycle `index` (0-based, below cycleCount) of a run without a schedule.
CycleShape cycleShape(const RunOptions& options, std::size_t index);

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
  // What a runner that left had not dealt of its unique feeders' rows: this runner deals
  // its part of them after its own (run/row_runs.hpp); none.
  std::vector<RowRun> rows;
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

// The runner threads' scheduling policy, from LOADS_RUNNER_POLICY: SCHED_BATCH ("batch",
// the default) or SCHED_OTHER ("normal"); throws std::invalid_argument for anything else.
// A batch thread woken by a response does not preempt the thread running on its CPU: a
// target on the same machine finishes what it is serving instead of being switched out
// for every response it writes (docs/decisions.md: up to 15 % of the throughput).
int runnerPolicy();

class Runner {
 public:
  Runner(std::vector<SelectedTest> tests, RunOptions options, TestResult& result);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs every cycle; calls startTestRun first and stopTestRun last. The same as
  // start(), runCycle(i) for every i below cycles(), finish().
  void run();
  // Cycle by cycle, for a caller that follows each one (the master's local driver).
  // Cycles: users values x hits values, in that order; a --rate or --stages schedule
  // is one cycle.
  std::size_t cycles() const;
  // Starts the runner's threads and calls startTestRun. Once, before runCycle().
  void start();
  // Runs cycle `index` (0-based) to its end; blocks. Nothing after stop() or cancel().
  void runCycle(std::size_t index);
  // Calls stopTestRun and joins the runner's threads. Once, after the last runCycle().
  void finish();
  // Ends the run as if its duration were over: no new hits; hits in flight get the
  // stop timeout, then are cancelled. Later cycles do not start.
  void stop();
  // Cancels the hits in flight now (a second Ctrl-C).
  void cancel();
  Progress progress() const;
  // Takes the new share: the open model re-splits its arrivals from `from`, stages their
  // targets from `from`; a closed run starts the users it lacks at once. Users and pool
  // only grow (a runner never gives users back). The same split again (a REBALANCE that
  // only brings rows) changes nothing but the rows. Callable from any thread.
  void rebalance(const Resplit& resplit);
  // scheduleTarget() at a wall-clock time (µs since the epoch); -1 before run() starts.
  double targetAt(std::int64_t epochUs) const;

 private:
  struct Cycle;
  struct Thread;
  struct Slot;
  struct UserScope;
  void runUsers(std::uint64_t users, std::uint64_t hits);
  void runOpen();
  void runStaged();
  void finishCycle(Cycle& cycle, std::unique_lock<std::mutex>& lock);
  void runUser(Thread& thread, Cycle& cycle, std::uint64_t index, detail::Yield yield);
  void runDispatcher(Thread& thread, Cycle& cycle, ArrivalDispatcher dispatcher,
                     detail::Yield yield);
  void runPooledUser(Thread& thread, Cycle& cycle, std::uint64_t index, detail::Yield yield);
  bool waitIdle(Thread& thread, Slot& slot, detail::UserContext& user, detail::Yield& yield);
  std::unique_ptr<TestCase> buildTest(detail::UserContext& user, const SelectedTest& selected);
  void wakeIdle();
  void scheduleStart();
  void runHit(detail::UserContext& user, TestCase& test, const SelectedTest& selected);
  void userDone(Cycle& cycle);
  std::uint64_t userNumber(const Cycle& cycle, std::uint64_t local) const;
  TestCase* testFor(detail::UserContext& user, std::vector<std::unique_ptr<TestCase>>& built,
                    std::size_t test);
  void growUsers(std::uint64_t users);
  void track(Cycle& cycle, std::uint64_t users, bool pooled);
  void cancelAll();
  void raiseFileLimit(std::uint64_t users);

  std::vector<SelectedTest> tests_;
  TestMix mix_;  // which test user k and arrival n run
  RunOptions options_;
  TestResult& result_;
  int policy_;  // the runner threads' scheduling policy: runnerPolicy()
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
  std::optional<std::tuple<std::uint32_t, std::uint32_t, Micros>> split_;  // the last applied
};

}  // namespace loads
