// The Runner with test classes defined here (no network): how users, hits, cycles,
// ramps, think time and stopping behave.
#include "run/runner.hpp"

#include <sched.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "stats/aggregate_result.hpp"

using namespace loads;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Records the status of every startTest, and lets a test wait for a number of them.
class Recorder : public TestResult {
 public:
  struct Start {
    std::string test;
    LoadsStatus status;
    Clock::time_point at;
  };
  void startTest(std::string_view test, const LoadsStatus& s) override {
    std::lock_guard lock(mutex_);
    starts.push_back({std::string(test), s, Clock::now()});
    changed_.notify_all();
  }
  void waitForStarts(std::size_t n) {
    std::unique_lock lock(mutex_);
    REQUIRE(changed_.wait_for(lock, 10s, [&] { return starts.size() >= n; }));
  }
  std::vector<Start> starts;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
};

// A result that counts and forwards to the recorder.
struct Results {
  AggregateResult aggregate;
  Recorder recorder;
  Results() { aggregate.addObserver(recorder); }
};

std::atomic<int> constructed{0};

struct Plain : TestCase {
  Plain() { ++constructed; }
  void test_a() {}
  void test_b() { incrCounter("b"); }
  void test_sleep() { sleep(200ms); }
  void test_long_sleep() { sleep(10s); }
};

struct Broken : TestCase {
  Broken() { throw std::runtime_error("cannot log in"); }
  void test_x() {}
};

struct FailingSetUp : TestCase {
  void setUp() override { throw std::runtime_error("setUp broke"); }
  void tearDown() override { ++tearDowns; }
  void test_x() { ++runs; }
  static inline std::atomic<int> tearDowns{0}, runs{0};
};

template <class T>
std::unique_ptr<TestCase> make() {
  return std::make_unique<T>();
}

TestClass plainClass{
    "Plain",
    &make<Plain>,
    {{"test_a", [](TestCase& t) { static_cast<Plain&>(t).test_a(); }},
     {"test_b", [](TestCase& t) { static_cast<Plain&>(t).test_b(); }},
     {"test_sleep", [](TestCase& t) { static_cast<Plain&>(t).test_sleep(); }},
     {"test_long_sleep", [](TestCase& t) { static_cast<Plain&>(t).test_long_sleep(); }}}};
TestClass brokenClass{"Broken", &make<Broken>, {{"test_x", [](TestCase&) {}}}};
TestClass setUpClass{"FailingSetUp",
                     &make<FailingSetUp>,
                     {{"test_x", [](TestCase& t) { static_cast<FailingSetUp&>(t).test_x(); }}}};

SelectedTest pick(const TestClass& c, std::size_t method) {
  return {&c, &c.methods[method], c.name + "." + c.methods[method].name};
}

RunOptions withUsers(std::uint64_t users, std::uint64_t hits) {
  RunOptions o;
  o.userCycles = {users};
  o.hitCycles = {hits};
  o.threads = 2;
  return o;
}

}  // namespace

TEST_CASE("users are spread round-robin over the tests, each constructed once") {
  Results r;
  constructed = 0;
  Runner runner({pick(plainClass, 0), pick(plainClass, 1)}, withUsers(5, 3), r.aggregate);
  runner.run();
  Snapshot s = r.aggregate.snapshot();
  CHECK(s.tests["Plain.test_a"].successes == 9);  // users 1, 3, 5
  CHECK(s.tests["Plain.test_b"].successes == 6);  // users 2, 4
  CHECK(s.counters["b"] == 6);
  CHECK(constructed == 5);
}

TEST_CASE("LoadsStatus tells every user and hit apart") {
  Results r;
  Runner runner({pick(plainClass, 0)}, withUsers(4, 3), r.aggregate);
  runner.run();
  std::set<std::pair<std::uint32_t, std::uint64_t>> seen;
  for (const auto& s : r.recorder.starts) {
    CHECK(s.status.hits == 3);
    CHECK(s.status.users >= 1);
    CHECK(s.status.users <= 4);
    CHECK(s.status.currentUser >= 1);
    CHECK(s.status.currentUser <= 4);
    seen.insert({s.status.currentUser, s.status.currentHit});
  }
  CHECK(seen.size() == 12);
  CHECK(seen.begin()->second == 1);
  CHECK(seen.rbegin()->second == 3);
}

