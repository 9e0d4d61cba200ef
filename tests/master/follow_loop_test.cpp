// The master's one follow loop (FollowLoop) over a fake driver, a fake clock and a
// scripted waiter: the live line, Ctrl-C once and twice, --abort-on-fail, Stop from the
// (real) dashboard, cycles, and the ending.
#include "master/follow_loop.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <utility>  // before Asio (Boost 1.74 with g++ 12, design.md §7)

#include "report/console_output.hpp"
#include "stats/aggregate_result.hpp"
#include "support/cluster.hpp"
#include "support/target.hpp"

namespace {

using namespace std::chrono_literals;
using loads::master::Clock;
using loads::master::CycleTime;
using loads::master::FollowLoop;
using loads::master::FollowSeams;
using loads::master::MasterOptions;
using loads::master::RunEnding;
using loads::master::StopKind;
using loads::master::TimePoint;
using loads::master::Wake;
using loads::testing::freePort;
using loads::testing::tempPath;

// Time that moves only when the waiter says so. Read by the dashboard's thread too.
class FakeClock {
 public:
  TimePoint now() const {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void advanceTo(TimePoint t) {
    std::lock_guard lock(mutex_);
    now_ = std::max(now_, t);
  }
  TimePoint start() const { return kStart; }
  // Seconds since the start, for messages.
  double at() const { return std::chrono::duration<double>(now() - kStart).count(); }

 private:
  static constexpr TimePoint kStart = TimePoint(std::chrono::hours(1000));
  mutable std::mutex mutex_;
  TimePoint now_ = kStart;
};

// The loop's waits, on the fake clock: a scripted interrupt fires at its time; a wait
// with nothing scripted moves the clock by its timeout. interrupt() and notifyDone()
// (another thread: the dashboard's) wake the next wait; with `realWait`, each wait
// first gives them that much real time to arrive. Time is bounded: a run that goes on
// past `limit` fake time fails the test instead of spinning forever.
class FakeWaiter : public loads::master::Waiter {
 public:
  explicit FakeWaiter(FakeClock& clock) : clock_(clock) {}

  void interruptAt(Clock::duration sinceStart) { scripted_.push_back(clock_.start() + sinceStart); }
  std::chrono::milliseconds realWait{0};
  Clock::duration limit = 1h;
  std::size_t waits = 0;

  Wake wait(std::chrono::milliseconds timeout) override {
    ++waits;
    if (clock_.now() - clock_.start() > limit) throw std::runtime_error("the fake run never ended");
    {
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, realWait, [&] { return !woken_.empty(); });
      if (!woken_.empty()) {
        Wake wake = woken_.front();
        woken_.pop_front();
        return wake;
      }
    }
    const TimePoint until = clock_.now() + timeout;
    if (!scripted_.empty() && scripted_.front() <= until) {
      clock_.advanceTo(scripted_.front());
      scripted_.pop_front();
      return Wake::kInterrupt;
    }
    clock_.advanceTo(until);
    return Wake::kTimeout;
  }
  void notifyDone() override { push(Wake::kDone); }
  void interrupt() override { push(Wake::kInterrupt); }

 private:
  void push(Wake wake) {
    std::lock_guard lock(mutex_);
    woken_.push_back(wake);
    changed_.notify_all();
  }
  FakeClock& clock_;
  std::deque<TimePoint> scripted_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Wake> woken_;
};

// A driver whose cycles last `cycleLength` of fake time, whose hits land in the
// AggregateResult at `hitsPerSecond`, and which writes down what the loop asked of it.
class FakeDriver : public loads::master::RunDriver {
 public:
  FakeDriver(FakeClock& clock, loads::AggregateResult& result) : clock_(clock), result_(result) {}

  // The script.
  std::size_t cycleCount = 1;
  Clock::duration cycleLength = 5s;
  // A graceful stop ends the cycle this much later; nullopt: only a hard stop ends it.
  std::optional<Clock::duration> gracefulTakes = 300ms;
  Clock::duration hardTakes = 0s;  // a hard stop ends the cycle this much later
  int hitsPerSecond = 0;
  int prepareCode = 0;
  int startCode = 0;
  int endingCode = 0;              // RunEnding::code
  std::uint64_t testFailures = 0;  // added at the end of the run

  // What the loop did, in order: "prepare", "start 0", "graceful@2.00", "hard@2.20",
  // "wrapUp", "end".
  std::vector<std::string> calls;

