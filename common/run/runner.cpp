#include "run/runner.hpp"

#include <cxxabi.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/coroutine/exceptions.hpp>
#include <cmath>
#include <iostream>
#include <thread>
#include <unordered_set>

#include "run/current_user.hpp"
#include "util/open_files.hpp"

namespace loads {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// One runner thread: its io_context, TLS context and the users it runs.
struct Runner::Thread {
  // One thread runs it and only that thread does I/O on its sockets: no reactor I/O locking.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::unordered_set<detail::UserContext*> users;  // touched only on this thread
  std::vector<Slot*> idle;  // pooled users waiting for a hit or a higher target; this thread only
  // Open model: this thread's dispatcher and its timer while it runs; this thread only.
  ArrivalDispatcher* dispatcher = nullptr;
  asio::steady_timer* dispatchTimer = nullptr;
  std::thread thread;
};

// A pooled user (open model, stages) while it waits: the dispatcher or the stage
// controller wakes it by cancelling its timer.
struct Runner::Slot {
  explicit Slot(asio::io_context& io) : wake(io) {}
  asio::steady_timer wake;
  std::size_t home = 0;        // the test of this user's number (index in tests_)
  std::size_t test = 0;        // open model: the test of the hit handed over
  std::int64_t plannedUs = 0;  // open model: the planned start of the hit handed over
  bool assigned = false;       // a hit was handed over
};

struct Runner::Cycle {
  std::uint64_t users;            // users started with the cycle (more may join: rebalance)
  std::uint64_t hits;             // per user; 0 = until stopping
  std::uint64_t remaining;        // users and dispatchers not finished; guarded by Runner::mutex_
  std::uint64_t dispatchers = 0;  // open model: dispatchers not finished; guarded by mutex_
};

// A user's context for the life of its coroutine: registered with its thread (so
// cancelAll() reaches it) and counted done when the coroutine ends, however it ends.
struct Runner::UserScope {
  UserScope(Runner& runner, Thread& thread, Cycle& cycle, const SelectedTest& selected,
            detail::Yield& yield)
      : runner(runner),
        thread(thread),
        cycle(cycle),
        user(thread.io, runner.result_, runner.options_.user, thread.tls, *runner.dns_) {
    user.yield = &yield;
    user.test = selected.fullName;
    thread.users.insert(&user);
  }
  ~UserScope() {
    thread.users.erase(&user);
    runner.userDone(cycle);
  }
  Runner& runner;
  Thread& thread;
  Cycle& cycle;
  detail::UserContext user;
};

namespace {

// How a hit (or one of its phases) ended.
struct Outcome {
  enum Kind { kSuccess, kFailure, kError, kSkip, kCancelled } kind = kSuccess;
  std::string type;
  std::string message;
  std::string file;
  int line = 0;
};

std::string typeName(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name ? name : type.name();
  std::free(name);
  return out;
}

// Runs one phase of a hit, turning what it throws into an Outcome. The coroutine's
// forced unwind must pass through untouched.
template <class F>
Outcome guarded(const detail::UserContext& user, F&& phase) {
  Outcome out;
  try {
    phase();
    return out;
  } catch (const boost::coroutines::detail::forced_unwind&) {
    throw;
  } catch (const AssertionFailure& e) {
    out = {Outcome::kFailure, "AssertionError", e.what(), e.where().file_name(),
           static_cast<int>(e.where().line())};
  } catch (const SkipTest& e) {
    out = {Outcome::kSkip, "SkipTest", e.what(), "", 0};
  } catch (const std::exception& e) {
    out = {Outcome::kError, typeName(typeid(e)), e.what(), "", 0};
  } catch (...) {
    out = {Outcome::kError, "unknown", "an exception that is not a std::exception", "", 0};
  }
  if (user.cancelled && out.kind != Outcome::kSkip) out.kind = Outcome::kCancelled;
  return out;
}

std::vector<std::uint32_t> weightsOf(const std::vector<SelectedTest>& tests) {
  std::vector<std::uint32_t> weights;
  for (const auto& t : tests) weights.push_back(t.weight);
  return weights;
}

}  // namespace

int runnerPolicy() {
  const char* value = std::getenv("LOADS_RUNNER_POLICY");
  const std::string_view policy = value ? value : "batch";
  if (policy == "batch") return SCHED_BATCH;
  if (policy == "normal") return SCHED_OTHER;
  throw std::invalid_argument("LOADS_RUNNER_POLICY must be batch or normal, not '" +
                              std::string(policy) + "'");
}

Runner::Runner(std::vector<SelectedTest> tests, RunOptions options, TestResult& result)
    : tests_(std::move(tests)),
      mix_(weightsOf(tests_)),
      options_(std::move(options)),
      result_(result),
      policy_(runnerPolicy()),
      dns_(std::make_unique<detail::DnsCache>()) {
  detail::RunData data{options_.files, options_.params, options_.shareIndex, options_.shareCount,
                       [this] { stop(); }};
  data.claimRows = [this](std::string_view feed, std::uint32_t run, std::uint64_t upTo,
                          bool exact) { result_.claimRows(feed, run, upTo, exact); };
  detail::installRunData(std::move(data));
  unsigned n =
      options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    auto t = std::make_unique<Thread>();
    t->tls.set_default_verify_paths();
    threads_.push_back(std::move(t));
  }
}

