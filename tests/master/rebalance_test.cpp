#include "master/rebalance.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>

#include "report/json_output.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;
using namespace loads::master;

namespace {
// The holders of a run of `count` agents without agent `lost`.
std::vector<ShareHolder> survivors(std::uint32_t count, std::uint32_t lost) {
  std::vector<ShareHolder> holders;
  for (std::uint32_t i = count; i-- > 0;) {  // any order: the plan sorts by index
    if (i != lost) holders.push_back({"a" + std::to_string(i), "h", i});
  }
  return holders;
}
}  // namespace

TEST_CASE("a rebalance keeps the survivors' order and numbers them from 0") {
  auto plan = planRebalance("r1", survivors(4, 1), 2500, "a1");
  CHECK(plan.count == 3);
  REQUIRE(plan.shares.size() == 3);
  CHECK(plan.shares[0].agentId == "a0");
  CHECK(plan.shares[0].index == 0);
  CHECK(plan.shares[1].agentId == "a2");
  CHECK(plan.shares[1].index == 1);
  CHECK(plan.shares[2].agentId == "a3");
  CHECK(plan.shares[2].index == 2);
  CHECK(plan.fromMs == 2500);
  CHECK(proto::validateRebalance(plan).empty());
}

TEST_CASE("re-split users sum exactly to the total and no survivor's share shrinks") {
  for (std::uint32_t total = 1; total <= 60; ++total) {
    for (std::uint32_t count = 2; count <= 8 && count <= total; ++count) {
      for (std::uint32_t lost = 0; lost < count; ++lost) {
        auto plan = planRebalance("r", survivors(count, lost), 0, "x");
        std::uint32_t sum = 0;
        for (const auto& share : plan.shares) {
          const std::uint32_t before =
              proto::usersForAgent(total, std::stoul(share.agentId.substr(1)), count);
          const std::uint32_t after = proto::usersForAgent(total, share.index, plan.count);
          INFO(total << " users, " << count << " agents, lost " << lost << ", " << share.agentId);
          CHECK(after >= before);
          sum += after;
        }
        CHECK(sum == total);
      }
    }
  }
}

TEST_CASE("a second loss re-splits the current shares again") {
  // 3 agents, 10 users: 4, 3, 3. a0 is lost: a1 5, a2 5. Then a1: a2 runs all 10.
  auto first = planRebalance("r", survivors(3, 0), 0, "a0");
  std::vector<ShareHolder> now;
  for (const auto& share : first.shares) {
    if (share.agentId != "a1") now.push_back({share.agentId, "h", share.index});
  }
  auto second = planRebalance("r", now, 0, "a1");
  REQUIRE(second.shares.size() == 1);
  CHECK(second.shares[0].agentId == "a2");
  CHECK(proto::usersForAgent(10, second.shares[0].index, second.count) == 10);
}

TEST_CASE("the rebalance report names the lost agent, when and the new split") {
  RunOptions run;
  run.rate = StageProfile::constant(300, std::chrono::seconds(10));
  proto::JobOptions job;
  job.maxUsers = 61;
  auto holders = survivors(3, 2);
  auto plan = planRebalance("r", holders, 4000, "a2");
  RebalanceEvent event = describeRebalance(plan, holders, job, run);
  event.atMs = 3600;
  event.lostId = "a2";
  event.lostHost = "h";
  event.reason = "no heartbeat for 600 ms";
  CHECK(event.firstArrival == 1200u);  // 300/s × 4 s
  REQUIRE(event.shares.size() == 2);
  CHECK(event.shares[0].users + event.shares[1].users == 61);
  std::ostringstream out;
  printRebalances({event}, out);
  CHECK(out.str().find("agent a2 on h left (no heartbeat for 600 ms); 2 agents share the run "
                       "from 4.0 s into the schedule (arrival 1200 on)") != std::string::npos);
  RunFacts facts;
  facts.distributed = DistributedFacts{.runId = "r", .rebalances = std::vector{event}};
  auto json = jsonReport(AggregateResult().snapshot(), facts)["rebalances"];
  CHECK(json[0]["lost"] == "a2");
  CHECK(json[0]["fromMs"] == 4000);
  CHECK(json[0]["firstArrival"] == 1200);
  CHECK(json[0]["shares"][1]["users"] == 30);
  CHECK(json[0]["rows"]["feeds"].empty());
  CHECK(json[0]["rows"]["moved"] == false);
}

TEST_CASE(
    "the rebalance report says what the lost agent dealt of each feed, and where the rest went") {
  RebalanceEvent event;
  event.lostId = "a2";
  event.rows = {{"users.csv", 1234}, {"items.csv", 0}};
  std::ostringstream kept, moved;
  printRebalances({event}, kept);
  CHECK(kept.str().find("unique rows of users.csv: 1234 claimed by a2; the rest stayed unused") !=
        std::string::npos);
  event.rowsFinal = event.rowsMoved = true;
  printRebalances({event}, moved);
  CHECK(moved.str().find("unique rows of items.csv: 0 dealt by a2; the rest went to the agents") !=
        std::string::npos);
}

TEST_CASE("rows a leaver had not dealt split over the others whatever the runs it held") {
  // Runs compose: a leaver holding its own run and one taken over leaves a remainder that
  // splits over 3 holders; every element of the remainder goes to exactly one of them.
  std::vector<RowRun> runs{ownRun(2), RowRun{0, 5, 4, {{"users.csv", 8}}}};
  RowClaims claims;
  claims[{"users.csv", 0}].note(10, true);
  claims[{"users.csv", 1}].note(3, true);
  claims[{"items.csv", 1}].note(2, false);
  auto rest = remainingRows(runs, claims);
  REQUIRE(rest);
  for (const char* feed : {"users.csv", "items.csv", "other.csv"}) {
    for (std::size_t q = 0; q < runs.size(); ++q) {
      const std::uint64_t dealt = claims.count({feed, q}) ? claims[{feed, q}].upTo : 0;
      std::multiset<std::uint64_t> parts;
      for (std::uint32_t j = 0; j < 3; ++j) {
        auto part = shareOfRows(*rest, j, 3);
        REQUIRE(part);
        for (std::uint64_t k = 0; k < 50; ++k) parts.insert(*(*part)[q].element(feed, k));
      }
      // The 150 smallest elements of the holders are the leaver's elements from `dealt` on.
      std::vector<std::uint64_t> expected;
      for (std::uint64_t k = dealt; k < dealt + 150; ++k)
        expected.push_back(*runs[q].element(feed, k));
      INFO(feed << " run " << q);
      CHECK(std::vector<std::uint64_t>(parts.begin(), parts.end()) == expected);
    }
  }
  // Strides past 64 bits are refused, not wrapped.
  CHECK_FALSE(shareOfRows({RowRun{0, 0, std::uint64_t{1} << 62, {}}}, 1, 8));
}