  const char* mode() const override { return "local"; }
  int prepare() override {
    calls.push_back("prepare");
    return prepareCode;
  }
  std::size_t cycles() const override { return cycleCount; }
  int startCycle(std::size_t index) override {
    calls.push_back("start " + std::to_string(index));
    std::lock_guard lock(mutex_);
    cycleStart_ = clock_.now();
    endsAt_ = cycleStart_ + cycleLength;
    lastHitAt_ = cycleStart_;
    return startCode;
  }
  void advance() override {
    // Hits at the fake rate, each stamped with the real wall clock (AggregateResult's).
    const auto now = clock_.now();
    const auto due = std::chrono::duration_cast<std::chrono::milliseconds>(now - lastHitAt_) *
                     hitsPerSecond / 1000;
    for (std::int64_t i = 0; i < due.count(); ++i) addHit();
    if (due.count() > 0) lastHitAt_ = now;
  }
  std::optional<std::chrono::milliseconds> pollInterval() const override { return 100ms; }
  bool cycleFinished() const override {
    std::lock_guard lock(mutex_);
    return clock_.now() >= endsAt_;
  }
  void requestStop(StopKind kind) override {
    std::ostringstream at;
    at.precision(2);
    at << std::fixed << clock_.at();
    calls.push_back((kind == StopKind::kGraceful ? "graceful@" : "hard@") + at.str());
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (kind == StopKind::kHard) {
      endsAt_ = std::min(endsAt_, clock_.now() + hardTakes);
    } else if (gracefulTakes) {
      endsAt_ = std::min(endsAt_, clock_.now() + *gracefulTakes);
    }
  }
  CycleTime clock() const override {
    std::lock_guard lock(mutex_);
    CycleTime time;
    time.elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(clock_.now() - cycleStart_);
    time.remaining =
        std::chrono::duration_cast<std::chrono::microseconds>(cycleLength) - time.elapsed;
    time.stopping = stopping_;
    return time;
  }
  std::string liveColumns() const override { return "  fake"; }
  void wrapUp() override { calls.push_back("wrapUp"); }
  RunEnding end(const loads::Snapshot&) override {
    calls.push_back("end");
    RunEnding ending;
    ending.code = endingCode;
    ending.tests = {"Fake.test_it"};
    ending.startedAt = std::chrono::system_clock::now();
    ending.distributed = loads::DistributedFacts{.runId = "fake-run", .problems = {"told"}};
    return ending;
  }

  void addHit() {
    loads::Hit hit;
    hit.name = "GET /fake";
    hit.url = "http://127.0.0.1/fake";
    hit.method = "GET";
    hit.status = 200;
    hit.startedUs = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    hit.elapsedUs = 1000;
    result_.addHit(hit, loads::LoadsStatus{0, 1, 1, 1});
  }

  bool stopping() const { return stopping_; }

 private:
  FakeClock& clock_;
  loads::AggregateResult& result_;
  mutable std::mutex mutex_;  // the dashboard's thread reads clock()
  TimePoint cycleStart_;
  TimePoint endsAt_ = TimePoint::max();
  TimePoint lastHitAt_;
  bool stopping_ = false;
};

// One loop over the fakes, with its console captured.
struct Harness {
  MasterOptions options;
  loads::AggregateResult result;
  FakeClock clock;
  FakeWaiter waiter{clock};
  FakeDriver driver{clock, result};
  std::ostringstream out;
  bool terminal = true;

  Harness() { options.library = "fake.so"; }
  int run() {
    if (driver.testFailures > 0) {
      const loads::Failure failure{"AssertionError", "expected", "fake.cpp", 1};
      for (std::uint64_t i = 0; i < driver.testFailures; ++i) {
        result.addFailure("Fake.test_it", failure, loads::LoadsStatus{});
      }
    }
    FollowSeams seams{[this] { return clock.now(); }, &out, terminal};
    return FollowLoop(options, driver, result, waiter, seams).run();
  }
  // The live lines, before the console report ("Run: ...").
  std::string liveText() const {
    const std::string text = out.str();
    return text.substr(0, text.find("Run: "));
  }
};

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::vector<std::string> stops(const std::vector<std::string>& calls) {
  std::vector<std::string> out;
  for (const auto& c : calls) {
    if (c.rfind("graceful@", 0) == 0 || c.rfind("hard@", 0) == 0) out.push_back(c);
  }
  return out;
}

}  // namespace

