#include "stats/aggregate_result.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace loads;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // a fixed wall clock, µs

struct FakeClock {
  std::atomic<std::int64_t> us{kT0};
  AggregateOptions options(int window = 10, std::size_t maxErrors = 100) {
    AggregateOptions o;
    o.clock = [this] { return us.load(); };
    o.liveWindowSeconds = window;
    o.maxErrorSamples = maxErrors;
    return o;
  }
};

Hit hit(std::string_view name, int status, std::int64_t startedUs, std::int64_t elapsedUs) {
  Hit h;
  h.name = name;
  h.url = "http://127.0.0.1/x";
  h.method = "GET";
  h.status = status;
  h.startedUs = startedUs;
  h.elapsedUs = elapsedUs;
  h.bytes = 100;
  return h;
}

LoadsStatus users(std::uint32_t n) {
  LoadsStatus s;
  s.users = n;
  return s;
}

const SecondSample* sampleAt(const Snapshot& snap, std::int64_t second) {
  for (const auto& s : snap.seconds) {
    if (s.second == second) return &s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("hits from several threads at once add up to exact totals") {
  AggregateResult result;
  constexpr int kThreads = 4, kHits = 50'000;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> snapshots{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go) std::this_thread::yield();
      const std::string test = "Load.test" + std::to_string(t % 2);
      for (int i = 0; i < kHits; ++i) {
        const LoadsStatus status = users(10);
        result.startTest(test, status);
        result.addHit(hit(i % 2 ? "GET /a" : "GET /b", i % 10 == 0 ? 500 : 200, kT0 + i * 100,
                          1000 + i % 1000),
                      status);
        result.incrCounter(test, "items", 2, status);
        result.addSuccess(test, status);
        result.stopTest(test, std::chrono::microseconds(1500), status);
      }
    });
  }
  // a reader merging while the writers run must not disturb them
  std::thread reader([&] {
    while (!go) std::this_thread::yield();
    for (int i = 0; i < 20; ++i) snapshots += result.snapshot().allRequests.count > 0;
  });
  go = true;
  for (auto& th : threads) th.join();
  reader.join();

  const Snapshot snap = result.snapshot();
  const std::uint64_t total = kThreads * kHits;
  CHECK(snap.allRequests.count == total);
  CHECK(snap.allRequests.latency.count() == total);
  CHECK(snap.allRequests.failures == total / 10);
  CHECK(snap.allRequests.statusCodes.at(500) == total / 10);
  CHECK(snap.allRequests.bytes == total * 100);
  CHECK(snap.requests.at("GET /a").count == total / 2);
  CHECK(snap.requests.at("GET /b").count == total / 2);
  CHECK(snap.tests.at("Load.test0").successes == total / 2);
  CHECK(snap.tests.at("Load.test1").stopped == total / 2);
  CHECK(snap.tests.at("Load.test1").hitTime.count() == total / 2);
  CHECK(snap.tests.at("Load.test0").counters.at("items") == static_cast<std::int64_t>(total));
  CHECK(snap.counters.at("items") == static_cast<std::int64_t>(total * 2));
  std::uint64_t perSecond = 0;
  for (const auto& s : snap.seconds) perSecond += s.requests;
  CHECK(perSecond == total);
  CHECK(snap.requestsBySource.at(0) == total);
}

