// Faults during real distributed runs on loopback: a broker, two agents, a master and
// the example target, and one daemon (broker, an agent, a slave, the master) killed with
// SIGKILL, paused with SIGSTOP/SIGCONT, or killed and started again, at a random moment.
// After each: no daemon that was not killed died, the master ended in bounded time with
// the exit code of docs/reliability.md, every request the target served is either in the
// report or missing from an agent the report names, and the cluster runs an exact run again.
//
// The moments and pauses come from one seeded RNG. The seed is printed; set
// LOADS_FAULT_SEED=N to repeat a failing case exactly as it ran.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>

#include "proto/messages.hpp"
#include "support/cluster.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

enum class Daemon { kBroker, kAgent, kSlave, kMaster };
enum class Fault { kKill, kPause, kRestart };

constexpr int kAgents = 2;
constexpr int kUsers = 4;
// The broker's expiry (200 ms heartbeat x liveness 10): a peer silent this long is lost.
// Twice the e2e tests' 1 s, so that a daemon starved of CPU on a loaded machine is not lost.
constexpr int kLiveness = 10;
constexpr milliseconds kExpiry{200 * kLiveness};

std::uint64_t seedFor(const std::string& testName) {
  std::uint64_t seed = 0;
  if (const char* fixed = std::getenv("LOADS_FAULT_SEED")) {
    seed = std::strtoull(fixed, nullptr, 10);
  } else {
    seed = std::random_device{}();
  }
  std::cout << testName << ": seed " << seed << " (LOADS_FAULT_SEED=" << seed << " repeats it)"
            << std::endl;
  return seed;
}

milliseconds between(std::mt19937_64& rng, milliseconds low, milliseconds high) {
  return milliseconds(std::uniform_int_distribution<long>(low.count(), high.count())(rng));
}