TEST_CASE("on a terminal the live line is redrawn every second and finished at the end") {
  Harness h;
  h.driver.cycleLength = 7s + 500ms;  // an odd length: 7 whole seconds of lines
  REQUIRE(h.run() == 0);
  const std::string live = h.liveText();
  INFO(live);
  const auto lines = std::chrono::duration_cast<std::chrono::seconds>(h.driver.cycleLength).count();
  CHECK(count(live, "\r\033[2K") == static_cast<std::size_t>(lines));
  CHECK(count(live, "\033[K") == 0);  // one set of escape codes: the distributed one is gone
  // Each line says its elapsed time, the time left and the driver's columns.
  for (int s = 1; s <= lines; ++s) {
    const std::string elapsed = loads::formatDuration(std::chrono::seconds(s));
    CHECK(live.find("\r\033[2K" + elapsed + " (") != std::string::npos);
  }
  CHECK(count(live, "  fake") == static_cast<std::size_t>(lines));
  // finishLive: exactly one newline, after the last line, before the report.
  CHECK(count(live, "\n") == 1);
  CHECK(live.back() == '\n');
  CHECK(h.driver.calls == std::vector<std::string>{"prepare", "start 0", "wrapUp", "end"});
}

TEST_CASE("elsewhere the live line is one plain line every 10 seconds") {
  Harness h;
  h.terminal = false;
  h.driver.cycleLength = 35s;
  REQUIRE(h.run() == 0);
  const std::string live = h.liveText();
  INFO(live);
  CHECK(count(live, "\033") == 0);
  CHECK(count(live, "\n") == 3);  // at 10, 20 and 30 s; finishLive adds nothing
  CHECK(live.find(loads::formatDuration(30s) + " (") != std::string::npos);
}

TEST_CASE("with --quiet no live line is drawn, and the run still ends with its report") {
  Harness h;
  h.options.quiet = true;
  h.driver.cycleLength = 3s;
  REQUIRE(h.run() == 0);
  CHECK(h.liveText().empty());
  CHECK(h.out.str().find("Run: ") == 0);
}

TEST_CASE("Ctrl-C once asks the driver for a graceful stop and the run ends when it has") {
  Harness h;
  h.driver.cycleLength = 60s;
  h.waiter.interruptAt(2s);
  REQUIRE(h.run() == 0);
  CHECK(stops(h.driver.calls) == std::vector<std::string>{"graceful@2.00"});
  // The driver ended the cycle 300 ms after the request; the loop saw it within its
  // poll interval, not at the cycle's planned end.
  CHECK(h.clock.at() < 2.5);
  CHECK(h.driver.calls.back() == "end");
}

TEST_CASE("Ctrl-C twice asks for a hard stop, which ends a stop that would never end") {
  Harness h;
  h.driver.cycleLength = 60s;
  h.driver.gracefulTakes = std::nullopt;  // hits in flight that never finish
  h.waiter.interruptAt(2s);
  h.waiter.interruptAt(2s + 700ms);
  REQUIRE(h.run() == 0);
  CHECK(stops(h.driver.calls) == std::vector<std::string>{"graceful@2.00", "hard@2.70"});
  CHECK(h.clock.at() < 3.0);
}

TEST_CASE("a third Ctrl-C asks for a hard stop again, never for a graceful one") {
  Harness h;
  h.driver.cycleLength = 60s;
  h.driver.gracefulTakes = std::nullopt;
  h.driver.hardTakes = 1s;  // agents slow to answer: the cycle is still on at the third
  h.waiter.interruptAt(1s);
  h.waiter.interruptAt(1s + 100ms);
  h.waiter.interruptAt(1s + 200ms);
  REQUIRE(h.run() == 0);
  CHECK(stops(h.driver.calls) ==
        std::vector<std::string>{"graceful@1.00", "hard@1.10", "hard@1.20"});
}

TEST_CASE("cycles run one after the other, and a stop request ends the run, not just its cycle") {
  SECTION("no stop: every cycle in order, each its full length") {
    Harness h;
    h.driver.cycleCount = 3;
    h.driver.cycleLength = 2s + 500ms;
    REQUIRE(h.run() == 0);
    CHECK(h.driver.calls ==
          std::vector<std::string>{"prepare", "start 0", "start 1", "start 2", "wrapUp", "end"});
    CHECK(h.clock.at() == Approx(7.5).margin(0.3));
    // The elapsed time on the live line is the cycle's: it starts again at each cycle.
    CHECK(count(h.liveText(), "\r\033[2K" + loads::formatDuration(1s) + " (") == 3);
  }
  SECTION("Ctrl-C in the second cycle: the third does not start") {
    Harness h;
    h.driver.cycleCount = 3;
    h.driver.cycleLength = 2s;
    h.waiter.interruptAt(3s);
    REQUIRE(h.run() == 0);
    CHECK(h.driver.calls == std::vector<std::string>{"prepare", "start 0", "start 1",
                                                     "graceful@3.00", "wrapUp", "end"});
  }
}

