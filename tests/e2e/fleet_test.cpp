// A fleet of simulated agents (bench/loads-fleet-sim: real HELLO, heartbeats, JOB,
// JOB-ENDED, and results over real sockets) against the real broker and master on
// loopback: every agent gets its job, every hit the simulated slaves sent is in the
// master's JSON report, and the per-agent table is complete (bench/RESULTS.md measures
// the same path at 1,000 agents).
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "support/cluster.hpp"
#include "support/process.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;

namespace {

// "key=value" figures of the simulator's last line.
std::map<std::string, std::uint64_t> figures(const std::string& out) {
  std::map<std::string, std::uint64_t> f;
  const std::regex pair(R"(([a-z-]+)=(\d+))");
  for (std::sregex_iterator it(out.begin(), out.end(), pair), end; it != end; ++it) {
    f[(*it)[1]] = std::stoull((*it)[2]);
  }
  return f;
}

void runFleet(std::uint32_t agents, const std::string& results, double rate) {
  const int frontendPort = freePort(), backendPort = freePort();
  const std::string frontend = "tcp://127.0.0.1:" + std::to_string(frontendPort);
  const std::string backend = "tcp://127.0.0.1:" + std::to_string(backendPort);
  const std::string library = built("examples/blog/libblog.so");
  Process broker({built("broker/loads-broker"), "--frontend", frontend, "--backend", backend});
  const std::string n = std::to_string(agents);
  Process sim({built("bench/loads-fleet-sim"), "--broker", backend, "--agents", n, "--library",
               library, "--rate", std::to_string(rate), "--results", results, "--exit-after-jobs",
               n, "--lifetime", "90"});
  auto welcomed = sim.readLine(30s);
  REQUIRE(welcomed);
  REQUIRE(welcomed->find("all " + n + " agents welcomed") != std::string::npos);

  // PING stays one line per state at any fleet size; --ping --agents lists them.
  auto ping = runCommand({built("master/loads-master"), "--broker", frontend, "--ping"}, 20s);
  REQUIRE(ping.code == 0);
  CHECK_THAT(ping.out,
             Catch::Contains("agents (" + n + "): " + n + " idle, 0 busy, 0 lost; 1 host"));
  CHECK(std::count(ping.out.begin(), ping.out.end(), '\n') <= 4);
  auto list =
      runCommand({built("master/loads-master"), "--broker", frontend, "--ping", "--agents"}, 20s);
  CHECK(countLines(list.out, " idle ") == static_cast<int>(agents));

  const std::string json = "/tmp/loads-fleet-test-" + std::to_string(::getpid()) + ".json";
  auto master =
      runCommand({built("master/loads-master"), "--broker", frontend, "--agents", n, library, "-u",
                  n, "-d", "3s", "--results", results, "--json", json, "-q"},
                 60s);
  INFO(master.out << master.err);
  REQUIRE(master.code == 0);
  REQUIRE(sim.wait(30s) == 0);
  const auto f = figures(sim.out());
  INFO(sim.out() << sim.err());
  CHECK(f.at("jobs") == agents);
  CHECK(f.at("jobs-ended") == agents);
  CHECK(f.at("errors") == 0);
  CHECK(f.at("last-job-us") - f.at("first-job-us") < 5'000'000);  // every agent has its job

  std::ifstream in(json);
  const auto report = nlohmann::json::parse(in);
  std::remove(json.c_str());
  REQUIRE(f.at("hits") > agents * rate * 2);  // the run lasted its 3 s on every agent
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == f.at("hits"));
  CHECK(report["problems"].empty());
  REQUIRE(report["agents"].size() == agents);
  std::uint64_t sent = 0, received = 0;
  for (const auto& agent : report["agents"]) {
    sent += agent["eventsSent"].get<std::uint64_t>();
    received += agent["eventsReceived"].get<std::uint64_t>();
  }
  CHECK(sent == f.at("events"));
  CHECK(received == sent);
}

}  // namespace

TEST_CASE("200 simulated agents sending summaries: every job dispatched, the report exact",
          "[fleet]") {
  runFleet(200, "summary", 2000);
}

TEST_CASE("30 simulated agents sending raw events: the report exact", "[fleet]") {
  runFleet(30, "raw", 1000);
}
