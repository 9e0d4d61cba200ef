// The Runner with test classes defined here (no network): how users, hits, cycles,
// ramps, think time and stopping behave.
#include "run/runner.hpp"

#include <catch2/catch.hpp>
#include <condition_variable>
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
