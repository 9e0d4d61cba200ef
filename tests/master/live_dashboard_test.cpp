// The live dashboard's state: what every page receives and its script renders.
#include "master/live_dashboard.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "master/web_dashboard.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;
using namespace loads::master;

// Issue #11: past --max-names the page shows the same sentence as the reports.
TEST_CASE("the dashboard state carries the overflow sentence") {
  AggregateOptions options;
  options.maxNames = 1;
  AggregateResult result(options);
  LoadsStatus status;
  status.users = 1;
  for (const std::string name : {"GET /a/1", "GET /a/2", "GET /a/3"}) {
    Hit hit;
    hit.name = name;
    hit.status = 200;
    hit.startedUs = 1'700'000'000'000'000;
    hit.elapsedUs = 100;
    result.addHit(hit, status);
  }
  auto dashboard = LiveDashboard::start(
      WebAddress{}, "local", result, [] { return DashboardClock{}; }, [] {});
  REQUIRE(dashboard);
  const Snapshot snap = result.snapshot();
  const auto state = nlohmann::json::parse(dashboard->state(snap, false));
  REQUIRE(state.at("overflows").size() == 1);
  CHECK(state["overflows"][0] == overflowSentence(snap.overflows.at(0)));
  CHECK(state["overflows"][0].get<std::string>().find("\"GET /a/2\", \"GET /a/3\"") !=
        std::string::npos);
}