Runner::~Runner() {
  detail::installRunData({});  // stop() is this runner's: no feeder may call it any more
  for (auto& t : threads_) {
    t->work.reset();
    if (t->thread.joinable()) t->thread.join();
  }
}

void Runner::run() {
  start();
  for (std::size_t index = 0; index < cycles(); ++index) runCycle(index);
  finish();
}

std::size_t cycleCount(const RunOptions& options) {
  if (options.rate || options.userStages) return 1;  // the schedule is the one cycle
  return options.userCycles.size() * std::max<std::size_t>(1, options.hitCycles.size());
}

CycleShape cycleShape(const RunOptions& options, std::size_t index) {
  const std::size_t perUsers = std::max<std::size_t>(1, options.hitCycles.size());
  const std::uint64_t users = options.userCycles.at(index / perUsers);
  const std::uint64_t hits = options.hitCycles.empty() ? (options.duration ? 0 : 1)
                                                       : options.hitCycles.at(index % perUsers);
  return {users, hits};
}

std::size_t Runner::cycles() const { return cycleCount(options_); }

void Runner::start() {
  {
    std::lock_guard lock(mutex_);
    progress_.cycles = cycles();
    progress_.duration = options_.duration;
  }
  raiseFileLimit(*std::max_element(options_.userCycles.begin(), options_.userCycles.end()));
  for (auto& t : threads_) {
    t->thread = std::thread([&io = t->io, policy = policy_] {
      const sched_param none{};
      ::pthread_setschedparam(::pthread_self(), policy, &none);  // failing, it stays normal
      io.run();
    });
    ::pthread_setname_np(t->thread.native_handle(), "loads-runner");  // for top, perf and benches
  }
  result_.startTestRun();
}

void Runner::runCycle(std::size_t index) {
  if (options_.rate) return runOpen();
  if (options_.userStages) return runStaged();
  const auto [users, hits] = cycleShape(options_, index);
  {
    std::lock_guard lock(mutex_);
    if (stopRequested_) return;  // stop() and cancel() end the run, not just the cycle
    progress_.cycle = index;
    progress_.users = users;
    progress_.cycleStart = Clock::now();
    progress_.stopping = false;
  }
  runUsers(users, hits);
}

void Runner::finish() {
  detail::releaseRowClaims();
  result_.stopTestRun();
  for (auto& t : threads_) t->work.reset();
  for (auto& t : threads_) t->thread.join();
}

