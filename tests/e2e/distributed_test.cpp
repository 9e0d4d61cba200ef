// Distributed mode end to end on loopback: a real loads-broker, three loads-agent
// processes, loads-master --agents N and the example target. Every wait is bounded.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <zmq.hpp>

#include "support/cluster.hpp"
#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("with three agents the hits in the report are exactly the requests the target served") {
  Cluster cluster(3);
  const std::string json = cluster.dir + "/report.json";
  auto run = runCommand(
      cluster.master({"--agents", "3", "-u", "7", "--hits", "15", "--json", json}), 120s);
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);

  auto report = readJson(json);
  const std::uint64_t served = cluster.served();
  CHECK(served == 7 * 15);  // each hit of Blog makes one request, whichever test it runs
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == served);
  CHECK(report["allRequests"]["requests"].get<std::uint64_t>() == served);
  std::uint64_t perAgent = 0;
  REQUIRE(report["agents"].size() == 3);
  for (const auto& agent : report["agents"]) {
    CHECK(agent["events_sent"].get<std::uint64_t>() ==
          agent["events_received"].get<std::uint64_t>());
    CHECK(agent["hits"].get<std::uint64_t>() > 0);
    perAgent += agent["hits"].get<std::uint64_t>();
  }
  CHECK(perAgent == served);
  // Counters survive the trip: one home-visit per successful test_home hit.
  CHECK(report["counters"]["home-visits"].get<std::int64_t>() > 0);
  CHECK(report["problems"].empty());
  CHECK(cluster.agentsIn("idle") == 3);
}