TEST_CASE("cycles run every users value with every hits value") {
  Results r;
  RunOptions o = withUsers(1, 1);
  o.userCycles = {1, 2};
  o.hitCycles = {1, 3};
  Runner runner({pick(plainClass, 0)}, o, r.aggregate);
  runner.run();
  CHECK(r.aggregate.snapshot().tests["Plain.test_a"].successes == (1 + 2) * (1 + 3));
}

TEST_CASE("cycle by cycle, each runCycle runs one users x hits pair, and none runs after stop()") {
  Results r;
  RunOptions o = withUsers(1, 1);
  o.userCycles = {2, 3};
  o.hitCycles = {1, 4};
  Runner runner({pick(plainClass, 0)}, o, r.aggregate);
  REQUIRE(runner.cycles() == 4);
  runner.start();
  struct Cycle {
    std::uint64_t users, hits;
  };
  const Cycle order[] = {{2, 1}, {2, 4}, {3, 1}};  // users values outside, hits inside
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    runner.runCycle(i);
    total += order[i].users * order[i].hits;
    CHECK(runner.progress().cycle == i);
    CHECK(runner.progress().users == order[i].users);
    CHECK(r.aggregate.snapshot().tests["Plain.test_a"].successes == total);
  }
  runner.stop();
  runner.runCycle(3);  // the master's follow loop never asks, but the Runner holds anyway
  runner.finish();
  CHECK(r.aggregate.snapshot().tests["Plain.test_a"].successes == total);
}

TEST_CASE("sleep yields: 200 users sleeping 200 ms on one thread take about 200 ms") {
  Results r;
  RunOptions o = withUsers(200, 1);
  o.threads = 1;
  auto start = Clock::now();
  Runner runner({pick(plainClass, 2)}, o, r.aggregate);
  runner.run();
  CHECK(Clock::now() - start < 2s);  // sequential sleeping would take 40 s
  CHECK(r.aggregate.snapshot().tests["Plain.test_sleep"].successes == 200);
}

TEST_CASE("a ramp spreads user starts over its duration") {
  Results r;
  RunOptions o = withUsers(4, 1);
  o.ramp = 800ms;
  Runner runner({pick(plainClass, 0)}, o, r.aggregate);
  runner.run();
  REQUIRE(r.recorder.starts.size() == 4);
  auto first = r.recorder.starts.front().at;
  for (const auto& s : r.recorder.starts) {
    // user n (1-based) starts (n - 1) * 800 / 4 ms after the first; timers never fire early
    CHECK(s.at - first >= std::chrono::milliseconds(200 * (s.status.currentUser - 1)) - 5ms);
  }
}

TEST_CASE("stop() ends a timed run early and hits in flight finish") {
  Results r;
  RunOptions o = withUsers(3, 0);
  o.hitCycles = {};
  o.duration = 60s;
  Runner runner({pick(plainClass, 2)}, o, r.aggregate);
  auto start = Clock::now();
  std::thread stopper([&] {
    r.recorder.waitForStarts(3);
    runner.stop();
  });
  runner.run();
  stopper.join();
  CHECK(Clock::now() - start < 5s);
  Snapshot s = r.aggregate.snapshot();
  CHECK(s.tests["Plain.test_sleep"].cancelled == 0);
  CHECK(s.tests["Plain.test_sleep"].successes == s.tests["Plain.test_sleep"].started);
}

TEST_CASE("hits still sleeping after the stop timeout are cancelled") {
  Results r;
  RunOptions o = withUsers(3, 0);
  o.hitCycles = {};
  o.duration = 200ms;
  o.stopTimeout = 100ms;
  auto start = Clock::now();
  Runner runner({pick(plainClass, 3)}, o, r.aggregate);
  runner.run();
  CHECK(Clock::now() - start < 3s);
  Snapshot s = r.aggregate.snapshot();
  CHECK(s.tests["Plain.test_long_sleep"].started == 3);
  CHECK(s.tests["Plain.test_long_sleep"].cancelled == 3);
  CHECK(s.tests["Plain.test_long_sleep"].errors == 0);
}