// The tagged library against /hit/TAG of the target: each user's requests on their own path.
std::vector<std::string> taggedMaster(const Cluster& cluster, const std::string& tag,
                                      std::vector<std::string> extra) {
  std::vector<std::string> argv{
      built("master/loads-master"),
      "--broker",
      cluster.frontend,
      built("tests/libs/libtagged.so"),
      "--server-url",
      "http://127.0.0.1:" + std::to_string(cluster.targetPort) + "/hit/" + tag,
      "-q",
      "--agents",
      std::to_string(kAgents),
      "-u",
      std::to_string(kUsers)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// Requests the target served for agent `index` of the run tagged `tag` (its users' paths:
// agent i has the run's users k = i, i + n, ..., with ids k + 1).
std::uint64_t servedFor(const nlohmann::json& stats, const std::string& tag, std::uint32_t index) {
  std::uint64_t n = 0;
  for (std::uint32_t k = index; k < kUsers; k += kAgents) {
    n += stats["paths"].value("/hit/" + tag + "/" + std::to_string(k + 1), std::uint64_t{0});
  }
  return n;
}

// Every request the target served for the run is in the report, or missing from an agent
// whose tally is incomplete (lost, or sent != received) and which `problems` names.
// Returns the requests served but not in the report.
std::uint64_t checkAccounting(const Cluster& cluster, const nlohmann::json& report,
                              const std::string& tag) {
  const auto stats = nlohmann::json::parse(httpRequest(cluster.targetPort, "GET", "/stats"));
  const std::string problems = report["problems"].dump();
  std::uint64_t missing = 0, hits = 0;
  REQUIRE(report["agents"].size() == kAgents);
  for (const auto& agent : report["agents"]) {
    const auto id = agent["id"].get<std::string>();
    const auto served = servedFor(stats, tag, agent["index"].get<std::uint32_t>());
    const auto agentHits = agent["requests"].get<std::uint64_t>();
    const bool complete =
        !agent["eventsSent"].is_null() && agent["eventsSent"] == agent["eventsReceived"];
    INFO(id << ": served " << served << ", in the report " << agentHits << ", " << agent.dump());
    std::cout << "  " << id << ": target served " << served << ", report has " << agentHits
              << (complete ? " (complete)"
                           : " (incomplete: " + agent["state"].get<std::string>() + ")")
              << std::endl;
    CHECK(served >= agentHits);  // the report never has a hit the target did not serve
    if (complete && agent["signal"] == 0 && agent["state"] != "lost") {
      CHECK(served == agentHits);
    } else if (complete) {
      // A slave killed mid-run: its agent sent what it had recorded (issue #19), so no
      // event is missing, but a request its other users had in flight was served and never
      // answered to them: at most one per user of the agent. The same bound when the agent
      // was lost and its slave's stream still came whole (its signal then is not in the
      // report: the master had stopped listening to that agent).
      CHECK(served - agentHits <= kUsers / kAgents);
    } else {
      CHECK_THAT(problems, Catch::Contains("agent " + id + " on"));
    }
    missing += served - std::min(served, agentHits);
    hits += agentHits;
  }
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == hits);
  return missing;
}

// True while the process runs (it was neither killed nor crashed).
bool alive(Process& p) { return !p.wait(0ms); }

struct FaultRun {
  Daemon daemon;
  Fault fault;
  std::mt19937_64 rng;
  Cluster cluster{kAgents, ClusterArgs{.liveness = kLiveness}};
  std::size_t victimAgent = 0;
  milliseconds paused{0};
  milliseconds pauseLow{300}, pauseHigh{4000};  // the range a pause is drawn from
  bool brokerDown = false, agentDown = false;
  // An agent restarted: from its kill until the new one said it was registered (an upper
  // bound: the broker registered it before the agent heard so).
  std::optional<milliseconds> reRegistered;

  FaultRun(Daemon d, Fault f, const std::string& name) : daemon(d), fault(f), rng(seedFor(name)) {
    victimAgent = std::uniform_int_distribution<std::size_t>(0, kAgents - 1)(rng);
  }

  // The pid the fault hits; the master's is given.
  pid_t victim(Process& master) {
    switch (daemon) {
      case Daemon::kBroker:
        return cluster.broker->pid();
      case Daemon::kAgent:
        return cluster.agents[victimAgent]->pid();
      case Daemon::kSlave:
        return Cluster::slaveOf(*cluster.agents[victimAgent]);
      case Daemon::kMaster:
        return master.pid();
    }
    return 0;
  }

  // At a random moment of the run (the moment is the point: this sleep is not synchronisation).
  void strike(Process& master) {
    std::this_thread::sleep_for(between(rng, 200ms, 2000ms));
    const pid_t pid = victim(master);
    REQUIRE(pid > 0);
    if (fault == Fault::kPause) {
      paused = between(rng, pauseLow, pauseHigh);
      std::cout << "  pausing pid " << pid << " for " << paused.count() << " ms" << std::endl;
      ::kill(pid, SIGSTOP);
      std::this_thread::sleep_for(paused);
      ::kill(pid, SIGCONT);
      return;
    }
    const auto killedAt = std::chrono::steady_clock::now();
    ::kill(pid, SIGKILL);
    brokerDown = daemon == Daemon::kBroker;
    agentDown = daemon == Daemon::kAgent;
    if (fault == Fault::kRestart) restart();
    if (fault == Fault::kRestart && daemon == Daemon::kAgent && victimRegistered(10s)) {
      reRegistered =
          std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killedAt);
      std::cout << "  the new agent was registered " << reRegistered->count()
                << " ms after the kill" << std::endl;
    }
  }

  // Waits until the victim agent (after a restart: the new one) says the broker registered
  // it; false after `timeout`.
  bool victimRegistered(milliseconds timeout) {
    Process& agent = *cluster.agents[victimAgent];
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (agent.out().find("registered with") == std::string::npos &&
           agent.err().find("registered with") == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline || agent.wait(5ms)) return false;
    }
    return true;
  }

  void restart() {
    if (daemon == Daemon::kBroker) {
      REQUIRE(cluster.broker->wait(10s));
      cluster.startBroker();
      brokerDown = false;
    } else if (daemon == Daemon::kAgent) {
      REQUIRE(cluster.agents[victimAgent]->wait(10s));
      cluster.startAgent(victimAgent);
      agentDown = false;
    }
  }

  // Daemons that were not killed are still running.
  void checkSurvivors() {
    CHECK(alive(*cluster.target));
    if (!brokerDown) CHECK(alive(*cluster.broker));
    for (std::size_t i = 0; i < cluster.agents.size(); ++i) {
      INFO("agent-" << i << " " << cluster.agents[i]->err());
      if (!(agentDown && i == victimAgent)) CHECK(alive(*cluster.agents[i]));
    }
  }

  // Starts what stayed dead, then an exact run must follow.
  // With `waitIdle` false the master starts at once and lets the broker wait for agents
  // (a master restarted while the agents still end the killed master's run).
  void checkRecovery(bool waitIdle = true) {
    if (brokerDown) cluster.startBroker();
    if (agentDown) cluster.startAgent(victimAgent);
    if (waitIdle) REQUIRE(eventually([&] { return cluster.agentsIn("idle") == kAgents; }, 20s));
    const std::string json = cluster.dir + "/after.json";
    auto run = runCommand(
        taggedMaster(cluster, "after", {"--hits", "5", "--wait-agents", "20s", "--json", json}),
        60s);
    INFO(run.out << run.err);
    REQUIRE(run.code == 0);
    auto report = readJson(json);
    CHECK(checkAccounting(cluster, report, "after") == 0);
    CHECK(report["summary"]["requests"].get<std::uint64_t>() == kUsers * 5);
  }
};

