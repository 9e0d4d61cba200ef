#include "runner.hpp"

#include <cxxabi.h>
#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/coroutine/exceptions.hpp>
#include <iostream>
#include <thread>
#include <unordered_set>

#include "current_user.hpp"

namespace loads {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// One runner thread: its io_context, TLS context and the users it runs.
struct Runner::Thread {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::unordered_set<detail::UserContext*> users;  // touched only on this thread
  std::thread thread;
};

struct Runner::Cycle {
  std::uint64_t users;
  std::uint64_t hits;         // per user; 0 = until stopping
  std::uint64_t remaining;    // users not finished; guarded by Runner::mutex_
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

}  // namespace

Runner::Runner(std::vector<SelectedTest> tests, RunOptions options, TestResult& result)
    : tests_(std::move(tests)), options_(std::move(options)), result_(result),
      dns_(std::make_unique<detail::DnsCache>()) {
  unsigned n = options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    auto t = std::make_unique<Thread>();
    t->tls.set_default_verify_paths();
    threads_.push_back(std::move(t));
  }
}

Runner::~Runner() {
  for (auto& t : threads_) {
    t->work.reset();
    if (t->thread.joinable()) t->thread.join();
  }
}

void Runner::run() {
  std::vector<std::uint64_t> hitCycles = options_.hitCycles;
  if (hitCycles.empty()) hitCycles.push_back(options_.duration ? 0 : 1);
  {
    std::lock_guard lock(mutex_);
    progress_.cycles = options_.userCycles.size() * hitCycles.size();
    progress_.duration = options_.duration;
  }
  raiseFileLimit(*std::max_element(options_.userCycles.begin(), options_.userCycles.end()));
  for (auto& t : threads_) t->thread = std::thread([&io = t->io] { io.run(); });

  result_.startTestRun();
  std::size_t index = 0;
  for (std::uint64_t users : options_.userCycles) {
    for (std::uint64_t hits : hitCycles) {
      {
        std::lock_guard lock(mutex_);
        if (stopRequested_) break;
        progress_.cycle = index++;
        progress_.users = users;
        progress_.cycleStart = Clock::now();
        progress_.stopping = false;
      }
      runCycle(users, hits);
    }
  }
  result_.stopTestRun();
  for (auto& t : threads_) t->work.reset();
  for (auto& t : threads_) t->thread.join();
}

void Runner::runCycle(std::uint64_t users, std::uint64_t hits) {
  Cycle cycle{users, hits, users};
  stopping_ = false;
  for (std::uint64_t i = 0; i < users; ++i) {
    Thread& thread = *threads_[i % threads_.size()];
    asio::spawn(thread.io, [this, &thread, &cycle, i](asio::yield_context yield) {
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
  stopping_ = true;
  progress_.stopping = true;
  if (!changed_.wait_for(lock, options_.stopTimeout,
                         [&] { return finished() || cancelRequested_; })) {
    // grace period over
  }
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

void Runner::runUser(Thread& thread, Cycle& cycle, std::uint64_t index,
                     asio::yield_context yield) {
  const SelectedTest& selected = tests_[index % tests_.size()];
  detail::UserContext user(thread.io, result_, options_.user, thread.tls, *dns_);
  user.yield = &yield;
  user.test = selected.fullName;
  thread.users.insert(&user);
  struct Cleanup {
    Runner& runner;
    Thread& thread;
    Cycle& cycle;
    detail::UserContext& user;
    ~Cleanup() {
      thread.users.erase(&user);
      runner.userDone(cycle);
    }
  } cleanup{*this, thread, cycle, user};

  if (options_.ramp.count() > 0 && index > 0) {
    asio::steady_timer timer(thread.io, options_.ramp * index / cycle.users);
    std::size_t id = user.onCancel([&timer] { timer.cancel(); });
    boost::system::error_code ec;
    timer.async_wait(yield[ec]);
    user.removeOnCancel(id);
  }
  if (stopping_ || user.cancelled) return;

  std::uint32_t userId = options_.firstUserId + static_cast<std::uint32_t>(index);
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
  if (out.kind == Outcome::kSuccess) {
    out = guarded(user, [&] { selected.method->call(test); });
    Outcome down = guarded(user, [&] { test.tearDown(); });
    if (out.kind == Outcome::kSuccess) out = std::move(down);
  }
  Failure failure{out.type, out.message, out.file, out.line};
  switch (out.kind) {
    case Outcome::kSuccess: result_.addSuccess(name, user.status); break;
    case Outcome::kFailure: result_.addFailure(name, failure, user.status); break;
    case Outcome::kError: result_.addError(name, failure, user.status); break;
    case Outcome::kSkip: result_.addSkip(name, out.message, user.status); break;
    case Outcome::kCancelled: result_.addCancelled(name, user.status); break;
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  result_.stopTest(name, elapsed, user.status);
}

void Runner::userDone(Cycle& cycle) {
  std::lock_guard lock(mutex_);
  if (--cycle.remaining == 0) changed_.notify_all();
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
  return p;
}

void Runner::raiseFileLimit(std::uint64_t users) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  // Each user holds about one connection; keep headroom for the process itself.
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < users + 64) {
    std::cerr << "loads: the open-files limit is " << limit.rlim_cur << ", below the " << users
              << " users of this run: raise it (ulimit -n) or some connections will fail"
              << std::endl;
  }
}

}  // namespace loads
