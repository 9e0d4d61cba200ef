// Test data on real daemons (issue 16): a CSV shipped with --include and dealt by a unique
// feeder, --param values, and weighted tests, locally and over 3 agents of a real
// loads-broker on loopback. The target counts every path it served: each row id is a
// path of its own (/hit/TAG/row/ID), so "each row used exactly once" is "each of the
// 10,000 paths served exactly once".
//
// The library is tests/libs/data.cpp.
#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/cluster.hpp"
#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kRows = 10'000;

// rows.csv: a header, then kRows rows with ids r0..r9999 and names that need the CSV rules
// (quoted commas, doubled quotes, UTF-8), CRLF line ends.
std::string writeRows(const std::string& dir) {
  const std::string path = dir + "/rows.csv";
  std::ofstream out(path, std::ios::binary);
  out << "id,name,note\r\n";
  for (int i = 0; i < kRows; ++i) {
    out << "r" << i << ",\"Müller, Jörg " << i << "\",\"said \"\"hi\"\"\"\r\n";
  }
  return path;
}

struct Run {
  int code = -1;
  std::string output;
  json report;
  std::map<std::string, std::uint64_t> served;  // the run's paths, tag taken out
};

struct DataCluster {
  Cluster cluster{3};
  std::string rows = writeRows(cluster.dir);
  int runs = 0;