// One fault during a 3 s run; returns the master's exit code and its report.
struct Outcome {
  int code;
  nlohmann::json report;
  std::uint64_t missing;
  std::string err;
};

Outcome runWithFault(FaultRun& f) {
  const std::string json = f.cluster.dir + "/faulted.json";
  Process master(taggedMaster(f.cluster, "faulted", {"-d", "3s", "--json", json}));
  REQUIRE(eventually([&] { return f.cluster.agentsIn("busy") == kAgents; }, 20s));
  REQUIRE(eventually([&] { return Cluster::slaveOf(*f.cluster.agents[f.victimAgent]) > 0; }, 10s));
  f.strike(master);
  auto code = master.wait(60s);  // no run may hang: the master's own bounds are far below this
  INFO(master.out() << master.err());
  if (!code) {
    for (auto& a : f.cluster.agents) std::cout << a->err();
    std::cout << f.cluster.ping().out << f.cluster.broker->err() << std::endl;
  }
  REQUIRE(code);
  std::cout << "  master exit " << *code << "\n" << master.err() << std::endl;
  f.checkSurvivors();
  if (f.daemon == Daemon::kMaster && f.fault != Fault::kPause) return {*code, {}, 0, master.err()};
  auto report = readJson(json);
  const auto missing = checkAccounting(f.cluster, report, "faulted");
  // The exit code says whether anything is amiss, and the report says what.
  CHECK((*code == 3) == !report["problems"].empty());
  return {*code, report, missing, master.err()};
}

// Exit 3, and the master named the victim agent and said `what` happened to it.
void checkNamed(const Outcome& out, const FaultRun& f, const std::string& what) {
  CHECK(out.code == 3);
  CHECK_THAT(out.err, Catch::Contains("agent agent-" + std::to_string(f.victimAgent) + " on") &&
                          Catch::Contains(what));
}

}  // namespace

std::string testName() { return Catch::getResultCapture().getCurrentTestName(); }