TEST_CASE("an agent killed with -9 mid-run is named, the master keeps the rest and exits 3") {
  Cluster cluster(3);
  Process master(cluster.master({"--agents", "3", "-u", "3", "-d", "6s"}));
  REQUIRE(eventually([&] { return cluster.agentsIn("busy") == 3; }, 20s));
  ::kill(cluster.agents[1]->pid(), SIGKILL);
  auto code = master.wait(60s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(*code == 3);
  CHECK_THAT(master.err(), Catch::Contains("agent agent-1 on") && Catch::Contains("lost"));
  CHECK_THAT(master.out(), Catch::Contains("agent-0") && Catch::Contains("agent-2"));
  CHECK(cluster.served() > 0);
}

TEST_CASE("a slave killed with -9 is reported by its agent, which is idle again") {
  Cluster cluster(3);
  Process master(cluster.master({"--agents", "1", "-u", "2", "-d", "60s"}));
  REQUIRE(eventually([&] { return cluster.agentsIn("busy") == 1; }, 20s));
  pid_t slave = 0;
  REQUIRE(eventually(
      [&] {
        for (auto& a : cluster.agents) {
          if ((slave = Cluster::slaveOf(*a))) return true;
        }
        return false;
      },
      10s));
  ::kill(slave, SIGKILL);
  auto code = master.wait(30s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(*code == 3);
  CHECK_THAT(master.err(), Catch::Contains("killed by SIGKILL"));
  CHECK(eventually([&] { return cluster.agentsIn("idle") == 3; }, 10s));
}

TEST_CASE("asking for more agents than are idle exits 3 with the broker's sentence") {
  Cluster cluster(3);
  auto run = runCommand(cluster.master({"--agents", "5", "-u", "5", "--hits", "1"}), 30s);
  CHECK(run.code == 3);
  CHECK_THAT(run.err, Catch::Contains("asked for 5 agents, 3 are idle (3 registered)"));
}

TEST_CASE("no broker: one clear sentence and exit 3, in bounded time") {
  const std::string nowhere = "tcp://127.0.0.1:" + std::to_string(freePort());
  const auto start = Clock::now();
  auto run = runCommand({built("master/loads-master"), "--broker", nowhere, "--agents", "1",
                         built("examples/blog/libblog.so"), "--hits", "1"},
                        30s);
  CHECK(run.code == 3);
  CHECK_THAT(run.err, Catch::Contains("no broker answered at " + nowhere +
                                      ": start loads-broker or pass --broker"));
  CHECK(Clock::now() - start < 15s);
  auto ping = runCommand({built("master/loads-master"), "--broker", nowhere, "--ping"}, 30s);
  CHECK(ping.code == 3);
  CHECK_THAT(ping.err, Catch::Contains("no broker answered at " + nowhere));
}

TEST_CASE("a master that vanishes mid-run gets its run stopped on the agents") {
  Cluster cluster(3);
  {
    Process master(cluster.master({"--agents", "3", "-u", "3", "-d", "120s"}));
    REQUIRE(eventually([&] { return cluster.agentsIn("busy") == 3; }, 20s));
    master.signal(SIGKILL);
    REQUIRE(master.wait(10s));
  }
  CHECK(eventually([&] { return cluster.agentsIn("idle") == 3; }, 20s));
  auto ping = cluster.ping();
  CHECK_THAT(ping.out, Catch::Contains("runs in progress (0)"));
}

TEST_CASE("after a broker restart the agents register again by themselves") {
  Cluster cluster(3);
  cluster.broker->signal(SIGTERM);
  REQUIRE(cluster.broker->wait(10s));
  cluster.startBroker();
  REQUIRE(eventually([&] { return cluster.agentsIn("idle") == 3; }, 20s));
  auto run = runCommand(cluster.master({"--agents", "3", "-u", "3", "--hits", "4"}), 60s);
  INFO(run.out << run.err);
  CHECK(run.code == 0);
  CHECK(cluster.served() == 12);
}

TEST_CASE("Ctrl-C stops the run on every agent and still prints the report") {
  Cluster cluster(3);
  Process master(cluster.master({"--agents", "3", "-u", "3", "-d", "120s"}));
  REQUIRE(eventually([&] { return cluster.agentsIn("busy") == 3; }, 20s));
  master.signal(SIGINT);
  auto code = master.wait(30s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK_THAT(master.out(), Catch::Contains("Agents") && Catch::Contains("stopped"));
  CHECK(eventually([&] { return cluster.agentsIn("idle") == 3; }, 10s));
}

TEST_CASE("garbage on the master's results port is counted and dropped, the run stays exact") {
  Cluster cluster(3);
  const std::string results = "tcp://127.0.0.1:" + std::to_string(freePort());
  const std::string json = cluster.dir + "/report.json";
  Process master(cluster.master(
      {"--agents", "3", "-u", "3", "-d", "3s", "--results-bind", results, "--json", json}));
  REQUIRE(eventually([&] { return cluster.agentsIn("busy") == 3; }, 20s));
  zmq::context_t context(1);
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 2000);
  push.connect(results);
  const std::vector<std::string> garbage = {
      "random \x01\xff bytes",
      std::string("\x94\xa5LOADS\x01\xa7RESULTS"),                  // truncated envelope
      std::string("\x94\xa5LOADS\x01\xa7RESULTS\x93\x01\x02\x03"),  // header of wrong types
      std::string("\x94\xa5LOADS\x02\xa3RUN\x90"),                  // another version
  };
  for (const auto& g : garbage) push.send(zmq::buffer(g), zmq::send_flags::none);
  auto code = master.wait(60s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(*code == 0);
  auto report = readJson(json);
  CHECK(report["malformed_results"].get<std::uint64_t>() == garbage.size());
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == cluster.served());
  CHECK_THAT(master.err(), Catch::Contains("malformed messages on the results port were dropped"));
}

TEST_CASE("thresholds and WebSocket figures are judged on the merged data of all agents") {
  Cluster cluster(3);
  const std::string json = cluster.dir + "/ws.json";
  const std::string junit = cluster.dir + "/ws.xml";
  std::vector<std::string> argv{
      built("master/loads-master"), "--broker", cluster.frontend, built("tests/libs/libws.so"),
      "--test", "Ws.test_echo", "--server-url",
      "ws://127.0.0.1:" + std::to_string(cluster.targetPort), "-q", "--agents", "3", "-u", "6",
      "--hits", "4", "--json", json, "--junit", junit,
      // 6 users x 4 hits x 5 messages, summed over three agents
      "--threshold", "ws_msgs_sent:count==120", "--threshold", "ws_sessions:count==6",
      // cannot pass: makes the run exit 99
      "--threshold", "hits:count>1000"};
  auto run = runCommand(argv, 120s);
  INFO(run.out << run.err);
  CHECK(run.code == 99);
  auto report = readJson(json);
  auto stats = nlohmann::json::parse(httpRequest(cluster.targetPort, "GET", "/stats"));
  CHECK(report["sockets"]["opened"] == stats["ws"]["opened"]);
  CHECK(report["sockets"]["messagesSent"] == 120);
  CHECK(report["sockets"]["messagesReceived"] == stats["ws"]["messages"]);
  REQUIRE(report["thresholds"].size() == 3);
  bool passed[3];
  for (int i = 0; i < 3; ++i) {
    const auto& t = report["thresholds"][i];
    INFO(t.dump());
    passed[i] = t["pass"].get<bool>();
  }
  CHECK(passed[0]);
  CHECK(passed[1]);
  CHECK_FALSE(passed[2]);
  CHECK(std::filesystem::exists(junit));
  CHECK(report["problems"].empty());
}

TEST_CASE(
    "a rate over three agents: each follows its share of one schedule, the sum is exact, second by "
    "second") {
  // 30 users per agent ride out a 300 ms stall of a busy machine without dropping a hit.
  Cluster cluster(3);
  const std::string json = cluster.dir + "/rate.json";
  auto run = runCommand(cluster.master({"--agents", "3", "--test", "Blog.test_home", "--rate",
                                        "300", "-d", "3s", "--max-users", "90", "--json", json}),
                        120s);
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  auto report = readJson(json);
  const auto requests = report["summary"]["requests"].get<std::uint64_t>();
  CHECK(requests + report["summary"]["droppedHits"].get<std::uint64_t>() == 900);
  CHECK(requests == cluster.served());
  CHECK(report["summary"]["plannedRequests"] == requests);
  for (const auto& [source, n] : report["requestsBySource"].items()) CHECK(n == 300);
  // The per-second series splits every second by agent: each second's agents sum to its
  // requests, and each agent's seconds sum to its total.
  std::map<std::string, std::uint64_t> perAgent;
  std::uint64_t total = 0;
  for (const auto& second : report["seconds"]) {
    INFO(second.dump());
    std::uint64_t sum = 0;
    for (const auto& [source, n] : second["requestsBySource"].items()) {
      sum += n.get<std::uint64_t>();
      perAgent[source] += n.get<std::uint64_t>();
    }
    CHECK(sum == second["requests"].get<std::uint64_t>());
    total += sum;
  }
  CHECK(total == requests);
  REQUIRE(perAgent.size() == 3);
  for (const auto& [source, n] : report["requestsBySource"].items()) CHECK(perAgent[source] == n);
}

TEST_CASE("a master waiting for busy agents keeps its place until they are free") {
  // The broker's expiry here is 1 s (200 ms x 5): a waiting master must answer its
  // heartbeats, its own once a second are not enough.
  Cluster cluster(1);
  Process first(cluster.master({"--agents", "1", "-u", "1", "-d", "60s"}));
  REQUIRE(eventually([&] { return cluster.agentsIn("busy") == 1; }, 20s));
  Process second(
      cluster.master({"--agents", "1", "-u", "1", "--hits", "3", "--wait-agents", "30s"}));
  REQUIRE(eventually([&] { return countLines(cluster.ping().out, " waiting ") == 1; }, 10s));
  REQUIRE_FALSE(second.wait(8s).has_value());  // still waiting its turn after 8 expiries
  first.signal(SIGINT);
  REQUIRE(first.wait(30s));
  auto code = second.wait(30s);
  INFO(second.out() << second.err());
  REQUIRE(code);
  CHECK(*code == 0);
}

// --rebalance: an agent killed with -9 mid-run (its slave stops with it and reports what
// it did); the broker reports it lost after 5 heartbeats of 200 ms; the master re-splits
// the arrivals over the two others. From the new split's start on, every whole second
// must again carry the requested 200 hits/s.
TEST_CASE("with --rebalance the rate after an agent is lost is again the requested total") {
  Cluster cluster(3);
  const std::string json = cluster.dir + "/rebalance.json";
  const std::string html = cluster.dir + "/rebalance.html";
  Process master(
      cluster.master({"--agents", "3", "--test", "Blog.test_home", "--rate", "200", "-d", "10s",
                      "--max-users", "30", "--rebalance", "--json", json, "--html", html}));
  // The trigger: the target has served a second's worth of hits, so the run is under way.
  REQUIRE(eventually([&] { return cluster.served() >= 200; }, 30s));
  ::kill(cluster.agents[1]->pid(), SIGKILL);
  auto code = master.wait(90s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(*code == 0);  // a loss that was rebalanced is reported, not a failure

  auto report = readJson(json);
  REQUIRE(report["rebalances"].size() == 1);
  const auto& event = report["rebalances"][0];
  CHECK(event["lost"] == "agent-1");
  CHECK(event["count"] == 2);
  REQUIRE(event["shares"].size() == 2);
  // The survivors, in the order the broker gave them the run (not necessarily by id).
  std::set<std::string> survivors{event["shares"][0]["id"], event["shares"][1]["id"]};
  CHECK(survivors == std::set<std::string>{"agent-0", "agent-2"});
  CHECK(event["shares"][0]["users"].get<int>() + event["shares"][1]["users"].get<int>() == 30);

  // Whole seconds from the new split to the schedule's end (time 0 + 10 s).
  const std::int64_t appliesUs = event["applies_at_us"];
  const std::int64_t endUs = appliesUs - event["from_ms"].get<std::int64_t>() * 1000 + 10'000'000;
  const std::int64_t first = (appliesUs + 999'999) / 1'000'000,
                     last = endUs / 1'000'000;  // [first, last)
  std::uint64_t after = 0, seconds = 0;
  std::string series;
  for (const auto& s : report["seconds"]) {
    const std::int64_t t = s["t"];
    series += std::to_string(s["requests"].get<std::uint64_t>()) + (t == first ? "| " : " ");
    if (t < first || t >= last) continue;
    // The schedule plans exactly 200 arrivals in any second; hits are counted by their
    // actual start, so a few may fall into the next second when a dispatcher wakes late
    // on this busy 2-core machine: 5 % (10 hits, 50 ms of lateness) per second.
    INFO("second " << t << ": " << s["requests"]);
    CHECK(s["requests"].get<double>() == Approx(200).epsilon(0.05));
    after += s["requests"].get<std::uint64_t>();
    ++seconds;
  }
  std::cerr << "rebalance e2e: requests per second (| = first whole second of the new split): "
            << series << "\n";
  REQUIRE(seconds >= 4);
  // Over all whole seconds after the split the lateness cancels out: within 1 %.
  CHECK(static_cast<double>(after) / seconds == Approx(200).epsilon(0.01));

  // Every hit the target served is in the report, the lost agent's included.
  const auto requests = report["summary"]["requests"].get<std::uint64_t>();
  CHECK(requests == cluster.served());
  std::uint64_t perAgent = 0, lostHits = 0;
  for (const auto& agent : report["agents"]) {
    perAgent += agent["hits"].get<std::uint64_t>();
    if (agent["id"] == "agent-1") {
      CHECK(agent["state"] == "lost");
      lostHits = agent["hits"];
    }
  }
  CHECK(perAgent == requests);
  CHECK(lostHits > 0);
  std::cerr << "rebalance e2e: " << requests << " requests (" << lostHits << " by the lost agent), "
            << cluster.served() << " served, " << report["summary"]["droppedHits"] << " dropped, "
            << after << " in " << seconds << " whole seconds after the split\n";
  CHECK_THAT(master.out(),
             Catch::Contains("Rebalanced (--rebalance)") && Catch::Contains("agent agent-1 on"));
  std::ifstream page(html);
  std::string text((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("Rebalanced") && Catch::Contains("agent-1"));
}

// --rebalance with a closed run: 7 users on 3 agents (3, 2, 2). Agent 1 is killed; the
// survivors take 4 and 3 users, so every whole second after the re-split has 7 users.
TEST_CASE("with --rebalance a closed run keeps its total users after an agent is lost") {
  Cluster cluster(3);
  const std::string json = cluster.dir + "/rebalance-users.json";
  Process master(
      cluster.master({"--agents", "3", "-u", "7", "-d", "8s", "--rebalance", "--json", json}));
  REQUIRE(eventually([&] { return cluster.served() >= 20; }, 30s));
  ::kill(cluster.agents[1]->pid(), SIGKILL);
  auto code = master.wait(90s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(*code == 0);
  auto report = readJson(json);
  REQUIRE(report["rebalances"].size() == 1);
  const auto& event = report["rebalances"][0];
  CHECK(event["lost"] == "agent-1");
  REQUIRE(event["shares"].size() == 2);
  CHECK(event["shares"][0]["users"] == 4);
  CHECK(event["shares"][1]["users"] == 3);
  // Whole seconds from one second after the re-split to one before the end: all 7 run.
  const std::int64_t from = event["applies_at_us"].get<std::int64_t>() / 1'000'000 + 2;
  std::int64_t lastT = 0;
  for (const auto& s : report["seconds"]) lastT = std::max<std::int64_t>(lastT, s["t"]);
  int seconds = 0;
  std::string series;
  for (const auto& s : report["seconds"]) {
    const std::int64_t t = s["t"];
    series += std::to_string(s["users"].get<int>()) + (t + 1 == from ? "| " : " ");
    if (t < from || t >= lastT - 1) continue;
    INFO("second " << t);
    CHECK(s["users"] == 7);
    ++seconds;
  }
  std::cerr << "rebalance e2e (users): active users per second (| = checked from here): " << series
            << "\n";
  CHECK(seconds >= 1);
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == cluster.served());
}

// Issue #11: two agents, every hit another path. The master keeps --max-names names, the
// rest count as (other), and the report still counts every request the target served.
TEST_CASE("past --max-names on two agents every request is still counted, as (other)") {
  Cluster cluster(2);
  const std::string json = cluster.dir + "/report.json";
  auto argv = cluster.master(
      {"--agents", "2", "-u", "4", "--hits", "150", "--max-names", "25", "--json", json});
  argv[3] = built("bench/libdistinct_paths.so");
  auto run = runCommand(argv, 120s);
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  auto report = readJson(json);
  // The target counts each /hit/u/N under its own path: the distinct paths it served.
  const auto stats = nlohmann::json::parse(httpRequest(cluster.targetPort, "GET", "/stats"));
  std::uint64_t served = 0;
  for (const auto& [path, n] : stats["paths"].items()) {
    if (path.rfind("/hit/u/", 0) == 0) served += n.get<std::uint64_t>();
  }
  CHECK(served == 4 * 150);
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == served);
  REQUIRE(report["requests"].size() == 26);
  // Each named row says what the target served on its path; (other) holds all the rest.
  std::uint64_t other = 0, named = 0;
  for (const auto& r : report["requests"]) {
    const std::string name = r["name"];
    const auto n = r["requests"].get<std::uint64_t>();
    if (name == "(other)") {
      other = n;
      continue;
    }
    named += n;
    REQUIRE(name.rfind("GET ", 0) == 0);
    CHECK(n == stats["paths"].value(name.substr(4), std::uint64_t{0}));
  }
  CHECK(other > 0);
  CHECK(other + named == served);
  REQUIRE(report["overflows"].size() == 1);
  CHECK(report["overflows"][0]["events"].get<std::uint64_t>() == other);
  CHECK(run.out.find(report["overflows"][0]["sentence"].get<std::string>()) != std::string::npos);
}