  // loads-master with the data library, its paths under /hit/TAG, its JSON report in
  // TAG.json, over `agents` agents (0 = locally).
  std::vector<std::string> master(const std::string& tag, int agents,
                                  const std::vector<std::string>& args) const {
    std::vector<std::string> argv{
        built("master/loads-master"),
        built("tests/libs/libdata.so"),
        "-q",
        "--json",
        cluster.dir + "/" + tag + ".json",
        "--server-url",
        "http://127.0.0.1:" + std::to_string(cluster.targetPort) + "/hit/" + tag};
    if (agents > 0) {
      argv.insert(argv.end(), {"--broker", cluster.frontend, "--agents", std::to_string(agents)});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  Run run(std::vector<std::string> args, int agents) {
    const std::string tag = "run" + std::to_string(++runs) + "-" + std::to_string(agents);
    const std::string report = cluster.dir + "/" + tag + ".json";
    auto done = runCommand(master(tag, agents, args), 120s);
    Run r;
    r.code = done.code;
    r.output = tag + ": " + done.out + done.err;
    INFO(r.output);
    REQUIRE(done.code != 2);
    REQUIRE(done.code != 3);
    r.report = readJson(report);
    const auto stats = json::parse(httpRequest(cluster.targetPort, "GET", "/stats"));
    const std::string prefix = "/hit/" + tag;
    for (const auto& [path, n] : stats.at("paths").items()) {
      if (path.rfind(prefix + "/", 0) == 0) r.served[path.substr(prefix.size())] = n;
    }
    return r;
  }
};

std::uint64_t skips(const Run& r) {
  std::uint64_t n = 0;
  for (const auto& test : r.report.at("tests")) n += test.at("skips").get<std::uint64_t>();
  return n;
}

// Every row id served exactly once, and nothing else.
void checkEachRowOnce(const Run& r) {
  INFO(r.output);
  std::uint64_t once = 0, other = 0;
  for (const auto& [path, n] : r.served) {
    if (path.rfind("/row/r", 0) == 0 && n == 1) {
      ++once;
    } else {
      ++other;
      UNSCOPED_INFO(path << " served " << n << " times");
    }
  }
  CHECK(once == kRows);
  CHECK(other == 0);
}

}  // namespace

TEST_CASE(
    "a unique feeder over 3 agents uses each of 10,000 rows exactly once, then ends the run") {
  DataCluster d;
  // 30 users with up to 2 minutes: the rows run out long before, and end the run.
  for (int agents : {0, 3}) {
    const auto start = std::chrono::steady_clock::now();
    const Run r =
        d.run({"--include", d.rows, "--test", "Rows.test_row", "-u", "30", "-d", "120s"}, agents);
    INFO("over " << agents << " agents: " << r.output);
    CHECK(r.code == 0);
    checkEachRowOnce(r);
    CHECK(std::chrono::steady_clock::now() - start < 100s);
    CHECK(skips(r) >= 1);  // the hits that found the rows used up, one per user at most
    CHECK(skips(r) <= 30);
    const json& include = r.report.at("run").at("options").at("include");
    REQUIRE(include.size() == 1);
    CHECK(include[0].at("name") == "rows.csv");
    if (agents > 0) CHECK(r.report.at("problems").empty());
  }
}

TEST_CASE(
    "with --hits beyond the rows and skip chosen, each row is used once and the rest skipped") {
  DataCluster d;
  // 7 users x 1,500 hits = 10,500 hits for 10,000 rows: exactly 500 skipped.
  const Run r = d.run({"--include", d.rows, "--test", "Rows.test_row", "-u", "7", "--hits", "1500",
                       "--param", "exhausted=skip"},
                      3);
  CHECK(r.code == 0);
  checkEachRowOnce(r);
  CHECK(skips(r) == 500);
  CHECK(r.report.at("run").at("options").at("params").at("exhausted") == "skip");
}

// --rebalance with a unique feeder. Agent-1 leaves mid-run in one of two ways:
// - killed (-9): its slave stops with it, and its last results say exactly how many rows
//   it dealt; the master gives the rest of its rows to the two others with the new split;
// - stopped (SIGSTOP) until the broker reports it lost, then killed: while its slave may
//   still run, its rows stay with it; they move once its slave has ended.
// Either way the others deal them after their own: every row is served exactly once over
// the whole run, and the report says what the lost agent dealt.
TEST_CASE("with --rebalance the rows of an agent that left mid-run go to the others, each once") {
  const bool stopFirst = GENERATE(false, true);
  DataCluster d;
  const std::string tag = stopFirst ? "stopped" : "killed";
  const std::string report = d.cluster.dir + "/" + tag + ".json";
  Process master(d.master(tag, 3,
                          {"--rebalance", "--include", d.rows, "--test", "Rows.test_row", "-u", "7",
                           "-d", "120s", "--param", "pause-ms=5"}));
  auto rowsServed = [&] {
    const auto stats = json::parse(httpRequest(d.cluster.targetPort, "GET", "/stats"));
    std::uint64_t n = 0;
    for (const auto& [path, count] : stats.at("paths").items()) {
      if (path.rfind("/hit/" + tag + "/row/", 0) == 0) n += count.get<std::uint64_t>();
    }
    return n;
  };
  // The trigger: a tenth of the rows are served, so every agent deals.
  REQUIRE(eventually([&] { return rowsServed() >= kRows / 10; }, 60s));
  const pid_t agent = d.cluster.agents[1]->pid();
  if (stopFirst) {
    ::kill(agent, SIGSTOP);
    const bool rebalanced = eventually(
        [&] {
          master.wait(50ms);  // reads what the master printed so far
          return master.err().find("rebalancing: agent agent-1") != std::string::npos;
        },
        30s);
    ::kill(agent, SIGKILL);
    REQUIRE(rebalanced);
    CHECK(master.err().find("with its unique rows") == std::string::npos);
  } else {
    ::kill(agent, SIGKILL);
  }
  const auto code = master.wait(120s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(*code == 0);  // a rebalanced loss is reported, not a failure
  Run r;
  r.output = master.out() + master.err();
  r.report = readJson(report);
  const auto stats = json::parse(httpRequest(d.cluster.targetPort, "GET", "/stats"));
  for (const auto& [path, n] : stats.at("paths").items()) {
    if (path.rfind("/hit/" + tag + "/", 0) == 0) r.served[path.substr(tag.size() + 5)] = n;
  }
  checkEachRowOnce(r);
  REQUIRE(r.report.at("rebalances").size() == 1);
  const json& event = r.report.at("rebalances")[0];
  CHECK(event.at("lost") == "agent-1");
  const json& rows = event.at("rows");
  CHECK(rows.at("final") == true);
  CHECK(rows.at("moved") == true);
  if (stopFirst) CHECK(rows.at("movedAtMs").get<std::uint64_t>() > event.at("atMs"));
  REQUIRE(rows.at("feeds").size() == 1);
  CHECK(rows.at("feeds")[0].at("feed") == "rows.csv");
  // What it dealt is what it asked the target for.
  for (const json& a : r.report.at("agents")) {
    if (a.at("id") == "agent-1") {
      CHECK(rows.at("feeds")[0].at("dealt") == a.at("requests"));
      CHECK(a.at("requests").get<std::uint64_t>() > 0);
    }
  }
  CHECK(r.report.at("problems").empty());
}

// Test code that crashes: the slave that deals row 1,500 aborts before asking for it. Its
// parent resends what the slave recorded, claims included; the master gives the rows past
// its claims to the two others. The rows it had claimed ahead and not used (row 1,500
// among them) stay unused; every other row is served exactly once.
TEST_CASE("with --rebalance the rows of a slave that crashed go to the others, none twice") {
  DataCluster d;
  const std::string tag = "crashed";
  const std::string report = d.cluster.dir + "/crashed.json";
  auto done =
      runCommand(d.master(tag, 3,
                          {"--rebalance", "--include", d.rows, "--test", "Rows.test_row", "-u", "7",
                           "-d", "120s", "--param", "crash-at-row=1500", "--param", "pause-ms=2"}),
                 150s);
  INFO(done.out << done.err);
  const json r = readJson(report);
  REQUIRE(r.at("rebalances").size() == 1);
  const json& event = r.at("rebalances")[0];
  const std::string lost = event.at("lost");
  const json& rows = event.at("rows");
  CHECK(rows.at("final") == false);  // it crashed: what it dealt is what it claimed
  CHECK(rows.at("moved") == true);
  REQUIRE(rows.at("feeds").size() == 1);
  const std::uint64_t claimed = rows.at("feeds")[0].at("dealt");
  std::uint64_t lostRequests = 0;
  for (const json& a : r.at("agents")) {
    if (a.at("id") == lost) {
      lostRequests = a.at("requests");
      CHECK(a.at("eventsSent") == a.at("eventsReceived"));  // its parent sent the rest
    }
  }
  CHECK(r.at("crashes").size() == 1);
  CHECK(done.code == 3);  // a crash is a failure of the run, rebalanced or not
  // Served: each row at most once; missing: exactly the claimed rows it did not ask for.
  const auto stats = json::parse(httpRequest(d.cluster.targetPort, "GET", "/stats"));
  std::set<std::string> served;
  for (const auto& [path, n] : stats.at("paths").items()) {
    if (path.rfind("/hit/" + tag + "/row/r", 0) != 0) continue;
    CHECK(n.get<std::uint64_t>() == 1);
    served.insert(path);
  }
  CHECK(served.count("/hit/" + tag + "/row/r1500") == 0);
  // Its claimed rows are those it asked for, those it had not used yet (left unused), and
  // the requests its other users had in flight at the crash: served, never recorded (what
  // a crash costs, docs/distributed.md): at most one for each of its other 1 or 2 users.
  const std::uint64_t unused = kRows - served.size();
  REQUIRE(claimed >= unused + lostRequests);
  CHECK(claimed - unused - lostRequests <= 2);
  CHECK(unused >= 1);
  CHECK(unused <= claimed / 8 + 16);  // at most one block claimed ahead
}

TEST_CASE("run parameters reach config() on every agent and the report run section") {
  DataCluster d;
  for (int agents : {0, 3}) {
    const Run r = d.run({"--test", "Params.test_echo", "-u", "5", "--hits", "4", "--param",
                         "tenant=acme", "--param", "repeat=3"},
                        agents);
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(r.served == std::map<std::string, std::uint64_t>{{"/param/acme", 20}});
    CHECK(r.report.at("counters").at("repeat") == 60);  // 20 hits x 3
    CHECK(r.report.at("run").at("options").at("params") ==
          json({{"repeat", "3"}, {"tenant", "acme"}}));
  }
}

TEST_CASE("a test file that is not included is one clear error on every agent, not a hang") {
  DataCluster d;
  const Run r = d.run({"--test", "Rows.test_row", "-u", "3", "--hits", "2"}, 3);
  INFO(r.output);
  CHECK(r.code == 1);  // every hit is an error: the file is not part of the run
  std::uint64_t errors = 0;
  for (const auto& test : r.report.at("tests")) errors += test.at("errors").get<std::uint64_t>();
  CHECK(errors == 6);
  CHECK(r.report.at("errors").dump().find("--include rows.csv") != std::string::npos);
}

TEST_CASE("registered weights deal users 3:1, the same over 1, 2 and 3 agents as locally") {
  DataCluster d;
  // 8 users: slots heavy, heavy, light, heavy (3:1 smooth round robin) twice: 6 and 2.
  const std::map<std::string, std::uint64_t> expected{{"/heavy", 12}, {"/light", 4}};
  for (int agents : {0, 1, 2, 3}) {
    const Run r = d.run({"--test", "Weighted", "-u", "8", "--hits", "2"}, agents);
    INFO(r.output);
    CHECK(r.served == expected);
  }
  // --test overrides the registration: 1:1 is user mix 1, k mod 2.
  const Run r = d.run({"--test", "Weighted.test_heavy:1", "--test", "Weighted.test_light:1", "-u",
                       "8", "--hits", "2"},
                      3);
  CHECK(r.served == std::map<std::string, std::uint64_t>{{"/heavy", 8}, {"/light", 8}});
}

TEST_CASE("a bad weight or a missing data file is exit 2 with one sentence, before any run") {
  for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--test", "Weighted.test_heavy:0"}, "the weight after ':' must be a whole number"},
           {{"--test", "Weighted.test_heavy:x"}, "the weight after ':' must be a whole number"},
           {{"--include", "/nonexistent/rows.csv"},
            "--include /nonexistent/rows.csv: no such file"},
       }) {
    std::vector<std::string> argv{built("master/loads-master"), built("tests/libs/libdata.so"),
                                  "-u", "1"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto done = runCommand(argv, 30s);
    INFO(done.err);
    CHECK(done.code == 2);
    CHECK_THAT(done.err, Catch::Contains(expected));
    CHECK(countLines(done.err, "loads-master:") == 1);
  }
}
