// The schedulers with a fake clock: the tests pass the time explicitly.
#include "run/schedule.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <numeric>
#include <optional>

using namespace loads;
using namespace std::chrono_literals;

namespace {

// Arrivals dispatched in each whole second of [0, seconds), with `free` users that never
// come back once taken (so the rest is dropped).
struct Tally {
  std::vector<std::uint64_t> started, dropped;
};
Tally runSeconds(ArrivalDispatcher& d, int seconds, std::uint64_t freeUsers, Micros step = 1ms) {
  Tally t{std::vector<std::uint64_t>(seconds), std::vector<std::uint64_t>(seconds)};
  for (Micros now{0}; now < Micros(std::chrono::seconds(seconds)); now += step) {
    d.dispatch(now, [&](Micros planned) {
      const auto s = static_cast<std::size_t>(planned.count() / 1'000'000);
      if (freeUsers == 0) {
        ++t.dropped[s];
        return false;
      }
      --freeUsers;
      ++t.started[s];
      return true;
    });
  }
  return t;
}

}  // namespace

TEST_CASE("stages parse as duration:target pairs") {
  auto stages = parseStages("30s:100,2m:100,30s:0", "--stages");
  REQUIRE(stages.size() == 3);
  CHECK(stages[0].duration == 30s);
  CHECK(stages[1].duration == 2min);
  CHECK(stages[1].target == 100);
  CHECK(stages[2].target == 0);
  CHECK(parseStages(formatStages(stages), "--stages").size() == 3);
  CHECK_THROWS_WITH(parseStages("30s", "--stages"), Catch::Contains("--stages '30s' is not valid"));
  CHECK_THROWS(parseStages("30s:-1", "--stages"));
  CHECK_THROWS(parseStages("xs:10", "--stages"));
  CHECK_THROWS(parseStages("0s:10", "--stages"));
}

TEST_CASE("a constant rate plans exactly rate x duration arrivals, evenly") {
  ArrivalDispatcher d(ArrivalSchedule(StageProfile::constant(2000, 10s), 0, 1));
  Tally t = runSeconds(d, 11, 1'000'000);
  for (int s = 0; s < 10; ++s) CHECK(t.started[s] == 2000);
  CHECK(t.started[10] == 0);
  CHECK(d.started() == 20000);
  CHECK(d.dropped() == 0);
  CHECK_FALSE(d.nextPlanned());
}

TEST_CASE("arrivals are due at their planned time, not before") {
  ArrivalSchedule s(StageProfile::constant(4, 2s), 0, 1);
  std::vector<Micros> planned;
  while (auto p = s.peek()) {
    planned.push_back(*p);
    s.pop();
  }
  CHECK(planned == std::vector<Micros>{0ms, 250ms, 500ms, 750ms, 1000ms, 1250ms, 1500ms, 1750ms});
  ArrivalDispatcher d(ArrivalSchedule(StageProfile::constant(4, 2s), 0, 1));
  int n = 0;
  d.dispatch(249ms, [&](Micros) { return ++n, true; });
  CHECK(n == 1);
  d.dispatch(250ms, [&](Micros) { return ++n, true; });
  CHECK(n == 2);
  // A late wake-up dispatches every hit that was due, with its own planned time.
  std::vector<Micros> late;
  d.dispatch(1100ms, [&](Micros p) { return late.push_back(p), true; });
  CHECK(late == std::vector<Micros>{500ms, 750ms, 1000ms});
}

TEST_CASE("a hit with no free user is dropped, not delayed") {
  ArrivalDispatcher d(ArrivalSchedule(StageProfile::constant(100, 3s), 0, 1));
  Tally t = runSeconds(d, 3, 150);
  CHECK(t.started == std::vector<std::uint64_t>{100, 50, 0});
  CHECK(t.dropped == std::vector<std::uint64_t>{0, 50, 100});
  CHECK(d.started() == 150);
  CHECK(d.dropped() == 150);
}

TEST_CASE("shares of a schedule sum exactly to the global schedule") {
  for (std::uint64_t count : {1u, 3u, 7u}) {
    StageProfile rate(0, parseStages("1s:500,2s:2000,1s:2000", "--rate-stages"));
    std::uint64_t sum = 0;
    std::vector<Micros> all;
    for (std::uint64_t i = 0; i < count; ++i) {
      ArrivalSchedule s(rate, i, count);
      sum += s.total();
      while (auto p = s.peek()) {
        all.push_back(*p);
        s.pop();
      }
    }
    ArrivalSchedule global(rate, 0, 1);
    CHECK(sum == global.total());
    // 250 arrivals in the first ramp, 2500 in the second, 2000 at the plateau.
    CHECK(global.total() == 250 + 2500 + 2000);
    CHECK(all.size() == sum);
    // Shares compose: thread t of T inside agent i of n is share i + n·t of n·T.
    std::uint64_t composed = 0;
    for (std::uint64_t t = 0; t < 2; ++t)
      composed += ArrivalSchedule(rate, 1 + count * t, count * 2).total();
    CHECK(composed == ArrivalSchedule(rate, 1, count).total());
  }
}

TEST_CASE("a rate ramp plans arrivals per second as its integral") {
  // 0 -> 1000/s over 2 s, then 1000/s for 1 s: 250, 750, 1000.
  ArrivalDispatcher d(ArrivalSchedule(StageProfile(0, parseStages("2s:1000,1s:1000", "x")), 0, 1));
  Tally t = runSeconds(d, 3, 1'000'000);
  CHECK(t.started == std::vector<std::uint64_t>{250, 750, 1000});
}