void Runner::runUsers(std::uint64_t users, std::uint64_t hits) {
  detail::startRunCycle(options_.runUsers ? options_.runUsers : users * options_.shareCount);
  Cycle cycle{users, hits, users};
  stopping_ = false;
  track(cycle, users, false);
  for (std::uint64_t i = 0; i < users; ++i) {
    Thread& thread = *threads_[i % threads_.size()];
    detail::spawnUser(thread.io, [this, &thread, &cycle, i](detail::Yield yield) {
      runUser(thread, cycle, i, yield);
    });
  }
  std::unique_lock lock(mutex_);
  auto finished = [&] { return cycle.remaining == 0; };
  if (options_.duration) {
    changed_.wait_until(lock, progress_.cycleStart + *options_.duration,
                        [&] { return finished() || stopRequested_; });
  } else {
    changed_.wait(lock, [&] { return finished() || stopRequested_; });
  }
  finishCycle(cycle, lock);
}

// No new hits from here; hits in flight get the stop timeout, then are cancelled.
void Runner::finishCycle(Cycle& cycle, std::unique_lock<std::mutex>& lock) {
  auto finished = [&] { return cycle.remaining == 0; };
  stopping_ = true;
  progress_.stopping = true;
  lock.unlock();
  wakeIdle();
  lock.lock();
  if (!changed_.wait_for(lock, options_.stopTimeout,
                         [&] { return finished() || cancelRequested_; })) {
    // grace period over
  }
  cycle_ = nullptr;  // users that finish from here on are not replaced
  staged_ = nullptr;
  while (!finished()) {
    lock.unlock();
    cancelAll();
    lock.lock();
    if (!changed_.wait_for(lock, std::chrono::seconds(5), finished)) {
      std::cerr << "loads: " << cycle.remaining
                << " users are still busy after being cancelled (a test that does not yield?)"
                << std::endl;
    }
  }
}

// User `local` of this runner as numbered over the run (docs/distributed.md): share i of
// n has the run's users k = i + local·n; users a rebalance adds get numbers from the
// run's users on, interleaved the same way, so that no two users of the run share one.
std::uint64_t Runner::userNumber(const Cycle& cycle, std::uint64_t local) const {
  const std::uint64_t n = options_.shareCount, i = options_.shareIndex;
  if (local < cycle.users) return i + local * n;
  const std::uint64_t from = options_.runUsers ? options_.runUsers : cycle.users * n;
  return from + i + (local - cycle.users) * n;
}

void Runner::runUser(Thread& thread, Cycle& cycle, std::uint64_t index, detail::Yield yield) {
  const std::uint64_t number = userNumber(cycle, index);
  const SelectedTest& selected = tests_[mix_.testOf(number)];
  UserScope scope(*this, thread, cycle, selected, yield);
  detail::UserContext& user = scope.user;

  // User k of u starts k/u of the ramp in, whichever runner has it; not users added later.
  const std::uint64_t all = options_.runUsers ? options_.runUsers : cycle.users;
  if (options_.ramp.count() > 0 && number > 0 && index < cycle.users && number < all) {
    asio::steady_timer timer(thread.io, options_.ramp * number / all);
    std::size_t id = user.onCancel([&timer] { timer.cancel(); });
    boost::system::error_code ec;
    timer.async_wait(yield[ec]);
    user.removeOnCancel(id);
  }
  if (stopping_ || user.cancelled) return;

  const auto userId = static_cast<std::uint32_t>(number + 1);
  user.status = {cycle.hits, ++activeUsers_, 0, userId};
  std::unique_ptr<TestCase> test;
  detail::currentUser() = &user;
  Outcome built = guarded(user, [&] { test = selected.testClass->factory(); });
  detail::currentUser() = nullptr;
  if (built.kind == Outcome::kSuccess) {
    for (std::uint64_t hit = 1; !stopping_ && (cycle.hits == 0 || hit <= cycle.hits); ++hit) {
      user.status = {cycle.hits, activeUsers_.load(std::memory_order_relaxed), hit, userId};
      runHit(user, *test, selected);
      if (user.cancelled) break;
    }
  } else {
    std::string message = "constructing " + selected.testClass->name + " failed: " + built.message;
    Failure f{built.type, message, built.file, built.line};
    result_.addError(selected.fullName, f, user.status);
  }
  test.reset();
  --activeUsers_;
}

