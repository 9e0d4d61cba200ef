// Run table: isolation of runs, master expiry, waits.
#include "broker/run_table.hpp"

#include <catch2/catch.hpp>

using namespace loads::broker;
using namespace std::chrono_literals;

namespace {
loads::proto::Run request(std::uint32_t agents, std::uint32_t waitMs = 0) {
  loads::proto::Run run;
  run.agents = agents;
  run.waitAgentsMs = waitMs;
  return run;
}
}  // namespace

TEST_CASE("runs of different masters are kept apart", "[run_table]") {
  RunTable table("t");
  const TimePoint t0{std::chrono::hours(1)};
  const std::string first = table.add("master-1", request(2), t0).id;
  const std::string second = table.add("master-2", request(1), t0).id;
  CHECK(first != second);
  CHECK(table.findByMaster("master-1")->id == first);
  CHECK(table.findByMaster("master-2")->id == second);
  table.remove(first);
  CHECK_FALSE(table.find(first));
  CHECK(table.find(second));
}

TEST_CASE("a run is finished when every slot is done or lost", "[run_table]") {
  RunTable table("t");
  RunRecord& run = table.add("m", request(2), TimePoint{});
  run.state = RunState::kRunning;
  run.slots = {{"a1", "h1", 0, SlotState::kRunning}, {"a2", "h2", 1, SlotState::kRunning}};
  CHECK_FALSE(run.finished());
  run.slot("a1")->state = SlotState::kDone;
  CHECK_FALSE(run.finished());
  run.slot("a2")->state = SlotState::kLost;
  CHECK(run.finished());
  CHECK(run.ended() == 2);
}

TEST_CASE("a master silent for the expiry loses its run", "[run_table]") {
  RunTable table("t");
  const TimePoint t0{std::chrono::hours(1)};
  RunRecord& run = table.add("m", request(1), t0);
  CHECK(table.silentMasters(t0 + 4999ms, 5000ms).empty());
  run.masterLastSeen = t0 + 3000ms;
  CHECK(table.silentMasters(t0 + 7999ms, 5000ms).empty());
  CHECK(table.silentMasters(t0 + 8000ms, 5000ms) == std::vector<std::string>{run.id});
}

TEST_CASE("waiting runs are served oldest first and refused when the wait ends", "[run_table]") {
  RunTable table("t");
  const TimePoint t0{std::chrono::hours(1)};
  const std::string late = table.add("m2", request(1, 1000), t0 + 10ms).id;
  const std::string early = table.add("m1", request(1, 5000), t0).id;
  CHECK(table.waiting() == std::vector<std::string>{early, late});
  CHECK(table.expiredWaits(t0 + 1009ms).empty());
  CHECK(table.expiredWaits(t0 + 1010ms) == std::vector<std::string>{late});
}
