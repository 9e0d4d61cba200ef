// Test code that crashes (issue #19), end to end on loopback: the crash library
// (tests/libs/crash.cpp) makes one request per hit and crashes its slave at a chosen hit.
// Locally and over two real agents the master outlives the crash, exits 3, names the
// test, user and hit with a stack that has the library's frames, and loses nothing: the
// target's own count of what it served equals the report's requests exactly.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "support/cluster.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;

namespace {

// Crash user 1 at this hit, in every process started from here on (agents, slaves).
void crashAt(std::uint64_t hit, std::uint64_t user = 1) {
  ::setenv("LOADS_CRASH_USER", std::to_string(user).c_str(), 1);
  ::setenv("LOADS_CRASH_HIT", std::to_string(hit).c_str(), 1);
}

std::uint64_t servedCrashPath(int port) {
  auto stats = nlohmann::json::parse(httpRequest(port, "GET", "/stats"));
  return stats["paths"].value("/crash", std::uint64_t{0});
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether some frame of the crash is of the crash library and names `function`.
bool hasLibraryFrame(const nlohmann::json& crash, const std::string& function) {
  for (const auto& frame : crash["frames"]) {
    if (frame["module"] == "libcrash.so" &&
        frame["function"].get<std::string>().find(function) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("locally, a null pointer at hit 1,500 loses no event and is explained with its stack") {
  crashAt(1500);
  TargetProcess target;
  const std::string json = tempPath("crash-local.json");
  const std::string html = tempPath("crash-local.html");
  auto run =
      runMaster({built("tests/libs/libcrash.so"), "--test", "Crash.test_null", "-u", "1", "--hits",
                 "3000", "--server-url", target.url(), "-q", "--json", json, "--html", html},
                60s);
  INFO(run.out << run.err);
  CHECK(run.code == 3);
  const std::uint64_t served = servedCrashPath(target.port());
  CHECK(served == 1500);  // the crashing hit's request was made and recorded
  auto report = readJson(json);
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == served);
  REQUIRE(report["crashes"].size() == 1);
  const auto& crash = report["crashes"][0];
  CHECK(crash["signalName"] == "SIGSEGV");
  CHECK(crash["test"] == "Crash.test_null");
  CHECK(crash["user"] == 1);
  CHECK(crash["hit"] == 1500);
  CHECK(crash["agent"].is_null());
  CHECK(hasLibraryFrame(crash, "dereferenceNull"));
  CHECK(run.err.find("killed by SIGSEGV in Crash.test_null (user 1, hit 1500)") !=
        std::string::npos);
  CHECK(readFile(html).find("dereferenceNull") != std::string::npos);
}

TEST_CASE("locally, abort, std::terminate, a stack overflow and a SIGKILL are each explained") {
  crashAt(20);
  TargetProcess target;
  struct Kind {
    const char* test;
    const char* signal;
    const char* words;  // in the description
  };
  for (const Kind& kind : {Kind{"test_abort", "SIGABRT", "in Crash.test_abort (user 1, hit 20)"},
                           Kind{"test_terminate", "SIGABRT", "thrown by a destructor"},
                           Kind{"test_overflow", "SIGSEGV", "stack overflow"},
                           Kind{"test_killed", "SIGKILL", "out-of-memory killer"}}) {
    DYNAMIC_SECTION(kind.test) {
      const std::uint64_t before = servedCrashPath(target.port());
      const std::string json = tempPath(std::string("crash-") + kind.test + ".json");
      // Three users: the other two keep running until the crash takes their slave down.
      auto run =
          runMaster({built("tests/libs/libcrash.so"), "--test", std::string("Crash.") + kind.test,
                     "-u", "3", "--hits", "40", "--server-url", target.url(), "-q", "--json", json},
                    60s);
      INFO(run.out << run.err);
      CHECK(run.code == 3);
      auto report = readJson(json);
      REQUIRE(report["crashes"].size() == 1);
      const auto& crash = report["crashes"][0];
      CHECK(crash["signalName"] == kind.signal);
      CHECK(crash["description"].get<std::string>().find(kind.words) != std::string::npos);
      // Never more in the report than was served; at most the other users' requests in
      // flight at the moment of the crash are missing (none are with one user).
      const std::uint64_t served = servedCrashPath(target.port()) - before;
      const auto requests = report["summary"]["requests"].get<std::uint64_t>();
      CHECK(requests <= served);
      CHECK(requests + 2 >= served);
      if (std::string(kind.signal) != "SIGKILL") {
        CHECK(crash["test"] == std::string("Crash.") + kind.test);
        CHECK(crash["hit"] == 20);
        CHECK(!crash["frames"].empty());
      }
    }
  }
}

TEST_CASE("without a loads-slave to run the tests in, one sentence and exit 2") {
  ::setenv("LOADS_SLAVE_BINARY", "/nonexistent/loads-slave", 1);
  auto run = runMaster(
      {built("tests/libs/libcrash.so"), "-u", "1", "--server-url", "http://127.0.0.1:1", "-q"});
  ::unsetenv("LOADS_SLAVE_BINARY");
  INFO(run.out << run.err);
  CHECK(run.code == 2);
  CHECK(run.err.find("cannot find loads-slave") != std::string::npos);
  CHECK(run.err.find("--in-process") != std::string::npos);
}

TEST_CASE("a slave that never records into its event ring is a problem of the run, exit 3") {
  ::setenv("LOADS_SLAVE_BINARY", "/bin/true", 1);  // exits 0 at once, records nothing
  auto run = runMaster(
      {built("tests/libs/libcrash.so"), "-u", "1", "--server-url", "http://127.0.0.1:1", "-q"});
  ::unsetenv("LOADS_SLAVE_BINARY");
  INFO(run.out << run.err);
  CHECK(run.code == 3);
  CHECK(run.err.find("never took its event ring") != std::string::npos);
}

TEST_CASE("with in-process the tests run in the master, as before") {
  crashAt(1000000);  // never
  TargetProcess target;
  const std::string json = tempPath("crash-in-process.json");
  auto run =
      runMaster({built("tests/libs/libcrash.so"), "--test", "Crash.test_fine", "-u", "3", "--hits",
                 "7", "--server-url", target.url(), "-q", "--in-process", "--json", json});
  INFO(run.out << run.err);
  CHECK(run.code == 0);
  CHECK(readJson(json)["summary"]["requests"] == 21);
  CHECK(servedCrashPath(target.port()) == 21);
}

TEST_CASE("over two agents, a crash at hit 300 loses no event and names the agent and its stack") {
  crashAt(300);
  Cluster cluster(2);
  const std::string json = cluster.dir + "/report.json";
  std::vector<std::string> argv = {built("master/loads-master"),
                                   "--broker",
                                   cluster.frontend,
                                   built("tests/libs/libcrash.so"),
                                   "--test",
                                   "Crash.test_null",
                                   "--server-url",
                                   "http://127.0.0.1:" + std::to_string(cluster.targetPort),
                                   "-q",
                                   "--agents",
                                   "2",
                                   "-u",
                                   "2",
                                   "--hits",
                                   "500",
                                   "--json",
                                   json};
  auto run = runCommand(argv, 120s);
  INFO(run.out << run.err);
  CHECK(run.code == 3);
  const std::uint64_t served = servedCrashPath(cluster.targetPort);
  CHECK(served == 300 + 500);  // user 1 up to its crash, user 2 all of its hits
  auto report = readJson(json);
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == served);
  REQUIRE(report["agents"].size() == 2);
  for (const auto& agent : report["agents"]) {
    REQUIRE(agent["eventsSent"].is_number());
    CHECK(agent["eventsSent"] == agent["eventsReceived"]);  // no missing events
  }
  REQUIRE(report["crashes"].size() == 1);
  const auto& crash = report["crashes"][0];
  CHECK(crash["agent"].is_string());
  CHECK(crash["test"] == "Crash.test_null");
  CHECK(crash["hit"] == 300);
  CHECK(hasLibraryFrame(crash, "dereferenceNull"));
  for (const auto& problem : report["problems"]) {  // the crash is the only problem
    CHECK(problem.get<std::string>().find("missing") == std::string::npos);
  }
  CHECK(eventually([&] { return cluster.agentsIn("idle") == 2; }, 10s));  // the agents live on
}

// Not the examples' shape: 7 users of all six tests over 3 agents (2 or 3 users each, fewer
// than the tests), so each slave runs another mix; user 3 (on the third agent, running
// test_terminate) ends its slave at hit 40 while user 6 on the same slave is mid-run. The
// other agents' 5 users run all their hits, nothing sent is lost, and the crash is named.
TEST_CASE(
    "over three agents with more tests than users, one slave's std::terminate loses nothing") {
  crashAt(40, 3);
  Cluster cluster(3);
  const std::string json = cluster.dir + "/report.json";
  auto run = runCommand(
      {built("master/loads-master"), "--broker", cluster.frontend, built("tests/libs/libcrash.so"),
       "--server-url", "http://127.0.0.1:" + std::to_string(cluster.targetPort), "-q", "--agents",
       "3", "-u", "7", "--hits", "100", "--json", json},
      120s);
  INFO(run.out << run.err);
  CHECK(run.code == 3);
  auto report = readJson(json);
  const std::uint64_t served = servedCrashPath(cluster.targetPort);
  // What a crash costs (docs/distributed.md): the request user 6 had in flight at that
  // instant may have been served and never answered to its test.
  const std::uint64_t reported = report["summary"]["requests"];
  CHECK(reported <= served);
  CHECK(served - reported <= 1);
  CHECK(served >= 5 * 100 + 40);  // the other agents' users in full, user 3 up to its crash
  CHECK(served < 7 * 100);
  REQUIRE(report["agents"].size() == 3);
  for (const auto& agent : report["agents"]) {
    REQUIRE(agent["eventsSent"].is_number());
    CHECK(agent["eventsSent"] == agent["eventsReceived"]);
  }
  REQUIRE(report["crashes"].size() == 1);
  CHECK(report["crashes"][0]["test"] == "Crash.test_terminate");
  CHECK(report["crashes"][0]["user"] == 3);
  CHECK(report["crashes"][0]["hit"] == 40);
  // Each test's hits: the users of the agents that did not crash all ran 100.
  std::map<std::string, std::uint64_t> hits;
  for (const auto& test : report["tests"]) hits[test["name"]] = test["hits"];
  CHECK(hits["Crash.test_null"] == 200);  // users 1 and 7
  CHECK(hits["Crash.test_abort"] == 100);
  CHECK(hits["Crash.test_overflow"] == 100);
  CHECK(hits["Crash.test_killed"] == 100);
  CHECK(hits["Crash.test_terminate"] == 39);  // the crashing hit's outcome is never recorded
  CHECK(eventually([&] { return cluster.agentsIn("idle") == 3; }, 10s));
}
