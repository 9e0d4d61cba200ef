// Agent registry: registration, expiry against a fake clock, fair selection.
#include "broker/registry.hpp"

#include <catch2/catch.hpp>

#include "proto/messages.hpp"

using namespace loads::broker;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  TimePoint now{std::chrono::hours(1)};
  void advance(Duration d) { now += d; }
};

loads::proto::Hello hello(const std::string& id, const std::string& host, std::string runId = "") {
  loads::proto::Hello h;
  h.agentId = id;
  h.host = host;
  h.cores = 4;
  h.version = "0.1.0";
  h.runId = std::move(runId);
  return h;
}

}  // namespace

TEST_CASE("a registered agent is idle and findable by id and routing id", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  CHECK_FALSE(registry.registerAgent(hello("a1", "h1"), "rid-1", clock.now));
  REQUIRE(registry.find("a1"));
  CHECK(registry.find("a1")->state == AgentState::kIdle);
  CHECK(registry.findByRouting("rid-1") == registry.find("a1"));
  CHECK(registry.idleCount() == 1);
  CHECK(registry.registeredCount() == 1);
}

TEST_CASE("a silent agent is expired after 5 heartbeats", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  registry.registerAgent(hello("a1", "h1"), "rid-1", clock.now);
  registry.registerAgent(hello("a2", "h1"), "rid-2", clock.now);
  registry.assign("a2", "run-1", clock.now);
  clock.advance(4999ms);
  CHECK(registry.expireSilent(clock.now).empty());
  clock.advance(1ms);
  auto lost = registry.expireSilent(clock.now);
  REQUIRE(lost.size() == 2);
  CHECK(lost[1].runId == "run-1");  // returned as it was: its master must be told
  CHECK(lost[1].state == AgentState::kBusy);
  CHECK(registry.find("a2")->state == AgentState::kLost);
  CHECK(registry.registeredCount() == 0);
  CHECK(registry.expireSilent(clock.now).empty());  // lost once, not twice
}

TEST_CASE("a heartbeat keeps an agent alive", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  registry.registerAgent(hello("a1", "h1"), "rid-1", clock.now);
  for (int i = 0; i < 20; ++i) {
    clock.advance(1000ms);
    registry.touch(*registry.find("a1"), clock.now);
    CHECK(registry.expireSilent(clock.now).empty());
  }
}

TEST_CASE("lost agents are forgotten after the retention period", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 2);
  registry.registerAgent(hello("a1", "h1"), "rid-1", clock.now);
  clock.advance(2000ms);
  registry.expireSilent(clock.now);
  registry.forgetLost(clock.now + 59s, 60s);
  CHECK(registry.find("a1"));
  registry.forgetLost(clock.now + 60s, 60s);
  CHECK_FALSE(registry.find("a1"));
}

TEST_CASE("selection spreads a run over hosts before doubling up on one", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  // Three agents on h1 registered first, one each on h2 and h3.
  registry.registerAgent(hello("h1-a", "h1"), "r1", clock.now);
  registry.registerAgent(hello("h1-b", "h1"), "r2", clock.now);
  registry.registerAgent(hello("h1-c", "h1"), "r3", clock.now);
  clock.advance(1ms);
  registry.registerAgent(hello("h2-a", "h2"), "r4", clock.now);
  registry.registerAgent(hello("h3-a", "h3"), "r5", clock.now);
  auto three = registry.selectIdle(3);
  std::sort(three.begin(), three.end());
  CHECK(three == std::vector<std::string>{"h1-a", "h2-a", "h3-a"});
  auto four = registry.selectIdle(4);
  CHECK(std::count_if(four.begin(), four.end(), [](auto& id) { return id.starts_with("h1"); }) ==
        2);
}

TEST_CASE("selection counts agents already busy on a host", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  registry.registerAgent(hello("h1-a", "h1"), "r1", clock.now);
  registry.registerAgent(hello("h1-b", "h1"), "r2", clock.now);
  registry.registerAgent(hello("h2-a", "h2"), "r3", clock.now);
  registry.registerAgent(hello("h2-b", "h2"), "r4", clock.now);
  registry.assign("h1-a", "run-1", clock.now);
  CHECK(registry.selectIdle(1) == std::vector<std::string>{"h2-a"});
}

TEST_CASE("among equals the least recently used agent is picked", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  registry.registerAgent(hello("a", "h1"), "r1", clock.now);
  registry.registerAgent(hello("b", "h2"), "r2", clock.now);
  registry.assign("a", "run-1", clock.now);
  registry.release("a");
  clock.advance(1s);
  registry.assign("b", "run-2", clock.now);
  registry.release("b");
  CHECK(registry.selectIdle(1) == std::vector<std::string>{"a"});
  clock.advance(1s);
  registry.assign("a", "run-3", clock.now);
  registry.release("a");
  CHECK(registry.selectIdle(1) == std::vector<std::string>{"b"});
}

TEST_CASE("too few idle agents select nobody", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  registry.registerAgent(hello("a", "h1"), "r1", clock.now);
  registry.registerAgent(hello("b", "h1"), "r2", clock.now);
  registry.assign("a", "run-1", clock.now);
  CHECK(registry.selectIdle(2).empty());
  CHECK(registry.selectIdle(0).empty());
  CHECK(registry.selectIdle(1) == std::vector<std::string>{"b"});
}

TEST_CASE("an agent that reconnects replaces its old entry", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  registry.registerAgent(hello("a", "h1"), "old-socket", clock.now);
  registry.assign("a", "run-1", clock.now);
  SECTION("still running the same run: the run keeps it") {
    CHECK_FALSE(registry.registerAgent(hello("a", "h1", "run-1"), "new-socket", clock.now));
    CHECK(registry.find("a")->state == AgentState::kBusy);
    CHECK(registry.find("a")->routingId == "new-socket");
    CHECK_FALSE(registry.findByRouting("old-socket"));
  }
  SECTION("restarted and idle: its run loses it") {
    auto replaced = registry.registerAgent(hello("a", "h1"), "new-socket", clock.now);
    REQUIRE(replaced);
    CHECK(replaced->runId == "run-1");
    CHECK(registry.find("a")->state == AgentState::kIdle);
  }
}

TEST_CASE("library hashes from HELLO are remembered", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  auto h = hello("a", "h1");
  h.libraries = {std::string(64, 'a')};
  registry.registerAgent(h, "r1", clock.now);
  CHECK(registry.find("a")->libraries.contains(std::string(64, 'a')));
}
