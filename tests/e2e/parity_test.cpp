// A distributed run is the local run spread out (issue 10): the same command, run locally
// and over 1, 2, 3 and 7 agents (a real loads-broker, loads-agents and their slaves on
// loopback), compared report to report, and against what the target served.
//
// The library is tests/libs/parity.cpp: five tests with their own outcome, counters and
// request paths. Each run gets its own tag in --server-url (http://target/hit/TAG), so the
// target counts each run's requests per test path.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/cluster.hpp"
#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The JSON report keys this suite reads, in one place: a rename of the report's keys
// (schema 2) changes this table only.
namespace key {
const char* const kTests = "tests";            // [{name, ...}] per test
const char* const kName = "name";              // of a test or a request
const char* const kCounters = "counters";      // per test: {name: value}
const char* const kRequests = "requests";      // [{name, requests, failures}] per request name
const char* const kRequestCount = "requests";  // of a request name
const char* const kRequestFailures = "failures";
const char* const kSummary = "summary";
const char* const kPlannedRequests = "plannedRequests";  // summary
const char* const kProblems = "problems";
const char* const kAgents = "agents";  // distributed: one row per agent
const char* const kCycles = "cycles";  // one line per load cycle
// The figures of a cycle line compared exactly ("seconds" is not: wall time).
const std::vector<const char*> kCycleFigures = {
    "cycle",    "users",  "hitsPerUser", "hits",     "successes",
    "failures", "errors", "skips",       "requests", "requestFailures"};
// Per-test figures compared exactly (outcomes, starts, drops).
const std::vector<const char*> kTestFigures = {"started", "hits",  "successes", "failures",
                                               "errors",  "skips", "cancelled", "dropped"};
}  // namespace key

constexpr int kAgents = 7;  // the cluster's; runs use 1, 2, 3 or all 7
const std::vector<int> kSplits = {1, 2, 3, kAgents};

// What a run's report and the target say, with the run's tag taken out of names.
struct Figures {
  int exitCode = -1;
  std::map<std::string, std::map<std::string, std::int64_t>> tests;  // test → figure → value
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>
      requests;                                     // name → requests, failures
  std::map<std::string, std::uint64_t> served;      // the target's count per path of the run
  std::uint64_t planned = 0;                        // summary: requests planned (open model)
  std::vector<std::map<std::string, json>> cycles;  // per cycle line: figure → value
  json report;
};

std::string untagged(std::string name, const std::string& tag) {
  const std::string tagged = "/hit/" + tag + "/";
  if (auto at = name.find(tagged); at != std::string::npos)
    name.replace(at, tagged.size(), "/hit/TAG/");
  return name;
}

Figures figuresOf(const json& report, const json& stats, const std::string& tag, int code) {
  Figures f;
  f.exitCode = code;
  f.report = report;
  for (const auto& test : report.at(key::kTests)) {
    auto& row = f.tests[test.at(key::kName).get<std::string>()];
    for (const char* figure : key::kTestFigures) row[figure] = test.at(figure).get<std::int64_t>();
    for (const auto& [name, value] : test.at(key::kCounters).items()) {
      row["counter " + name] = value.get<std::int64_t>();
    }
  }
  for (const auto& request : report.at(key::kRequests)) {
    f.requests[untagged(request.at(key::kName).get<std::string>(), tag)] = {
        request.at(key::kRequestCount).get<std::uint64_t>(),
        request.at(key::kRequestFailures).get<std::uint64_t>()};
  }
  for (const auto& [path, n] : stats.at("paths").items()) {
    if (path.rfind("/hit/" + tag + "/", 0) == 0)
      f.served[untagged(path, tag)] = n.get<std::uint64_t>();
  }
  f.planned = report.at(key::kSummary).at(key::kPlannedRequests).get<std::uint64_t>();
  for (const auto& cycle : report.at(key::kCycles)) {
    auto& line = f.cycles.emplace_back();
    for (const char* figure : key::kCycleFigures) line[figure] = cycle.at(figure);
  }
  return f;
}

// One cluster of seven agents, on which a test case runs its command several times.
struct Parity {
  Cluster cluster{kAgents};
  int runs = 0;