TEST_CASE("fault: the broker killed mid-run") {
  FaultRun f(Daemon::kBroker, Fault::kKill, testName());
  auto out = runWithFault(f);
  CHECK(out.code == 3);
  CHECK_THAT(out.report["problems"].dump(), Catch::Contains("went silent"));
  f.checkRecovery();
}

TEST_CASE("fault: the broker paused mid-run") {
  FaultRun f(Daemon::kBroker, Fault::kPause, testName());
  // Longer than the expiry: the agents and the master were silent only because the broker
  // did not read them, and it must not call them lost when it wakes up. Shorter than the
  // agents' second reconnection (silence L x H, then 1 s of backoff, L x H, 2 s): a broker
  // that sleeps through that is rightly told the agents are gone (docs/reliability.md).
  f.pauseLow = kExpiry * 6 / 5;
  f.pauseHigh = kExpiry * 19 / 10;
  auto out = runWithFault(f);
  CHECK(out.code == 0);
  CHECK(out.missing == 0);
  f.checkRecovery();
}

TEST_CASE("fault: the broker restarted mid-run") {
  FaultRun f(Daemon::kBroker, Fault::kRestart, testName());
  auto out = runWithFault(f);
  CHECK(out.code == 3);
  f.checkRecovery();
}

TEST_CASE("fault: an agent killed mid-run") {
  FaultRun f(Daemon::kAgent, Fault::kKill, testName());
  checkNamed(runWithFault(f), f, "lost");
  f.checkRecovery();
}

TEST_CASE("fault: an agent paused mid-run") {
  FaultRun f(Daemon::kAgent, Fault::kPause, testName());
  auto out = runWithFault(f);
  // Silent for less than the expiry it is still there; well over it, it is lost.
  if (f.paused < kExpiry / 2) CHECK(out.code == 0);
  if (f.paused > kExpiry * 3 / 2) checkNamed(out, f, "lost");
  if (out.code == 0) CHECK(out.missing == 0);
  f.checkRecovery();
}

TEST_CASE("fault: an agent restarted mid-run") {
  FaultRun f(Daemon::kAgent, Fault::kRestart, testName());
  auto out = runWithFault(f);
  // The new agent registers under the old one's id, and the broker tells the master the old
  // one is gone. The old one's last heartbeat came at most one interval (200 ms) before the
  // kill, so its expiry is at least 1,800 ms after it: a new agent registered before then
  // (1,600 ms, leaving room for the broker's timer) was seen as a restart. On a starved
  // machine the new one may come up only after the expiry: lost all the same, for no
  // heartbeat.
  REQUIRE(f.reRegistered);
  if (*f.reRegistered < kExpiry - 400ms) {
    checkNamed(out, f, "lost (agent restarted)");
  } else {
    checkNamed(out, f, "lost (");
  }
  f.checkRecovery();
}

TEST_CASE("fault: a slave killed mid-run") {
  FaultRun f(Daemon::kSlave, Fault::kKill, testName());
  checkNamed(runWithFault(f), f, "killed by SIGKILL");
  f.checkRecovery();
}

TEST_CASE("fault: a slave paused mid-run") {
  FaultRun f(Daemon::kSlave, Fault::kPause, testName());
  auto out = runWithFault(f);
  CHECK(out.code == 0);
  CHECK(out.missing == 0);
  f.checkRecovery();
}

TEST_CASE("fault: the master killed mid-run") {
  FaultRun f(Daemon::kMaster, Fault::kKill, testName());
  auto out = runWithFault(f);
  CHECK(out.code == 128 + SIGKILL);
  f.checkRecovery();  // the broker stopped the orphaned run: the agents are idle again
}

TEST_CASE("fault: the master paused mid-run") {
  FaultRun f(Daemon::kMaster, Fault::kPause, testName());
  auto out = runWithFault(f);
  if (f.paused < kExpiry / 2) CHECK(out.code == 0);
  f.checkRecovery();
}