namespace {

// Records the name of every call it receives.
struct Recorder : TestResult {
  std::vector<std::string> calls;
  void startTestRun() override { calls.push_back("startTestRun"); }
  void stopTestRun() override { calls.push_back("stopTestRun"); }
  void startTest(std::string_view t, const LoadsStatus&) override {
    calls.push_back("startTest " + std::string(t));
  }
  void stopTest(std::string_view t, std::chrono::microseconds e, const LoadsStatus&) override {
    calls.push_back("stopTest " + std::string(t) + " " + std::to_string(e.count()));
  }
  void addSuccess(std::string_view t, const LoadsStatus&) override {
    calls.push_back("addSuccess " + std::string(t));
  }
  void addFailure(std::string_view t, const Failure& f, const LoadsStatus&) override {
    calls.push_back("addFailure " + std::string(t) + " " + std::string(f.message));
  }
  void addError(std::string_view t, const Failure& f, const LoadsStatus&) override {
    calls.push_back("addError " + std::string(t) + " " + std::string(f.type));
  }
  void addSkip(std::string_view t, std::string_view r, const LoadsStatus&) override {
    calls.push_back("addSkip " + std::string(t) + " " + std::string(r));
  }
  void addCancelled(std::string_view t, const LoadsStatus&) override {
    calls.push_back("addCancelled " + std::string(t));
  }
  void addHit(const Hit& h, const LoadsStatus& s) override {
    calls.push_back("addHit " + std::string(h.name) + " " + std::to_string(s.currentUser));
  }
  void incrCounter(std::string_view t, std::string_view n, std::int64_t v,
                   const LoadsStatus&) override {
    calls.push_back("incrCounter " + std::string(t) + " " + std::string(n) + " " +
                    std::to_string(v));
  }
  void socketOpen(std::string_view u, const LoadsStatus&) override {
    calls.push_back("socketOpen " + std::string(u));
  }
  void socketMessage(std::string_view u, Direction d, std::uint64_t n,
                     const LoadsStatus&) override {
    calls.push_back("socketMessage " + std::string(u) +
                    (d == Direction::kSent ? " sent " : " received ") + std::to_string(n));
  }
  void socketClose(std::string_view u, const SocketClose& c, const LoadsStatus&) override {
    calls.push_back("socketClose " + std::string(u) + " " + std::to_string(c.code));
  }
};

}  // namespace

TEST_CASE("observers receive every call with its arguments") {
  FakeClock clock;
  AggregateResult result(clock.options());
  Recorder first, second;
  result.addObserver(first);
  result.addObserver(second);
  LoadsStatus status;
  status.currentUser = 7;
  const Failure failure{"AssertionError", "x == 1", "t.cpp", 12};
  const Failure error{"std::runtime_error", "boom", "", 0};

  result.startTestRun();
  result.startTest("A.b", status);
  result.addHit(hit("GET /", 200, kT0, 10), status);
  result.incrCounter("A.b", "n", 3, status);
  result.addFailure("A.b", failure, status);
  result.addError("A.b", error, status);
  result.addSkip("A.b", "no server", status);
  result.addCancelled("A.b", status);
  result.addSuccess("A.b", status);
  result.socketOpen("ws://h/", status);
  result.socketMessage("ws://h/", Direction::kSent, 5, status);
  result.socketMessage("ws://h/", Direction::kReceived, 6, status);
  result.socketClose("ws://h/", SocketClose{1000, "bye", true}, status);
  result.stopTest("A.b", std::chrono::microseconds(42), status);
  result.stopTestRun();

  const std::vector<std::string> expected{"startTestRun",
                                          "startTest A.b",
                                          "addHit GET / 7",
                                          "incrCounter A.b n 3",
                                          "addFailure A.b x == 1",
                                          "addError A.b std::runtime_error",
                                          "addSkip A.b no server",
                                          "addCancelled A.b",
                                          "addSuccess A.b",
                                          "socketOpen ws://h/",
                                          "socketMessage ws://h/ sent 5",
                                          "socketMessage ws://h/ received 6",
                                          "socketClose ws://h/ 1000",
                                          "stopTest A.b 42",
                                          "stopTestRun"};
  CHECK(first.calls == expected);
  CHECK(second.calls == expected);

  const Snapshot snap = result.snapshot();
  const TestSummary& t = snap.tests.at("A.b");
  CHECK(t.started == 1);
  CHECK(t.failures == 1);
  CHECK(t.errors == 1);
  CHECK(t.skips == 1);
  CHECK(t.cancelled == 1);
  CHECK(t.successes == 1);
  CHECK(t.hitTime.max() == 42);
  CHECK(snap.sockets.opened == 1);
  CHECK(snap.sockets.closed == 1);
  CHECK(snap.sockets.failed == 0);
  CHECK(snap.sockets.bytesSent == 5);
  CHECK(snap.sockets.bytesReceived == 6);
  CHECK(snap.runStartedUs == kT0);
  CHECK(snap.runStoppedUs == kT0);
}