  // Runs the parity library with `args`, locally (agents == 0) or over `agents` agents.
  Figures run(std::vector<std::string> args, int agents) {
    const std::string tag = "run" + std::to_string(++runs) + "-" + std::to_string(agents);
    const std::string report = cluster.dir + "/" + tag + ".json";
    std::vector<std::string> argv{
        built("master/loads-master"),
        built("tests/libs/libparity.so"),
        "-q",
        "--json",
        report,
        "--server-url",
        "http://127.0.0.1:" + std::to_string(cluster.targetPort) + "/hit/" + tag};
    if (agents > 0) {
      argv.insert(argv.end(), {"--broker", cluster.frontend, "--agents", std::to_string(agents)});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    auto done = runCommand(argv, 90s);
    INFO(tag << ": " << done.out << done.err);
    REQUIRE(done.code != 2);
    REQUIRE(done.code != 3);
    const json j = readJson(report);
    if (agents > 0) CHECK(j.at(key::kProblems).empty());
    const auto stats = json::parse(httpRequest(cluster.targetPort, "GET", "/stats"));
    return figuresOf(j, stats, tag, done.code);
  }
};

// Only the named figures of every test.
std::map<std::string, std::map<std::string, std::int64_t>> only(
    const Figures& f, const std::vector<std::string>& names) {
  std::map<std::string, std::map<std::string, std::int64_t>> out;
  for (const auto& [test, row] : f.tests) {
    for (const auto& name : names) {
      auto it = row.find(name);
      out[test][name] = it == row.end() ? 0 : it->second;
    }
  }
  return out;
}

// The report's requests agree with what the target served, path by path.
void checkServed(const Figures& f) {
  std::map<std::string, std::uint64_t> reported;
  for (const auto& [name, counts] : f.requests) {
    const auto space = name.find(' ');  // "GET /hit/TAG/get"
    reported[name.substr(space + 1)] += counts.first;
  }
  CHECK(reported == f.served);
  CHECK(!f.served.empty());
}

// Local, then over every split: every figure of every test, and every request name, equal.
void checkExactParity(Parity& p, const std::vector<std::string>& args) {
  const Figures local = p.run(args, 0);
  checkServed(local);
  for (int agents : kSplits) {
    INFO("over " << agents << " agents: " << args.size() << " arguments");
    const Figures spread = p.run(args, agents);
    CHECK(spread.exitCode == local.exitCode);
    CHECK(spread.tests == local.tests);
    CHECK(spread.requests == local.requests);
    CHECK(spread.served == local.served);
    CHECK(spread.cycles == local.cycles);
    checkServed(spread);
  }
}

}  // namespace

TEST_CASE(
    "with --hits, every split over agents gives the local run's tests, outcomes, counters and "
    "requests") {
  Parity p;
  checkExactParity(p, {"-u", "7", "--hits", "3"});
}

TEST_CASE("with --ramp, every split over agents gives the local run's figures exactly") {
  Parity p;
  checkExactParity(p, {"-u", "9", "--hits", "2", "--ramp", "300ms"});
}

TEST_CASE("load cycles run one after the other over the agents, as locally, line by line") {
  Parity p;
  // Four cycles: 7 users x 1 hit, 7 x 2, 9 x 1, 9 x 2; each split over the agents.
  checkExactParity(p, {"-u", "7:9", "--hits", "1:2"});
  const Figures f = p.run({"-u", "7:9", "--hits", "1:2"}, 3);
  REQUIRE(f.cycles.size() == 4);
  const std::vector<std::pair<int, int>> shapes = {{7, 1}, {7, 2}, {9, 1}, {9, 2}};
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    INFO("cycle " << i + 1);
    CHECK(f.cycles[i].at("users") == shapes[i].first);
    CHECK(f.cycles[i].at("hitsPerUser") == shapes[i].second);
    CHECK(f.cycles[i].at("hits") == shapes[i].first * shapes[i].second);
  }
  // Each cycle was one RUN on 3 agents: 12 agents rows, each naming its cycle.
  CHECK(f.report.at(key::kAgents).size() == 12);
}

TEST_CASE("5 tests, 7 users, 3 agents: user k runs test k mod 5, as locally") {
  Parity p;
  const Figures f = p.run({"-u", "7", "--hits", "4"}, 3);
  CHECK(f.exitCode == 1);  // test_fail and test_error
  // Users 0..6: tests 0,1,2,3,4,0,1 → test_get and test_post have 2 users, the others 1.
  const std::map<std::string, std::int64_t> users = {{"Parity.test_get", 2},
                                                     {"Parity.test_post", 2},
                                                     {"Parity.test_fail", 1},
                                                     {"Parity.test_error", 1},
                                                     {"Parity.test_skip", 1}};
  for (const auto& [test, n] : users) {
    INFO(test);
    REQUIRE(f.tests.count(test) == 1);
    const auto& row = f.tests.at(test);
    CHECK(row.at("counter users") == n);
    CHECK(row.at("hits") == n * 4);
  }
  CHECK(f.tests.at("Parity.test_fail").at("failures") == 4);
  CHECK(f.tests.at("Parity.test_error").at("errors") == 4);
  CHECK(f.tests.at("Parity.test_skip").at("skips") == 2);  // hits 2 and 4 of its one user
  CHECK(f.served.at("/hit/TAG/skip") == 8);
  checkServed(f);
  CHECK(f.report.at(key::kAgents).size() == 3);
}

