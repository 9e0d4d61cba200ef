// The wire contract end to end (PROTOCOL.md): the run's span from the slaves' own times,
// duplicate agent ids, and slaves that are any program honouring §10. Real loads-broker,
// loads-agent and loads-master processes and the example target on loopback; every wait
// is bounded.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/cluster.hpp"
#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;

namespace {

// An executable shell script at `path`.
std::string script(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  ::chmod(path.c_str(), 0755);
  return path;
}

std::string freshDir(const std::string& name) {
  const auto dir = std::filesystem::path(tempPath(name));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Runs loads-master on the cluster with --json and these arguments; the report, after
// checking the master exited 0.
nlohmann::json runReport(const Cluster& cluster, std::vector<std::string> extra) {
  const std::string json = cluster.dir + "/report.json";
  extra.insert(extra.end(), {"--json", json});
  auto run = runCommand(cluster.master(extra), 120s);
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  return readJson(json);
}

}  // namespace

TEST_CASE("two agents whose slaves run 0-1 s and 2-3 s make a run of 3 s, not 1 s") {
  // Agent 1's slave starts late (as after a slow library transfer): its wrapper waits
  // until agent 0's slave has ended, lets 1 s pass, then runs the real slave with the
  // agent's arguments. So the slaves run one after the other with a gap of at least
  // 1 s, each for at least its 1 s duration: the run lasts at least 3 s, while the last
  // slave alone (what arrival times measured) lasts about 1 s.
  const std::string dir = freshDir("staggered");
  const std::string slave = built("agent/loads-slave");
  const std::string first = script(
      dir + "/first-slave", slave + " \"$@\"\ncode=$?\ntouch " + dir + "/first-done\nexit $code\n");
  const std::string late =
      script(dir + "/late-slave", "for i in $(seq 600); do [ -e " + dir +
                                      "/first-done ] && break; sleep 0.1; done\n"
                                      "sleep 1\nexec " +
                                      slave + " \"$@\"\n");
  ClusterArgs args;
  args.agent = [&](int i) {
    return std::vector<std::string>{"--slave-binary", i == 0 ? first : late};
  };
  Cluster cluster(2, args);
  const auto report = runReport(cluster, {"--agents", "2", "-u", "2", "-d", "1s"});
  const auto& summary = report["summary"];
  const double seconds = summary["durationSeconds"].get<double>();
  const double eventSpan = static_cast<double>(summary["lastEventUs"].get<std::int64_t>() -
                                               summary["firstEventUs"].get<std::int64_t>()) /
                           1e6;
  INFO("durationSeconds " << seconds << ", events span " << eventSpan << " s");
  CHECK(seconds >= 3.0);
  CHECK(seconds >= eventSpan - 0.2);  // the run covers its events (arrival adds a flush)
  CHECK(summary["requests"].get<std::uint64_t>() == cluster.served());
}

TEST_CASE("a second agent with a live agent's id exits 2 naming the id, the first keeps working") {
  Cluster cluster(1);  // agent-0
  Process twin({built("agent/loads-agent"), "--broker", cluster.backend, "--id", "agent-0",
                "--heartbeat", "200ms", "--cache-dir", cluster.dir + "/cache-twin"});
  auto code = twin.wait(20s);
  INFO(twin.out() << twin.err());
  REQUIRE(code);
  CHECK(*code == 2);
  CHECK_THAT(twin.out() + twin.err(),
             Catch::Contains("already has a live agent with the id \"agent-0\": give each agent "
                             "its own --id"));
  // The first was never displaced: it runs a job, and registered exactly once.
  auto run = runCommand(cluster.master({"--agents", "1", "-u", "2", "--hits", "3"}), 60s);
  INFO(run.out << run.err);
  CHECK(run.code == 0);
  CHECK(cluster.served() == 6);
  cluster.agents[0]->signal(SIGTERM);
  REQUIRE(cluster.agents[0]->wait(10s));
  CHECK(countLines(cluster.agents[0]->out() + cluster.agents[0]->err(), "registered with") == 1);
}

namespace {

// The Python runner on a cluster of two agents; with `secured`, CURVE on every socket and
// the run key on the results stream (PROTOCOL.md §9.3, §10).
void pythonRunnerRun(bool secured) {
  const std::string runner =
      std::string(LOADS_SOURCE_DIR) + "/examples/python_runner/loads_runner.py";
  const std::string keys = freshDir("runner-keys");
  ClusterArgs args;
  args.agent = [&](int i) {
    std::vector<std::string> a{"--slave-binary", runner};
    if (secured) {
      a.insert(a.end(), {"--key", keys + "/agents/agent-" + std::to_string(i) + ".key",
                         "--broker-key", keys + "/broker.pub"});
    }
    return a;
  };
  if (secured) {
    for (const auto& [sub, names] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"", {"broker"}}, {"/masters", {"master"}}, {"/agents", {"agent-0", "agent-1"}}}) {
      std::vector<std::string> argv{built("security/loads-keys"), "--dir", keys + sub};
      argv.insert(argv.end(), names.begin(), names.end());
      REQUIRE(runCommand(argv, 20s).code == 0);
    }
    args.broker = {"--key",           keys + "/broker.key", "--allow-masters",
                   keys + "/masters", "--allow-agents",     keys + "/agents"};
    args.master = {"--key", keys + "/masters/master.key", "--broker-key", keys + "/broker.pub"};
  }
  Cluster cluster(2, args);
  // 5 users over 2 agents (3 + 2), 7 hits each: every hit is one GET of the target.
  const auto report = runReport(cluster, {"--agents", "2", "-u", "5", "--hits", "7"});
  const std::uint64_t served = cluster.served();
  CHECK(served == 5 * 7);
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == served);
  REQUIRE(report["tests"].size() == 1);
  CHECK(report["tests"][0]["name"] == "PythonRunner.test_get");
  CHECK(report["problems"].empty());
  REQUIRE(report["agents"].size() == 2);
  std::uint64_t hits = 0;
  for (const auto& agent : report["agents"]) hits += agent["requests"].get<std::uint64_t>();
  CHECK(hits == served);
}

}  // namespace

TEST_CASE(
    "an external runner in Python runs a job through a real broker and agent, every hit counted") {
  // examples/python_runner: a slave written from PROTOCOL.md §10 alone, no loads code.
  pythonRunnerRun(false);
}

TEST_CASE("the Python runner sends its results with the run key when the fleet runs CURVE") {
  pythonRunnerRun(true);
}

TEST_CASE("a STOP reaches the Python runner as SIGTERM: it reports every hit it made and exits 0") {
  const std::string runner =
      std::string(LOADS_SOURCE_DIR) + "/examples/python_runner/loads_runner.py";
  ClusterArgs args;
  args.agent = [&](int) { return std::vector<std::string>{"--slave-binary", runner}; };
  Cluster cluster(2, args);
  const std::string json = cluster.dir + "/report.json";
  Process master(cluster.master({"--agents", "2", "-u", "4", "-d", "120s", "--json", json}));
  REQUIRE(eventually([&] { return cluster.agentsIn("busy") == 2 && cluster.served() > 0; }, 20s));
  master.signal(SIGINT);  // the master sends STOP, the agents SIGTERM their runners
  auto code = master.wait(30s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(*code == 0);
  const auto report = readJson(json);
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == cluster.served());
  CHECK(report["problems"].empty());
  CHECK(eventually([&] { return cluster.agentsIn("idle") == 2; }, 10s));
}