TEST_CASE("fault: the master killed and a new one started at once") {
  FaultRun f(Daemon::kMaster, Fault::kRestart, testName());
  auto out = runWithFault(f);
  CHECK(out.code == 128 + SIGKILL);
  f.checkRecovery(false);
}

namespace {

// A cgroup v1 CPU quota for single threads: what is put in it runs at most `quota` per
// `period` (the kernel's smallest quota is 1 ms, its longest period 1 s). Removed (its
// threads back to the root group) at the end.
struct CpuQuota {
  std::string dir;
  CpuQuota(const std::string& name, std::chrono::microseconds quota,
           std::chrono::microseconds period)
      : dir("/sys/fs/cgroup/cpu/" + name + "-" + std::to_string(::getpid())) {
    INFO("a CPU quota needs a writable cgroup v1 cpu hierarchy at /sys/fs/cgroup/cpu");
    REQUIRE(std::filesystem::create_directory(dir));
    REQUIRE(bool(std::ofstream(dir + "/cpu.cfs_period_us") << period.count() << std::endl));
    REQUIRE(bool(std::ofstream(dir + "/cpu.cfs_quota_us") << quota.count() << std::endl));
  }
  // How many periods its threads were throttled in.
  std::uint64_t throttled() const {
    std::ifstream stat(dir + "/cpu.stat");
    for (std::string key; stat >> key;) {
      std::uint64_t value = 0;
      stat >> value;
      if (key == "nr_throttled") return value;
    }
    return 0;
  }
  void add(pid_t tid) { std::ofstream(dir + "/tasks") << tid << std::endl; }
  ~CpuQuota() {
    std::ifstream tasks(dir + "/tasks");
    for (std::string tid; std::getline(tasks, tid);) {
      std::ofstream("/sys/fs/cgroup/cpu/tasks") << tid << std::endl;
    }
    ::rmdir(dir.c_str());
  }
};

// The thread of process `pid` named `name` (/proc/PID/task/TID/comm); 0 when there is none.
pid_t threadNamed(pid_t pid, const std::string& name) {
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm == name) return std::stoi(task.path().filename().string());
  }
  return 0;
}

}  // namespace

// The master's results thread gets 1 ms of CPU a second from the run's start, so its
// backlog (8,000 requests, 32,000 events) outlasts the agents by seconds. How long it takes
// depends on what a starved thread's event costs: 11–30 s in full runs, 73–115 s for twice
// the events on an evening when the machine was slower (so 2,000 hits a user, not 4,000). The
// master must read the backlog to its end, not give up a fixed time after the agents ended and
// report their STOP-TEST-RUN missing.
TEST_CASE("fault: the master's results thread far behind the agents") {
  Cluster cluster(kAgents, ClusterArgs{.liveness = kLiveness});
  CpuQuota quota("loads-fault-starved", 1000us, 1000000us);
  const std::string json = cluster.dir + "/behind.json";
  // Raw events: summaries leave the results thread too little work to fall behind. 4,000
  // hits a user: with 2,000 the backlog of a faster receiver (c7946e2) outlasted the
  // agents by 3 s only, on a busy machine.
  constexpr int kHits = 4000;
  Process master(taggedMaster(
      cluster, "behind", {"--hits", std::to_string(kHits), "--json", json, "--results", "raw"}));
  pid_t receiver = 0;
  REQUIRE(
      eventually([&] { return (receiver = threadNamed(master.pid(), "loads-results")) > 0; }, 20s));
  quota.add(receiver);
  auto code = master.wait(120s);
  INFO(master.out() << master.err());
  REQUIRE(code);
  CHECK(quota.throttled() > 3);  // the backlog outlasted the agents by more than 3 s
  const auto report = readJson(json);
  CHECK(report["problems"].empty());
  CHECK(checkAccounting(cluster, report, "behind") == 0);
  CHECK(report["summary"]["requests"].get<std::uint64_t>() == kUsers * kHits);
  CHECK(*code == 0);
}