TEST_CASE("with --abort-on-fail the run stops once a threshold can no longer pass") {
  Harness h;
  h.options.abortOnFail = true;
  h.options.thresholds = {loads::parseThreshold("http_reqs:count<25")};
  h.options.jsonFile = tempPath("follow-abort.json");
  h.driver.cycleLength = 60s;
  h.driver.hitsPerSecond = 10;  // the 25th request arrives at 2.5 s
  const int code = h.run();
  CHECK(code == 99);  // the threshold failed
  const auto s = stops(h.driver.calls);
  REQUIRE(s.size() == 1);
  // Checked every second: the first check that sees 25 requests is at 3 s.
  CHECK(s[0] == "graceful@3.00");
  std::ifstream in(h.options.jsonFile);
  const auto report = nlohmann::json::parse(in);
  REQUIRE(report["thresholds"].size() == 1);
  CHECK(report["thresholds"][0]["pass"] == false);
  CHECK(report["thresholds"][0]["abortedRun"] == true);
}

TEST_CASE(
    "with --abort-on-fail the abort counts as the first stop, so a Ctrl-C after it stops hard") {
  Harness h;
  h.options.abortOnFail = true;
  h.options.thresholds = {loads::parseThreshold("http_reqs:count<15")};
  h.driver.cycleLength = 60s;
  h.driver.gracefulTakes = std::nullopt;
  h.driver.hitsPerSecond = 10;
  h.waiter.interruptAt(5s);
  CHECK(h.run() == 99);
  CHECK(stops(h.driver.calls) == std::vector<std::string>{"graceful@2.00", "hard@5.00"});
}

TEST_CASE("with --abort-on-fail a run is left alone while its thresholds can still pass") {
  Harness h;
  h.options.abortOnFail = true;
  h.options.thresholds = {loads::parseThreshold("http_reqs:count<1000")};
  h.driver.cycleLength = 8s;
  h.driver.hitsPerSecond = 10;
  CHECK(h.run() == 0);
  CHECK(stops(h.driver.calls).empty());
  CHECK(h.clock.at() == Approx(8.0).margin(0.2));
}