TEST_CASE("with -d, every split over agents has the local run's users per test") {
  Parity p;
  const std::vector<std::string> args{"-u", "11", "-d", "1s"};
  const Figures local = p.run(args, 0);
  checkServed(local);
  const auto users = only(local, {"counter users"});
  for (int agents : kSplits) {
    INFO("over " << agents << " agents");
    const Figures spread = p.run(args, agents);
    CHECK(only(spread, {"counter users"}) == users);
    for (const auto& [test, row] : spread.tests) CHECK(row.at("hits") > 0);
    checkServed(spread);
  }
}

TEST_CASE("with --rate -d, every split over agents plans the local run's hits per test") {
  Parity p;
  // 60 arrivals over 5 tests; a pool of 14 is 2 users per agent at 7 agents.
  const std::vector<std::string> args{"--rate", "40", "-d", "1500ms", "--max-users", "14"};
  auto planned = [](const Figures& f) {
    std::map<std::string, std::int64_t> out;
    for (const auto& [test, row] : f.tests) out[test] = row.at("started") + row.at("dropped");
    return out;
  };
  const Figures local = p.run(args, 0);
  checkServed(local);
  const std::map<std::string, std::int64_t> expected = {{"Parity.test_error", 12},
                                                        {"Parity.test_fail", 12},
                                                        {"Parity.test_get", 12},
                                                        {"Parity.test_post", 12},
                                                        {"Parity.test_skip", 12}};
  CHECK(planned(local) == expected);
  for (int agents : kSplits) {
    INFO("over " << agents << " agents");
    const Figures spread = p.run(args, agents);
    CHECK(planned(spread) == expected);
    checkServed(spread);
  }
}

TEST_CASE("with --stages, every split over agents runs the local run's users per test") {
  Parity p;
  // Up to 8 users and back: users k < target(t) run, whichever agent has them.
  const std::vector<std::string> args{"--stages", "400ms:8,600ms:8,300ms:0"};
  const Figures local = p.run(args, 0);
  checkServed(local);
  const auto users = only(local, {"counter users"});
  std::int64_t total = 0;
  for (const auto& [test, row] : users) total += row.at("counter users");
  CHECK(total == 8);
  for (int agents : kSplits) {
    INFO("over " << agents << " agents");
    const Figures spread = p.run(args, agents);
    CHECK(only(spread, {"counter users"}) == users);
    checkServed(spread);
  }
}

TEST_CASE(
    "a --server-url that is not http(s) or ws(s) with a host is refused before any agent is asked "
    "for") {
  // No broker listens here: had the master asked one for agents, it would exit 3.
  const std::string nowhere = "tcp://127.0.0.1:" + std::to_string(freePort());
  for (const char* url : {"ht!tp://x", "http://", "127.0.0.1:8080", "ws://host:port"}) {
    auto run = runCommand({built("master/loads-master"), built("tests/libs/libparity.so"),
                           "--broker", nowhere, "--agents", "3", "-u", "3", "--server-url", url},
                          30s);
    INFO(url << ": " << run.err);
    CHECK(run.code == 2);
    CHECK_THAT(run.err, Catch::Contains(std::string("--server-url '") + url + "' is not usable"));
    CHECK(countLines(run.err, "loads-master:") == 1);
    CHECK(run.err.find("no broker answered") == std::string::npos);
  }
}

TEST_CASE("with weighted tests and --hits, every split over agents gives the local run's figures") {
  Parity p;
  // Weights 3:1:2 (user mix 2) over 13 users, 2 hits: every figure as locally.
  checkExactParity(p, {"--test", "Parity.test_get:3", "--test", "Parity.test_post:1", "--test",
                       "Parity.test_skip:2", "-u", "13", "--hits", "2"});
  // The weights themselves: slots get, skip, get, post, skip, get (smooth round robin of
  // 3:1:2) twice, then get: 7 users of test_get, 2 of test_post, 4 of test_skip.
  const Figures f = p.run({"--test", "Parity.test_get:3", "--test", "Parity.test_post:1", "--test",
                           "Parity.test_skip:2", "-u", "13", "--hits", "2"},
                          3);
  CHECK(f.tests.at("Parity.test_get").at("counter users") == 7);
  CHECK(f.tests.at("Parity.test_post").at("counter users") == 2);
  CHECK(f.tests.at("Parity.test_skip").at("counter users") == 4);
}