TEST_CASE("a constructor that throws is one error per user, and the run goes on") {
  Results r;
  Runner runner({pick(brokenClass, 0), pick(plainClass, 0)}, withUsers(4, 2), r.aggregate);
  runner.run();
  Snapshot s = r.aggregate.snapshot();
  CHECK(s.tests["Broken.test_x"].errors == 2);
  CHECK(s.tests["Plain.test_a"].successes == 4);
  REQUIRE(!s.errors.empty());
  INFO(s.errors.front().message);
  CHECK(s.errors.front().message.find("cannot log in") != std::string::npos);
}

TEST_CASE("a failing setUp is an error, neither the test nor tearDown runs") {
  Results r;
  FailingSetUp::tearDowns = 0;
  FailingSetUp::runs = 0;
  Runner runner({pick(setUpClass, 0)}, withUsers(2, 2), r.aggregate);
  runner.run();
  CHECK(r.aggregate.snapshot().tests["FailingSetUp.test_x"].errors == 4);
  CHECK(FailingSetUp::runs == 0);
  CHECK(FailingSetUp::tearDowns == 0);
}

// ---------------------------------------------------------------- one mix in every split

namespace {

struct Five : TestCase {
  void test_0() {}
  void test_1() {}
  void test_2() {}
  void test_3() {}
  void test_4() {}
};
TestClass fiveClass{"Five",
                    &make<Five>,
                    {{"test_0", [](TestCase&) {}},
                     {"test_1", [](TestCase&) {}},
                     {"test_2", [](TestCase&) {}},
                     {"test_3", [](TestCase&) {}},
                     {"test_4", [](TestCase&) {}}}};

std::vector<SelectedTest> fiveTests(std::size_t t) {
  std::vector<SelectedTest> tests;
  for (std::size_t i = 0; i < t; ++i) tests.push_back(pick(fiveClass, i));
  return tests;
}

// The split of docs/distributed.md, written out here rather than taken from proto.
std::uint64_t usersOf(std::uint64_t users, std::uint32_t index, std::uint32_t count) {
  return users / count + (index < users % count ? 1 : 0);
}

// Per test: the ids of the users that started it, and the successes.
using Mix = std::map<std::string, std::pair<std::multiset<std::uint32_t>, std::uint64_t>>;

// Runs `users` users of `t` tests, `hits` each, as `count` runners (shares of a run).
Mix runSplit(std::uint64_t users, std::size_t t, std::uint32_t count) {
  Mix mix;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t mine = usersOf(users, i, count);
    if (mine == 0) continue;
    Results r;
    RunOptions o = withUsers(mine, 2);
    o.threads = 1;
    o.shareIndex = i;
    o.shareCount = count;
    o.runUsers = users;
    Runner runner(fiveTests(t), o, r.aggregate);
    runner.run();
    for (const auto& s : r.recorder.starts) mix[s.test].first.insert(s.status.currentUser);
    for (const auto& [name, test] : r.aggregate.snapshot().tests)
      mix[name].second += test.successes;
  }
  return mix;
}

}  // namespace

TEST_CASE("user k of the run runs test k mod T, however the users are split over agents") {
  // Not divisible, more agents than tests, more tests than users per agent, more agents
  // than users: every split runs the users and tests of the local run (one share of one).
  for (std::uint64_t users : {1, 7, 10}) {
    for (std::size_t t : {3, 5}) {
      const Mix local = runSplit(users, t, 1);
      for (std::uint32_t count : {2u, 3u, 7u, 12u}) {
        INFO(users << " users, " << t << " tests, " << count << " shares");
        CHECK(runSplit(users, t, count) == local);
      }
      // The rule itself: test k mod T for the user with id k + 1.
      for (std::size_t test = 0; test < t; ++test) {
        std::multiset<std::uint32_t> ids;
        for (std::uint64_t k = test; k < users; k += t) {
          ids.insert(static_cast<std::uint32_t>(k + 1));
          ids.insert(static_cast<std::uint32_t>(k + 1));  // two hits each
        }
        const auto it = local.find("Five.test_" + std::to_string(test));
        CHECK((it == local.end() ? std::multiset<std::uint32_t>{} : it->second.first) == ids);
      }
    }
  }
}