TEST_CASE("Stop on the dashboard stops the run like Ctrl-C") {
  Harness h;
  const int port = freePort();
  h.options.web = loads::master::WebAddress{"127.0.0.1", static_cast<std::uint16_t>(port)};
  h.options.quiet = true;
  h.driver.cycleLength = 10min;  // 2 min of real time at most if Stop never arrives
  h.driver.hitsPerSecond = 10;
  h.waiter.realWait = 20ms;  // the page's Stop arrives on the dashboard's thread
  int code = -1;
  std::string error;
  std::thread loop([&] {
    try {
      code = h.run();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  // A page: the WebSocket the dashboard's Stop button uses, then {"type":"stop"}.
  namespace beast = boost::beast;
  boost::asio::io_context io;
  beast::websocket::stream<boost::asio::ip::tcp::socket> ws(io);
  const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                static_cast<unsigned short>(port));
  bool connected = false;
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       !connected && std::chrono::steady_clock::now() < deadline;) {
    beast::error_code ec;
    ws.next_layer().close(ec);
    ws.next_layer().connect(endpoint, ec);
    if (!ec) ws.handshake("127.0.0.1:" + std::to_string(port), "/ws", ec);
    connected = !ec;
    if (!connected) std::this_thread::sleep_for(50ms);  // the dashboard is not listening yet
  }
  // The page's states: the first while the run goes on, the last once it is over (the
  // loop's ending hands the final snapshot to the dashboard).
  auto readState = [&]() -> std::optional<nlohmann::json> {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws.read(buffer, ec);  // bounded: the dashboard closes the page when the run is over
    if (ec) return std::nullopt;
    return nlohmann::json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
  };
  std::optional<nlohmann::json> first, last;
  if (!connected) {  // end the run now: the test fails below, without waiting 2 min
    h.waiter.interrupt();
    h.waiter.interrupt();
  } else {
    first = readState();
    ws.write(boost::asio::buffer(std::string(R"({"type":"stop"})")));
    while (auto state = readState()) {
      last = state;
      if ((*state)["state"] == "finished") break;
    }
  }
  loop.join();
  REQUIRE(connected);
  REQUIRE(error.empty());
  CHECK(code == 0);
  const auto s = stops(h.driver.calls);
  REQUIRE(s.size() == 1);
  CHECK(s[0].rfind("graceful@", 0) == 0);
  CHECK(h.driver.stopping());
  REQUIRE(first);
  CHECK((*first)["state"] == "running");
  CHECK((*first)["mode"] == "local");
  REQUIRE(last);
  CHECK((*last)["state"] == "finished");
  CHECK((*last)["requests"] == h.result.snapshot().allRequests.count);
  CHECK((*last)["requests"] > 0);
}

TEST_CASE("the ending: the exit code comes from the driver, the tests and the thresholds") {
  SECTION("a clean run is 0, and the report carries the driver's facts") {
    Harness h;
    h.options.jsonFile = tempPath("follow-ending.json");
    h.driver.cycleLength = 2s;
    h.driver.hitsPerSecond = 5;
    CHECK(h.run() == 0);
    std::ifstream in(h.options.jsonFile);
    const auto report = nlohmann::json::parse(in);
    CHECK(report["run"]["runId"] == "fake-run");  // the driver's facts reach the report
    CHECK(report["problems"] == nlohmann::json::array({"told"}));
    CHECK(report["run"]["tests"] == nlohmann::json::array({"Fake.test_it"}));
    CHECK(report["run"]["exitCode"] == 0);
    CHECK(h.driver.calls.back() == "end");
  }
  SECTION("test failures are 1") {
    Harness h;
    h.driver.cycleLength = 2s;
    h.driver.testFailures = 3;
    CHECK(h.run() == 1);
  }
  SECTION("a failed threshold is 99, over test failures") {
    Harness h;
    h.options.thresholds = {loads::parseThreshold("http_reqs:count<5")};
    h.driver.cycleLength = 2s;
    h.driver.hitsPerSecond = 10;
    h.driver.testFailures = 1;
    CHECK(h.run() == 99);
  }
  SECTION("an infrastructure problem from the driver is 3, even with a failed threshold") {
    Harness h;
    h.options.thresholds = {loads::parseThreshold("http_reqs:count<5")};
    h.driver.cycleLength = 2s;
    h.driver.hitsPerSecond = 10;
    h.driver.endingCode = 3;
    CHECK(h.run() == 3);
  }
  SECTION("a driver that cannot prepare ends the run with its code, before any cycle") {
    Harness h;
    h.driver.prepareCode = 2;
    CHECK(h.run() == 2);
    CHECK(h.driver.calls == std::vector<std::string>{"prepare"});
    CHECK(h.out.str().empty());
  }
  SECTION("a cycle that cannot start (no agents) ends the run with its code, no report") {
    Harness h;
    h.driver.startCode = 3;
    CHECK(h.run() == 3);
    CHECK(h.driver.calls == std::vector<std::string>{"prepare", "start 0"});
    CHECK(h.out.str().empty());
  }
}

TEST_CASE("each cycle gets its line: its users and hits, and what it added to the run") {
  Harness h;
  h.options.run.userCycles = {3, 5};
  h.options.run.hitCycles = {2};
  h.options.jsonFile = tempPath("follow-cycles.json");
  h.driver.cycleCount = 2;
  h.driver.cycleLength = 2s;
  h.driver.hitsPerSecond = 10;
  REQUIRE(h.run() == 0);
  std::ifstream in(h.options.jsonFile);
  const auto report = nlohmann::json::parse(in);
  const auto& cycles = report["cycles"];
  REQUIRE(cycles.size() == 2);
  std::uint64_t requests = 0;
  for (std::size_t i = 0; i < 2; ++i) {
    INFO(cycles[i].dump());
    CHECK(cycles[i]["cycle"] == i + 1);
    CHECK(cycles[i]["users"] == (i == 0 ? 3 : 5));
    CHECK(cycles[i]["hitsPerUser"] == 2);
    CHECK(cycles[i]["requests"].get<std::uint64_t>() > 0);
    CHECK(cycles[i]["seconds"].get<double>() == Approx(2.0).margin(0.1));
    requests += cycles[i]["requests"].get<std::uint64_t>();
  }
  CHECK(requests == report["summary"]["requests"].get<std::uint64_t>());
  CHECK(count(h.out.str(), "\nCycles\n") == 1);
}