void Runner::runHit(detail::UserContext& user, TestCase& test, const SelectedTest& selected) {
  const std::string& name = selected.fullName;
  auto start = Clock::now();
  result_.startTest(name, user.status);
  Outcome out = guarded(user, [&] { test.setUp(); });
  if (out.kind == Outcome::kSuccess) {  // each Outcome built in place, moved only to fail
    Outcome run = guarded(user, [&] { selected.method->call(test); });
    Outcome down = guarded(user, [&] { test.tearDown(); });
    if (run.kind != Outcome::kSuccess) {
      out = std::move(run);
    } else if (down.kind != Outcome::kSuccess) {
      out = std::move(down);
    }
  }
  switch (out.kind) {
    case Outcome::kSuccess:
      result_.addSuccess(name, user.status);
      break;
    case Outcome::kFailure:
      result_.addFailure(name, Failure{out.type, out.message, out.file, out.line}, user.status);
      break;
    case Outcome::kError:
      result_.addError(name, Failure{out.type, out.message, out.file, out.line}, user.status);
      break;
    case Outcome::kSkip:
      result_.addSkip(name, out.message, user.status);
      break;
    case Outcome::kCancelled:
      result_.addCancelled(name, user.status);
      break;
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  result_.stopTest(name, elapsed, user.status);
}

// ---------------------------------------------------------------- schedules

double scheduleTarget(const RunOptions& options, Micros sinceStart) {
  if (options.rate) return options.rate->at(sinceStart);
  if (options.userStages) return std::floor(options.userStages->at(sinceStart) + 1e-6);
  return -1;
}

const char* scheduleKind(const RunOptions& options) {
  return options.rate ? "rate" : options.userStages ? "users" : "";
}

double Runner::targetAt(std::int64_t epochUs) const {
  const std::int64_t start = scheduleStartUs_.load();
  if (start == 0) return -1;
  return scheduleTarget(options_, Micros(std::max<std::int64_t>(0, epochUs - start)));
}

// Time 0 of the schedule: the master's common start when given (waiting for it), else now.
void Runner::scheduleStart() {
  using namespace std::chrono;
  const auto sysNow = system_clock::now();
  const auto steadyNow = Clock::now();
  auto startSys = options_.startAt.value_or(sysNow);
  if (startSys < sysNow)
    startSys = sysNow;  // a late job starts now: its share's count is unchanged
  scheduleStart_ = steadyNow + duration_cast<Clock::duration>(startSys - sysNow);
  scheduleStartUs_ = duration_cast<microseconds>(startSys.time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  progress_.cycleStart = scheduleStart_;
  progress_.stopping = false;
}

std::unique_ptr<TestCase> Runner::buildTest(detail::UserContext& user,
                                            const SelectedTest& selected) {
  std::unique_ptr<TestCase> test;
  detail::currentUser() = &user;
  Outcome built = guarded(user, [&] { test = selected.testClass->factory(); });
  detail::currentUser() = nullptr;
  if (built.kind != Outcome::kSuccess) {
    std::string message = "constructing " + selected.testClass->name + " failed: " + built.message;
    Failure f{built.type, message, built.file, built.line};
    result_.addError(selected.fullName, f, user.status);
  }
  return test;
}

// Wakes every pooled user that waits, so each rechecks the target or sees the stop.
void Runner::wakeIdle() {
  for (auto& t : threads_) {
    asio::post(t->io, [&thread = *t] {
      for (Slot* slot : thread.idle) slot->wake.cancel();
    });
  }
}

// Parks a pooled user until it is woken; false when it was cancelled.
bool Runner::waitIdle(Thread& thread, Slot& slot, detail::UserContext& user, detail::Yield& yield) {
  thread.idle.push_back(&slot);
  slot.wake.expires_at(Clock::time_point::max());
  std::size_t id = user.onCancel([&slot] { slot.wake.cancel(); });
  boost::system::error_code ec;
  slot.wake.async_wait(yield[ec]);
  user.removeOnCancel(id);
  thread.idle.erase(std::find(thread.idle.begin(), thread.idle.end(), &slot));
  return !user.cancelled;
}

// Open model: per runner thread, one dispatcher hands its share of the arrivals to the
// thread's share of --max-users; the run ends when every share's schedule is over.
void Runner::runOpen() {
  const std::uint32_t pool = std::max<std::uint32_t>(1, options_.maxUsers);
  const std::size_t threads = std::min<std::size_t>(threads_.size(), pool);
  scheduleStart();
  {
    std::lock_guard lock(mutex_);
    progress_.users = pool;
    progress_.duration =
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.rate->length());
  }
  detail::startRunCycle(options_.runUsers ? options_.runUsers : pool * options_.shareCount);
  Cycle cycle{pool, 0, pool + threads, threads};  // users and dispatchers
  stopping_ = false;
  {
    std::lock_guard lock(mutex_);
    dispatcherThreads_ = threads;
  }
  track(cycle, pool, true);
  // Users first: on each thread they are built and idle before its first arrival.
  for (std::uint64_t i = 0; i < pool; ++i) {
    Thread& thread = *threads_[i % threads];
    detail::spawnUser(thread.io, [this, &thread, &cycle, i](detail::Yield y) {
      runPooledUser(thread, cycle, i, y);
    });
  }
  for (std::size_t t = 0; t < threads; ++t) {
    Thread& thread = *threads_[t];
    const std::uint64_t index = options_.shareIndex + std::uint64_t{options_.shareCount} * t;
    const std::uint64_t count = std::uint64_t{options_.shareCount} * threads;
    ArrivalDispatcher dispatcher(ArrivalSchedule(*options_.rate, index, count));
    detail::spawnUser(thread.io,
                      [this, &thread, &cycle, d = std::move(dispatcher)](detail::Yield y) mutable {
                        runDispatcher(thread, cycle, std::move(d), y);
                      });
  }
  std::unique_lock lock(mutex_);
  // Dispatchers end with their schedule: then only the users are left.
  changed_.wait(lock, [&] { return cycle.dispatchers == 0 || stopRequested_; });
  finishCycle(cycle, lock);
}

void Runner::runDispatcher(Thread& thread, Cycle& cycle, ArrivalDispatcher dispatcher,
                           detail::Yield yield) {
  asio::steady_timer timer(thread.io);
  thread.dispatcher = &dispatcher;  // rebalance() re-splits it and wakes the timer
  thread.dispatchTimer = &timer;
  const std::int64_t startUs = scheduleStartUs_;
  while (auto next = dispatcher.nextPlanned()) {
    if (stopping_) break;
    timer.expires_at(scheduleStart_ + *next);
    boost::system::error_code ec;
    timer.async_wait(yield[ec]);
    if (stopping_) break;
    const auto now = std::chrono::duration_cast<Micros>(Clock::now() - scheduleStart_);
    dispatcher.dispatch(now, [&](Micros planned, std::uint64_t arrival) {
      // Arrival n of the run runs the test of mix slot n (n mod T unweighted), on a free
      // user of that test if there is one (its TestCase is built), else on any free user.
      const std::size_t test = mix_.testOf(arrival);
      const std::int64_t plannedUs = startUs + planned.count();
      Slot* free = nullptr;
      for (auto it = thread.idle.rbegin(); it != thread.idle.rend(); ++it) {
        Slot* slot = *it;
        if (slot->assigned) continue;
        if (!free || slot->home == test) free = slot;
        if (slot->home == test) break;
      }
      if (free) {
        free->assigned = true;
        free->test = test;
        free->plannedUs = plannedUs;
        free->wake.cancel();
        return true;
      }
      LoadsStatus status{0, activeUsers_.load(std::memory_order_relaxed), 0, 0};
      result_.addDropped(tests_[test].fullName, plannedUs, status);
      return false;
    });
  }
  thread.dispatcher = nullptr;
  thread.dispatchTimer = nullptr;
  std::lock_guard lock(mutex_);
  --cycle.dispatchers;
  --cycle.remaining;
  changed_.notify_all();
}

// The user's TestCase for tests_[test], built the first time; nullptr when building failed
// (reported as an error of that test).
TestCase* Runner::testFor(detail::UserContext& user, std::vector<std::unique_ptr<TestCase>>& built,
                          std::size_t test) {
  if (!built[test]) {
    user.test = tests_[test].fullName;
    built[test] = buildTest(user, tests_[test]);
  }
  return built[test].get();
}

// A user of the open model's pool or of --stages: runs the hits it is given (open model:
// arrival n's test, n mod T; its own test k mod T is built before the schedule starts)
// or runs its test while its index is below the target (stages).
void Runner::runPooledUser(Thread& thread, Cycle& cycle, std::uint64_t index, detail::Yield yield) {
  const bool open = options_.rate.has_value();
  const std::uint64_t number = userNumber(cycle, index);
  Slot slot(thread.io);
  slot.home = mix_.testOf(number);
  slot.test = slot.home;
  UserScope scope(*this, thread, cycle, tests_[slot.home], yield);
  detail::UserContext& user = scope.user;

  const auto userId = static_cast<std::uint32_t>(number + 1);
  std::vector<std::unique_ptr<TestCase>> built(tests_.size());
  std::uint64_t hit = 0;
  if (open) {  // the pool is built before the schedule starts, as k6 pre-allocates VUs
    user.status = {0, 0, 0, userId};
    if (!testFor(user, built, slot.home)) return;
  }
  while (!user.cancelled) {
    // A hit handed over runs even when the stop comes before this user resumes.
    const bool wanted = open ? slot.assigned : !stopping_ && index < targetUsers_.load();
    if (!wanted) {
      if (stopping_ || !waitIdle(thread, slot, user, yield)) break;
      continue;
    }
    user.status = {0, activeUsers_.load(), hit, userId};
    TestCase* test = testFor(user, built, slot.test);
    if (!test) {
      if (!open) break;
      slot.assigned = false;  // the arrival ended as the construction error
      continue;
    }
    user.status = {0, ++activeUsers_, ++hit, userId};
    user.test = tests_[slot.test].fullName;
    user.plannedStartUs = slot.plannedUs;
    runHit(user, *test, tests_[slot.test]);
    user.plannedStartUs = 0;
    slot.assigned = false;
    --activeUsers_;
  }
}

// Closed model with --stages: this thread (the caller's) moves the target; users above
// it finish their hit and wait, users below it run.
void Runner::runStaged() {
  UserTargetSchedule schedule(*options_.userStages, options_.shareIndex, options_.shareCount);
  const std::uint32_t pool = schedule.max();
  scheduleStart();
  {
    std::lock_guard lock(mutex_);
    progress_.users = pool;
    progress_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(schedule.length());
  }
  detail::startRunCycle(options_.runUsers ? options_.runUsers : pool * options_.shareCount);
  Cycle cycle{pool, 0, pool};
  stopping_ = false;
  targetUsers_ = 0;
  track(cycle, pool, true);
  {
    std::lock_guard lock(mutex_);
    staged_ = &schedule;
  }
  for (std::uint64_t i = 0; i < pool; ++i) {
    Thread& thread = *threads_[i % threads_.size()];
    detail::spawnUser(thread.io, [this, &thread, &cycle, i](detail::Yield y) {
      runPooledUser(thread, cycle, i, y);
    });
  }
  std::unique_lock lock(mutex_);
  const auto end = scheduleStart_ + schedule.length();
  while (!stopRequested_ && Clock::now() < end) {
    const auto now = Clock::now();
    const auto at =
        now < scheduleStart_ ? Micros(0) : std::chrono::duration_cast<Micros>(now - scheduleStart_);
    const std::uint32_t target = now < scheduleStart_ ? 0 : schedule.at(at);
    if (target != targetUsers_.exchange(target)) {
      lock.unlock();
      wakeIdle();
      lock.lock();
    }
    changed_.wait_until(lock, std::min(end, now + std::chrono::milliseconds(10)),
                        [&] { return stopRequested_; });
  }
  finishCycle(cycle, lock);
}

void Runner::userDone(Cycle& cycle) {
  std::lock_guard lock(mutex_);
  --cycle.remaining;
  changed_.notify_all();
}

// ---------------------------------------------------------------- rebalance

void Runner::track(Cycle& cycle, std::uint64_t users, bool pooled) {
  std::lock_guard lock(mutex_);
  cycle_ = &cycle;
  cycleUsers_ = users;
  pooled_ = pooled;
}

void Runner::rebalance(const Resplit& resplit) {
  if (!resplit.rows.empty()) detail::takeOverRows(resplit.rows, resplit.index, resplit.count);
  {
    std::lock_guard lock(mutex_);
    const auto split = std::make_tuple(resplit.index, resplit.count, resplit.from);
    if (split_ == split) return;
    split_ = split;
  }
  if (options_.rate) {
    std::size_t threads;
    {
      std::lock_guard lock(mutex_);
      threads = dispatcherThreads_;
    }
    for (std::size_t t = 0; t < threads; ++t) {
      const std::uint64_t index = resplit.index + std::uint64_t{resplit.count} * t;
      const std::uint64_t count = std::uint64_t{resplit.count} * threads;
      asio::post(threads_[t]->io, [&thread = *threads_[t], from = resplit.from, index, count] {
        if (!thread.dispatcher) return;  // its schedule is over
        thread.dispatcher->resplit(from, index, count);
        thread.dispatchTimer->cancel();  // recompute its next arrival now
      });
    }
    growUsers(resplit.users);
  } else if (options_.userStages) {
    std::uint64_t pool = 0;
    {
      std::lock_guard lock(mutex_);
      if (!staged_) return;
      staged_->resplit(resplit.from, resplit.index, resplit.count);
      pool = staged_->max();
    }
    growUsers(pool);
  } else {
    growUsers(resplit.users);
  }
}

// Adds users to the running cycle up to `users`; never removes any.
void Runner::growUsers(std::uint64_t users) {
  std::lock_guard lock(mutex_);
  if (!cycle_ || stopping_ || users <= cycleUsers_) return;
  Cycle& cycle = *cycle_;
  const std::size_t threads =
      pooled_ && dispatcherThreads_ > 0 ? dispatcherThreads_ : threads_.size();
  for (std::uint64_t i = cycleUsers_; i < users; ++i) {
    Thread& thread = *threads_[i % threads];
    ++cycle.remaining;
    detail::spawnUser(thread.io, [this, &thread, &cycle, i, pooled = pooled_](detail::Yield y) {
      if (pooled) {
        runPooledUser(thread, cycle, i, y);
      } else {
        runUser(thread, cycle, i, y);
      }
    });
  }
  cycleUsers_ = users;
  progress_.users = users;
}

void Runner::cancelAll() {
  for (auto& t : threads_) {
    asio::post(t->io, [&thread = *t] {
      // cancel() may run user code paths that erase from the set: iterate a copy.
      std::vector<detail::UserContext*> users(thread.users.begin(), thread.users.end());
      for (auto* user : users) user->cancel();
    });
  }
}

void Runner::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;  // no new hit from now on, before the cycle's thread wakes
  stopRequested_ = true;
  changed_.notify_all();
}

void Runner::cancel() {
  std::lock_guard lock(mutex_);
  stopRequested_ = true;
  cancelRequested_ = true;
  changed_.notify_all();
}

Progress Runner::progress() const {
  std::lock_guard lock(mutex_);
  Progress p = progress_;
  p.activeUsers = activeUsers_.load();
  if (scheduleStartUs_.load() != 0) {
    p.target = scheduleTarget(options_, std::chrono::duration_cast<Micros>(std::max(
                                            Clock::now() - scheduleStart_, Clock::duration(0))));
  }
  return p;
}

void Runner::raiseFileLimit(std::uint64_t users) {
  const std::uint64_t files = raiseOpenFilesLimit();
  // Each user holds about one connection; keep headroom for the process itself.
  if (files < users + 64) {
    std::cerr << "loads: the open-files limit is " << files << ", below the " << users
              << " users of this run: raise it (ulimit -n) or some connections will fail"
              << std::endl;
  }
}

}  // namespace loads