TEST_CASE("users a rebalance adds get ids no other user of the run has") {
  // Share 1 of 3 of a 10-user run has users 1, 4, 7 (ids 2, 5, 8). Rebalanced to share 0
  // of 2 it runs 5 users: the 2 added are numbered from 10 on, interleaved by its JOB
  // index (11 and 14: ids 12 and 15); share 2's would be 12, 15 (ids 13, 16).
  Results r;
  RunOptions o = withUsers(3, 2);
  o.shareIndex = 1;
  o.shareCount = 3;
  o.runUsers = 10;
  Runner runner({pick(plainClass, 2)}, o, r.aggregate);  // 200 ms hits
  std::thread rebalancer([&] {
    r.recorder.waitForStarts(3);
    runner.rebalance(Resplit{0, 2, Micros(0), 5});
  });
  runner.run();
  rebalancer.join();
  std::set<std::uint32_t> ids;
  for (const auto& s : r.recorder.starts) ids.insert(s.status.currentUser);
  CHECK(ids == std::set<std::uint32_t>{2, 5, 8, 12, 15});
  CHECK(r.aggregate.snapshot().tests["Plain.test_sleep"].successes == 10);
}

TEST_CASE("arrival n of the open model runs test n mod T, on any free user of the pool") {
  // 12 arrivals (10/s for 1.2 s) over 3 tests: 4 planned per test whatever the split. A
  // share's pool of 2 has users of at most 2 tests: the third test's arrivals run on
  // whichever user is free (a burst on a stalled machine may still drop one: only the
  // planned counts are exact).
  for (std::uint32_t count : {1u, 2u, 3u}) {
    std::map<std::string, std::uint64_t> planned, started;
    for (std::uint32_t i = 0; i < count; ++i) {
      Results r;
      RunOptions o;
      o.threads = 1;
      o.rate = StageProfile::constant(10, 1200ms);
      o.maxUsers = 2;
      o.shareIndex = i;
      o.shareCount = count;
      o.runUsers = 2 * count;
      Runner runner(fiveTests(3), o, r.aggregate);
      runner.run();
      for (const auto& [name, test] : r.aggregate.snapshot().tests) {
        planned[name] += test.started + test.dropped;
        started[name] += test.started;
      }
    }
    INFO(count << " shares");
    CHECK(planned == std::map<std::string, std::uint64_t>{
                         {"Five.test_0", 4}, {"Five.test_1", 4}, {"Five.test_2", 4}});
    // With one share the pool's users are of tests 0 and 1 (users 0 and 1): test 2 ran
    // on them anyway.
    CHECK(started["Five.test_2"] > 0);
  }
}

namespace {
// Each hit records the scheduling policy of the thread that runs it.
struct PolicyProbe : TestCase {
  void test_policy() {
    std::lock_guard lock(mutex);
    seen.insert(::sched_getscheduler(0));
  }
  static inline std::mutex mutex;
  static inline std::set<int> seen;
};
TestClass policyClass{
    "PolicyProbe",
    &make<PolicyProbe>,
    {{"test_policy", [](TestCase& t) { static_cast<PolicyProbe&>(t).test_policy(); }}}};

std::set<int> policiesWith(const char* value) {
  if (value) {
    ::setenv("LOADS_RUNNER_POLICY", value, 1);
  } else {
    ::unsetenv("LOADS_RUNNER_POLICY");
  }
  PolicyProbe::seen.clear();
  Results r;
  Runner runner({pick(policyClass, 0)}, withUsers(7, 3), r.aggregate);  // on two threads
  runner.run();
  ::unsetenv("LOADS_RUNNER_POLICY");
  CHECK(r.aggregate.snapshot().tests["PolicyProbe.test_policy"].successes == 21);
  return PolicyProbe::seen;
}
}  // namespace

TEST_CASE("runner threads run under SCHED_BATCH unless LOADS_RUNNER_POLICY=normal") {
  CHECK(::sched_getscheduler(0) == SCHED_OTHER);  // the premise: this thread is normal
  CHECK(policiesWith(nullptr) == std::set<int>{SCHED_BATCH});
  CHECK(policiesWith("batch") == std::set<int>{SCHED_BATCH});
  CHECK(policiesWith("normal") == std::set<int>{SCHED_OTHER});
  ::setenv("LOADS_RUNNER_POLICY", "realtime", 1);
  AggregateResult unused;
  CHECK_THROWS_WITH(Runner({pick(policyClass, 0)}, withUsers(1, 1), unused),
                    Catch::Contains("LOADS_RUNNER_POLICY must be batch or normal, not 'realtime'"));
  ::unsetenv("LOADS_RUNNER_POLICY");
}
