// End-to-end tests of the open model (--rate) and of --stages in local mode: the real
// loads-master against the real example target, checked against what the target served.
#include <catch2/catch.hpp>

#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using nlohmann::json;

namespace {
const std::string kSimple = built("examples/simple/libsimple.so");
}  // namespace

TEST_CASE("a 10 s run at --rate 2000 makes 20,000 hits, all served, none dropped") {
  // Enough users to ride out a stall of the whole (busy, 2-core) machine of up to 1.5 s
  // without dropping a hit: 2000/s x 1.5 s (half a second was not always enough while
  // the suite ran the container fleet beside it).
  TargetProcess target;
  const std::string report = tempPath("rate.json");
  auto r = runMaster({kSimple, "--test", "Static", "--rate", "2000", "-d", "10s", "--max-users",
                      "3000", "--server-url", target.url(), "--json", report, "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const json j = readJson(report);
  const auto requests = j["summary"]["requests"].get<std::uint64_t>();
  CHECK(requests >= 19800);  // within 1% of 20,000 (the schedule plans exactly 20,000)
  CHECK(requests <= 20200);
  CHECK(requests + j["summary"]["droppedHits"].get<std::uint64_t>() == 20000);
  CHECK(j["summary"]["droppedHits"] == 0);
  CHECK(requests == target.served());
  CHECK(j["summary"]["plannedRequests"] == requests);
  CHECK(j["summary"]["targetKind"] == "rate");
  // Both latencies, labelled; corrected >= uncorrected.
  CHECK(j["allRequests"]["latencyCorrectedUs"]["p99"].get<std::int64_t>() >=
        j["allRequests"]["latencyUs"]["p50"].get<std::int64_t>());
  CHECK(r.out.find("Latency corrected (from planned start") != std::string::npos);
  CHECK(r.out.find("latency uncorrected (from actual start") != std::string::npos);
  for (const auto& s : j["seconds"]) CHECK((s["target"] == 2000.0 || s["target"] == -1.0));
}

TEST_CASE("with too few users for a stalling target, hits are dropped and reported") {
  TargetProcess target({"--stall-every", "1", "--stall-for", "500"});
  const std::string report = tempPath("dropped.json");
  auto r = runMaster({kSimple, "--test", "Static", "--rate", "200", "-d", "3s", "--max-users", "4",
                      "--server-url", target.url(), "--json", report, "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const json j = readJson(report);
  const auto requests = j["summary"]["requests"].get<std::uint64_t>();
  const auto dropped = j["summary"]["droppedHits"].get<std::uint64_t>();
  CHECK(requests + dropped == 600);  // every planned hit is either run or counted as dropped
  CHECK(dropped > 100);              // ~96 per 500 ms stall
  CHECK(requests == target.served());
  std::uint64_t perSecond = 0;
  for (const auto& s : j["seconds"]) perSecond += s["dropped"].get<std::uint64_t>();
  CHECK(perSecond == dropped);
  CHECK(r.out.find("Dropped hits") != std::string::npos);
  // The stalls show in the corrected latency, far less in the uncorrected one.
  CHECK(j["allRequests"]["latencyCorrectedUs"]["max"].get<std::int64_t>() >
        j["allRequests"]["latencyUs"]["p50"].get<std::int64_t>());
}

TEST_CASE("stages ramp users up and down, and the series shows the target") {
  TargetProcess target;
  const std::string report = tempPath("stages.json");
  auto r = runMaster({kSimple, "--test", "Static", "--stages", "2s:6,1s:6,1s:0", "--server-url",
                      target.url(), "--json", report, "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const json j = readJson(report);
  CHECK(j["summary"]["maxUsers"].get<std::uint32_t>() <= 6);
  CHECK(j["summary"]["maxUsers"].get<std::uint32_t>() >= 5);
  CHECK(j["summary"]["targetKind"] == "users");
  CHECK(j["summary"]["requests"] == target.served());
  CHECK(j["summary"]["durationSeconds"].get<double>() < 6.0);
  double maxTarget = 0;
  for (const auto& s : j["seconds"]) maxTarget = std::max(maxTarget, s["target"].get<double>());
  CHECK(maxTarget == 6.0);
}

TEST_CASE("a rate needs -d or --rate-stages, and excludes --stages") {
  CHECK(runMaster({kSimple, "--rate", "10"}).code == 2);
  CHECK(runMaster({kSimple, "--rate", "10", "-d", "1s", "--stages", "1s:1"}).code == 2);
  CHECK(runMaster({kSimple, "--rate-stages", "1s:10", "-d", "1s"}).code == 2);
  CHECK(runMaster({kSimple, "--stages", "1s:x"}).code == 2);
}
