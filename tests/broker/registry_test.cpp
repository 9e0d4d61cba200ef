// Agent registry: registration, expiry against a fake clock, fair selection.
#include "broker/registry.hpp"

#include <catch2/catch.hpp>
#include <map>

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
  CHECK_FALSE(registry.registerAgent(hello("a1", "h1"), "rid-1", clock.now).replaced);
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
    CHECK_FALSE(
        registry.registerAgent(hello("a", "h1", "run-1"), "new-socket", clock.now).replaced);
    CHECK(registry.find("a")->state == AgentState::kBusy);
    CHECK(registry.find("a")->routingId == "new-socket");
    CHECK_FALSE(registry.findByRouting("old-socket"));
  }
  SECTION("restarted and idle: its run loses it") {
    registry.touch(*registry.find("a"), clock.now);  // it spoke after its JOB: it had it
    auto replaced = registry.registerAgent(hello("a", "h1"), "new-socket", clock.now).replaced;
    REQUIRE(replaced);
    CHECK(replaced->runId == "run-1");
    CHECK(registry.find("a")->state == AgentState::kIdle);
  }
}

TEST_CASE("a JOB sent to a connection the agent had already left is sent again", "[registry]") {
  // A paused broker wakes, takes the agent's old connection for alive and sends it a JOB;
  // the agent, which had given up on that connection, says HELLO on a new one without
  // the run. It never had the JOB: the run keeps it, and the JOB goes out again.
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  registry.registerAgent(hello("a", "h1"), "old-socket", clock.now);
  registry.assign("a", "run-2", clock.now);
  auto registration = registry.registerAgent(hello("a", "h1", "run-1"), "new-socket", clock.now);
  CHECK_FALSE(registration.replaced);
  CHECK(registration.undeliveredJob == "run-2");
  CHECK(registry.find("a")->state == AgentState::kBusy);
  CHECK(registry.find("a")->runId == "run-2");
  CHECK(registry.find("a")->routingId == "new-socket");
  SECTION("from the same connection it is a restart all the same") {
    registry.assign("a", "run-3", clock.now);
    auto same = registry.registerAgent(hello("a", "h1"), "new-socket", clock.now);
    CHECK(same.replaced);
    CHECK(same.undeliveredJob.empty());
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

// Issue 12: every message the broker receives looks its sender up by routing id; with a
// linear scan 50,000 agents made that 50,000 string compares per message.
TEST_CASE("50000 agents are found by routing id without a scan, also after re-registering",
          "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  constexpr int kAgents = 50000;
  for (int i = 0; i < kAgents; ++i) {
    registry.registerAgent(hello("a" + std::to_string(i), "h"), "rid-" + std::to_string(i),
                           clock.now);
  }
  // Agent 7 reconnects from a new socket; agent 8's socket re-registers as agent "x".
  registry.registerAgent(hello("a7", "h"), "rid-new", clock.now);
  registry.registerAgent(hello("x", "h"), "rid-8", clock.now);
  CHECK_FALSE(registry.findByRouting("rid-7"));
  REQUIRE(registry.findByRouting("rid-new"));
  CHECK(registry.findByRouting("rid-new")->id == "a7");
  REQUIRE(registry.findByRouting("rid-8"));
  CHECK(registry.findByRouting("rid-8")->id == "x");
  CHECK_FALSE(registry.find("a8"));
  registry.remove("a9");
  CHECK_FALSE(registry.findByRouting("rid-9"));
  // A scan would take some 10^9 string compares here; lookups by hash take milliseconds.
  const auto start = std::chrono::steady_clock::now();
  int found = 0;
  for (int i = 10; i < kAgents; ++i)
    found += registry.findByRouting("rid-" + std::to_string(i)) != nullptr;
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(found == kAgents - 10);
  CHECK(took < 1s);
}

TEST_CASE("a lost agent keeps no list of cached libraries", "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  auto h = hello("a1", "h1");
  h.libraries.assign(3, std::string(64, 'a'));
  registry.registerAgent(h, "rid-1", clock.now);
  CHECK(registry.find("a1")->libraries.size() == 1);
  clock.advance(6s);
  REQUIRE(registry.expireSilent(clock.now).size() == 1);
  CHECK(registry.find("a1")->libraries.empty());
  clock.advance(11min);
  registry.forgetLost(clock.now, 10min);
  CHECK_FALSE(registry.find("a1"));
  CHECK_FALSE(registry.findByRouting("rid-1"));
}

TEST_CASE("1,000 agents on 46 uneven hosts: a run of all of them, then runs of 100, spread evenly",
          "[registry]") {
  FakeClock clock;
  AgentRegistry registry(1000ms, 5);
  // Host h carries 10 + h % 30 agents (the last fewer): 46 hosts, 1,000 agents in all.
  std::map<std::string, int> perHost;
  for (int i = 0, host = 0; i < 1000; ++host) {
    for (int k = 0; k < 10 + host % 30 && i < 1000; ++k, ++i) {
      const std::string h = "h" + std::to_string(host);
      registry.registerAgent(hello("a" + std::to_string(i), h), "rid-" + std::to_string(i),
                             clock.now);
      ++perHost[h];
    }
  }
  REQUIRE(perHost.size() == 46);
  CHECK(registry.selectIdle(1001).empty());
  CHECK(registry.selectIdle(1000).size() == 1000);

  // Runs of 100 in a row: each takes agents from the hosts with the fewest at work, so no
  // host ever carries two more busy agents than another that still has idle ones.
  for (int run = 0; run < 9; ++run) {
    clock.advance(1s);
    const auto chosen = registry.selectIdle(100);
    REQUIRE(chosen.size() == 100);
    for (const auto& id : chosen) registry.assign(id, "r" + std::to_string(run), clock.now);
    std::map<std::string, int> busy, idle;
    for (const auto& [id, agent] : registry.agents()) {
      ++(agent.state == AgentState::kBusy ? busy : idle)[agent.host];
    }
    int least = 1 << 30, most = 0;
    for (const auto& [host, n] : perHost) {
      if (idle[host] > 0) least = std::min(least, busy[host]);
      most = std::max(most, busy[host]);
    }
    INFO("run " << run);
    CHECK(most <= least + 1);
  }
}