TEST_CASE("the per-second series counts requests, errors, latency and users per second") {
  FakeClock clock;
  AggregateResult result(clock.options());
  const std::int64_t s0 = kT0 / 1'000'000;
  // second 0: 100 hits of 1..100 ms, 10 of them 503; users 5 then 8
  for (int i = 1; i <= 100; ++i) {
    result.addHit(hit("GET /", i <= 10 ? 503 : 200, kT0 + i * 1000, i * 1000),
                  users(i < 50 ? 5 : 8));
  }
  // second 2: one refused connection
  Hit refused = hit("GET /", 0, kT0 + 2'000'000, 300);
  refused.error = ErrorKind::kRefused;
  result.addHit(refused, users(3));
  clock.us = kT0 + 2'500'000;
  result.addFailure("A.b", Failure{"AssertionError", "m", "f.cpp", 1}, users(3));

  const Snapshot snap = result.snapshot();
  REQUIRE(snap.seconds.size() == 2);
  const SecondSample* first = sampleAt(snap, s0);
  REQUIRE(first);
  CHECK(first->requests == 100);
  CHECK(first->errors == 10);
  CHECK(first->p50Us == 50'015);  // the highest value equivalent to 50,000 (32 µs buckets)
  CHECK(first->p99Us == 99'007);  // the highest value equivalent to 99,000
  CHECK(first->users == 8);
  const SecondSample* third = sampleAt(snap, s0 + 2);
  REQUIRE(third);
  CHECK(third->requests == 1);
  CHECK(third->errors == 1);
  CHECK(third->testFailures == 1);
  CHECK(third->users == 3);
  CHECK(snap.currentUsers == 3);
  CHECK(snap.maxUsers == 8);
  CHECK(snap.requests.at("GET /").errorKinds[static_cast<int>(ErrorKind::kRefused)] == 1);
  CHECK(snap.requests.at("GET /").statusCodes.at(0) == 1);
  CHECK(snap.firstEventUs == kT0 + 1000);
  CHECK(snap.lastEventUs == kT0 + 2'500'000);
}

TEST_CASE("a long run keeps every second, summarising those older than the window") {
  FakeClock clock;
  AggregateResult result(clock.options(/*window=*/5));
  const std::int64_t s0 = kT0 / 1'000'000;
  for (int sec = 0; sec < 300; ++sec) {
    for (int i = 1; i <= 100; ++i) {
      result.addHit(hit("GET /", 200, kT0 + sec * 1'000'000 + i, 1000 * i), users(1 + sec % 7));
    }
    if (sec % 50 == 0) result.snapshot();  // a reader now and then
  }
  Snapshot snap = result.snapshot();
  REQUIRE(snap.seconds.size() == 300);
  for (int sec = 0; sec < 300; ++sec) {
    const SecondSample& s = snap.seconds[sec];
    REQUIRE(s.second == s0 + sec);
    CHECK(s.requests == 100);
    CHECK(s.p99Us == 99'007);
    CHECK(s.users == static_cast<std::uint32_t>(1 + sec % 7));
    CHECK(s.complete);
  }
  // a hit that started long ago (a 5-minute request) is counted, without its latency
  result.addHit(hit("GET /", 200, kT0 + 10'500'000, 290'000'000), users(1));
  snap = result.snapshot();
  const SecondSample* late = sampleAt(snap, s0 + 10);
  REQUIRE(late);
  CHECK(late->requests == 101);
  CHECK_FALSE(late->complete);
  CHECK(snap.allRequests.count == 30'001);
}

TEST_CASE("active users are summed over sources and maxed within one") {
  FakeClock clock;
  AggregateResult result(clock.options());
  result.setSource(1);
  result.addHit(hit("GET /", 200, kT0, 10), users(4));
  result.addHit(hit("GET /", 200, kT0, 10), users(6));
  result.setSource(2);
  result.addHit(hit("GET /", 200, kT0, 10), users(5));
  const Snapshot snap = result.snapshot();
  REQUIRE(snap.seconds.size() == 1);
  CHECK(snap.seconds[0].users == 11);
  CHECK(snap.requestsBySource.at(1) == 2);
  CHECK(snap.requestsBySource.at(2) == 1);
}

namespace {

std::uint64_t sumOf(const std::vector<SourceRequests>& bySource) {
  std::uint64_t sum = 0;
  for (const auto& e : bySource) sum += e.requests;
  return sum;
}

}  // namespace

// Shaped like the master's receiver: one thread replays batches from two agents in turn,
// tagging each with its source, over more seconds than the live window keeps in full.
TEST_CASE("two sources: each second's per-source requests sum to its total") {
  FakeClock clock;
  AggregateResult result(clock.options(/*window=*/2));
  std::map<std::uint32_t, std::uint64_t> sent;
  for (int second = 0; second < 8; ++second) {
    for (int batch = 0; batch < 3; ++batch) {
      for (std::uint32_t source : {0u, 1u}) {
        if (source == 1 && second == 5) continue;  // agent 1 silent for a second
        result.setSource(source);
        const int hits = static_cast<int>(source) * 2 + batch + 1;
        for (int i = 0; i < hits; ++i) {
          result.addHit(hit("GET /", i % 4 ? 200 : 503, kT0 + second * 1'000'000 + i, 100),
                        users(3));
        }
        sent[source] += static_cast<std::uint64_t>(hits);
      }
    }
  }
  result.setSource(1);  // a late hit of agent 1 for an already summarised second
  result.addHit(hit("GET /", 200, kT0 + 1'000'000, 100), users(3));
  ++sent[1];

  const Snapshot snap = result.snapshot();
  REQUIRE(snap.seconds.size() == 8);
  std::map<std::uint32_t, std::uint64_t> perSource;
  for (const SecondSample& s : snap.seconds) {
    INFO("second " << s.second - kT0 / 1'000'000);
    CHECK(sumOf(s.bySource) == s.requests);
    for (const auto& e : s.bySource) perSource[e.source] += e.requests;
  }
  CHECK(perSource == sent);
  CHECK(perSource[0] == snap.requestsBySource.at(0));
  CHECK(perSource[1] == snap.requestsBySource.at(1));
  const SecondSample* quiet = sampleAt(snap, kT0 / 1'000'000 + 5);
  REQUIRE(quiet);
  CHECK(quiet->bySource == std::vector<SourceRequests>{{0, 6}});
  const SecondSample* late = sampleAt(snap, kT0 / 1'000'000 + 1);
  REQUIRE(late);
  CHECK(late->bySource == std::vector<SourceRequests>{{0, 6}, {1, 13}});
}

TEST_CASE("sources beyond the series cap share one other entry in each second") {
  FakeClock clock;
  AggregateOptions options = clock.options(/*window=*/1);
  options.seriesSources = 2;
  AggregateResult result(options);
  for (int second = 0; second < 4; ++second) {
    for (std::uint32_t source = 0; source < 5; ++source) {
      result.setSource(source);
      result.addHit(hit("GET /", 200, kT0 + second * 1'000'000, 100), users(1));
    }
  }
  const Snapshot snap = result.snapshot();
  REQUIRE(snap.seconds.size() == 4);
  for (const SecondSample& s : snap.seconds) {
    CHECK(s.bySource == std::vector<SourceRequests>{{0, 1}, {1, 1}, {kOtherSources, 3}});
  }
  CHECK(snap.requestsBySource.size() == 5);  // the run totals stay exact per source
}

TEST_CASE("errors are deduplicated and the distinct ones capped") {
  FakeClock clock;
  AggregateResult result(clock.options(10, /*maxErrors=*/3));
  const LoadsStatus status;
  for (int i = 0; i < 5; ++i) {
    result.addFailure("A.b", Failure{"AssertionError", "status == 200", "a.cpp", 10}, status);
  }
  std::thread other([&] {  // the same error from another thread lands in the same sample
    result.addFailure("A.b", Failure{"AssertionError", "status == 200", "a.cpp", 10}, status);
  });
  other.join();
  result.addFailure("A.b", Failure{"AssertionError", "status == 200", "a.cpp", 11}, status);
  result.addError("A.b", Failure{"AssertionError", "status == 200", "a.cpp", 10}, status);
  for (int i = 0; i < 4; ++i) {
    result.addError("A.c", Failure{"std::runtime_error", "boom " + std::to_string(i), "", 0},
                    status);
  }
  const Snapshot snap = result.snapshot();
  REQUIRE(snap.errors.size() == 3);
  CHECK(snap.errors[0].count == 6);
  CHECK(snap.errors[0].failure);
  CHECK(snap.errors[0].line == 10);
  CHECK(snap.errors[0].file == "a.cpp");
  CHECK(snap.errors[1].count == 1);
  CHECK(snap.errorsDropped == 4);  // the cap of 3 is full before the four "boom" errors
  CHECK(snap.tests.at("A.b").failures == 7);
  CHECK(snap.tests.at("A.c").errors == 4);
}

TEST_CASE("WebSocket figures count failed closes") {
  AggregateResult result;
  const LoadsStatus status;
  result.socketOpen("ws://a", status);
  result.socketOpen("ws://a", status);
  result.socketClose("ws://a", SocketClose{1000, "", true}, status);
  result.socketClose("ws://a", SocketClose{0, "reset", false}, status);
  const Snapshot snap = result.snapshot();
  CHECK(snap.sockets.opened == 2);
  CHECK(snap.sockets.closed == 2);
  CHECK(snap.sockets.failed == 1);
  CHECK(snap.sockets.any());
}

// Found by tests/fuzz/results_fuzzer: two counter increments of INT64_MAX overflowed.
TEST_CASE("a counter saturates at the int64 limits instead of overflowing") {
  FakeClock clock;
  AggregateResult result(clock.options());
  result.incrCounter("Load.test0", "up", INT64_MAX, users(1));
  result.incrCounter("Load.test0", "up", INT64_MAX, users(1));
  result.incrCounter("Load.test0", "down", INT64_MIN, users(1));
  std::thread other([&] { result.incrCounter("Load.test0", "down", -1, users(1)); });
  other.join();  // another shard: the merge saturates too
  const Snapshot snap = result.snapshot();
  CHECK(snap.counters.at("up") == INT64_MAX);
  CHECK(snap.counters.at("down") == INT64_MIN);
  CHECK(snap.tests.at("Load.test0").counters.at("up") == INT64_MAX);
}

TEST_CASE("past the caps, new names count exactly under (other) and are named once") {
  FakeClock clock;
  AggregateOptions o = clock.options();
  o.maxNames = 5;
  o.maxTests = 2;
  o.maxCounters = 3;
  o.maxStatusCodes = 4;
  AggregateResult r(o);
  // Two threads, so the caps hold across shards, not per shard.
  auto work = [&](int from) {
    for (int i = from; i < 40; i += 2) {
      const std::string name = "GET /u/" + std::to_string(i % 20);
      const std::string test = "T.test_" + std::to_string(i % 7);
      r.addHit(hit(name, 200 + i % 9, kT0 + i, 10 + i), users(1));
      r.stopTest(test, std::chrono::microseconds(i), users(1));
      r.incrCounter(test, "c" + std::to_string(i % 11), 2, users(1));
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  const Snapshot snap = r.snapshot();
  REQUIRE(snap.requests.size() == 6);
  std::uint64_t requests = 0;
  for (const auto& [name, summary] : snap.requests) requests += summary.count;
  CHECK(requests == 40);
  CHECK(snap.requests.at("(other)").count == 40 - 5 * 2);  // 5 names, 2 hits each
  CHECK(snap.tests.size() == 3);
  std::uint64_t hits = 0;
  for (const auto& [name, t] : snap.tests) hits += t.stopped;
  CHECK(hits == 40);
  CHECK(snap.counters.size() == 4);
  std::int64_t counted = 0;
  for (const auto& [name, value] : snap.counters) counted += value;
  CHECK(counted == 80);
  CHECK(snap.allRequests.statusCodes.size() == 5);
  CHECK(snap.allRequests.statusCodes.count(kOtherStatus) == 1);

  REQUIRE(snap.overflows.size() == 4);
  const NameOverflow& names = snap.overflows[0];
  CHECK(names.what == "request names");
  CHECK(names.cap == 5);
  CHECK(names.events == 30);
  CHECK(names.firstNames.size() == 3);
  const std::string sentence = overflowSentence(names);
  CHECK(sentence.find("More than 5 distinct request names (--max-names 5): 30 requests") == 0);
  CHECK(sentence.find(".name") != std::string::npos);
  CHECK(sentence.find("\"" + names.firstNames[0] + "\"") != std::string::npos);
  CHECK(snap.overflows[1].what == "test names");
  CHECK(snap.overflows[2].what == "counter names");
  CHECK(snap.overflows[3].what == "status codes");
}

TEST_CASE("no cap reached, no overflow") {
  FakeClock clock;
  AggregateResult r(clock.options());
  for (int i = 0; i < 1000; ++i)
    r.addHit(hit("GET /u/" + std::to_string(i), 200, kT0, 5), users(1));
  const Snapshot snap = r.snapshot();
  CHECK(snap.requests.size() == 1000);
  CHECK(snap.overflows.empty());
}

TEST_CASE("late events for summarised seconds add totals and the series keeps at most its cap") {
  FakeClock clock;
  AggregateOptions o = clock.options(2);
  o.maxSeriesSeconds = 50;
  AggregateResult r(o);
  // 200 distinct seconds, newest first, so every later one is late.
  for (int s = 199; s >= 0; --s) {
    r.addHit(hit("GET /", 200, kT0 + std::int64_t{s} * 1'000'000, 1000 + s), users(1));
  }
  const Snapshot snap = r.snapshot();
  CHECK(snap.seconds.size() <= 50 + 2);  // the cap, plus the live window
  std::uint64_t total = 0;
  for (const auto& s : snap.seconds) total += s.requests;
  CHECK(total == 200);
  CHECK(snap.allRequests.count == 200);
}

TEST_CASE("every event of a test name past the cap counts as (other), back to back too") {
  FakeClock clock;
  AggregateOptions o = clock.options();
  o.maxTests = 1;
  AggregateResult r(o);
  r.startTest("A.test_a", users(1));
  for (int i = 0; i < 7; ++i) {  // one name after the other, as one user's hits arrive
    r.startTest("B.test_b", users(1));
    r.addSuccess("B.test_b", users(1));
    r.stopTest("B.test_b", std::chrono::microseconds(5), users(1));
  }
  r.addSuccess("A.test_a", users(1));
  const Snapshot snap = r.snapshot();
  REQUIRE(snap.tests.size() == 2);
  CHECK(snap.tests.at("A.test_a").started == 1);
  CHECK(snap.tests.at("A.test_a").successes == 1);
  CHECK(snap.tests.at("(other)").started == 7);
  CHECK(snap.tests.at("(other)").successes == 7);
  CHECK(snap.tests.at("(other)").stopped == 7);
  REQUIRE(snap.overflows.size() == 1);
  CHECK(snap.overflows[0].what == "test names");
  CHECK(snap.overflows[0].events == 21);
}