TEST_CASE("rate stages start from --rate when it is given") {
  StageProfile rate(100, parseStages("1s:100,1s:300", "x"));
  CHECK(rate.at(0ms) == 100);
  CHECK(rate.at(1500ms) == Approx(200));
  CHECK(rate.integral(2s) == Approx(300));
}

TEST_CASE("user stages: linear ramps, exact boundaries, shares that sum to the target") {
  StageProfile users(0, parseStages("10s:100,20s:100,10s:0", "--stages"));
  UserTargetSchedule global(users, 0, 1);
  CHECK(global.globalAt(0ms) == 0);
  CHECK(global.globalAt(100ms) == 1);
  CHECK(global.globalAt(5s) == 50);
  CHECK(global.globalAt(9999ms) == 99);
  CHECK(global.globalAt(10s) == 100);
  CHECK(global.globalAt(29999ms) == 100);
  CHECK(global.globalAt(35s) == 50);
  CHECK(global.globalAt(40s) == 0);
  CHECK(global.length() == 40s);
  CHECK(global.max() == 100);
  for (Micros t : {Micros(0), Micros(3'333'333), Micros(10s), Micros(37s)}) {
    std::uint32_t sum = 0;
    for (std::uint32_t i = 0; i < 3; ++i) sum += UserTargetSchedule(users, i, 3).at(t);
    CHECK(sum == global.globalAt(t));
  }
  CHECK(UserTargetSchedule(users, 0, 3).max() == 34);
  CHECK(UserTargetSchedule(users, 2, 3).max() == 33);
}

namespace {
// The planned starts (µs) of `s`, popped until `until` (exclusive) or the end.
std::vector<std::uint64_t> drain(ArrivalSchedule& s, std::optional<Micros> until = std::nullopt) {
  std::vector<std::uint64_t> out;
  while (auto p = s.peek()) {
    if (until && *p >= *until) break;
    out.push_back(static_cast<std::uint64_t>(p->count()));
    s.pop();
  }
  return out;
}
}  // namespace

TEST_CASE("a resplit gives every arrival from its start exactly one of the remaining shares") {
  // 3 agents, 2 runner threads each; agent 1 is lost 2.301 s in, the others take its share
  // from 2.801 s on. A rate whose arrivals are all at distinct µs, so times identify them.
  const StageProfile rate(50, parseStages("2s:500,3s:500", "--rate-stages"));
  ArrivalSchedule global(rate, 0, 1);
  std::map<std::uint64_t, int> owners;  // planned µs -> how many shares planned it
  std::vector<std::uint64_t> everything = drain(global);
  for (auto t : everything) owners[t] = 0;
  REQUIRE(owners.size() == everything.size());  // distinct times

  const Micros lostAt = 2301ms, from = 2801ms;
  const std::uint64_t agents = 3, threads = 2, lost = 1;
  std::uint64_t survivorRank = 0;
  for (std::uint64_t a = 0; a < agents; ++a) {
    for (std::uint64_t t = 0; t < threads; ++t) {
      ArrivalSchedule s(rate, a + agents * t, agents * threads);
      if (a == lost) {
        for (auto p : drain(s, lostAt)) ++owners[p];
        continue;
      }
      // The re-split reaches the thread at 2.501 s: its arrivals before then are issued.
      std::vector<std::uint64_t> planned = drain(s, 2501ms);
      s.resplit(from, survivorRank + (agents - 1) * t, (agents - 1) * threads);
      for (auto p : drain(s)) planned.push_back(p);
      for (auto p : planned) ++owners[p];
    }
    if (a != lost) ++survivorRank;
  }
  std::uint64_t missing = 0, doubled = 0;
  for (const auto& [t, n] : owners) {
    if (Micros(t) >= from || Micros(t) < lostAt) {
      CHECK(n == 1);  // before the loss and from the resplit on: exactly once
    }
    if (n == 0) ++missing;
    if (n > 1) ++doubled;
  }
  CHECK(doubled == 0);
  // Only the lost agent's arrivals between its loss and the resplit are missing: a third
  // of the 500/s for 0.5 s.
  CHECK(missing == 83);
  const std::uint64_t k = global.firstArrivalFrom(from);
  CHECK(rate.timeOfIntegral(static_cast<double>(k)).value() >= from);
  CHECK(rate.timeOfIntegral(static_cast<double>(k - 1)).value() < from);
}

TEST_CASE("a resplit after the share passed its start applies at once") {
  const StageProfile rate = StageProfile::constant(100, 2s);
  ArrivalSchedule s(rate, 0, 2);  // 0, 20 ms, 40 ms, ...
  while (s.peek() && *s.peek() < 1000ms) s.pop();
  s.resplit(500ms, 0, 1);  // from arrival 50 on, every arrival
  REQUIRE(s.peek());
  CHECK(*s.peek() == 500ms);
  s.pop();
  CHECK(*s.peek() == 510ms);
}

TEST_CASE("stage targets follow the new split from the resplit on") {
  const StageProfile users(10, parseStages("10s:10", "--stages"));
  UserTargetSchedule a(users, 0, 3), c(users, 2, 3);  // 4, 3 (and the lost one 3)
  CHECK(a.at(1s) + c.at(1s) == 7);
  a.resplit(5s, 0, 2);
  c.resplit(5s, 1, 2);
  CHECK(a.at(4s) == 4);
  CHECK(c.at(4s) == 3);
  CHECK(a.at(5s) + c.at(5s) == 10);
  CHECK(a.max() == 5);
}
