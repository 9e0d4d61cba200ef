// The slave's process group (issue 12.9): a test library that starts a process and then
// hangs, deaf to stop requests. STOP must end both, and so must the death of the agent.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/cluster.hpp"
#include "support/process.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;

namespace {

// Gone, or a zombie nobody has reaped yet (what init does in its own time).
bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() &&
         (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
}

pid_t readPid(const std::string& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  return in >> pid ? pid : 0;
}

// A cluster of one agent whose slaves write the pid of the process they start to `pidfile`.
struct StuckRun {
  std::string pidfile;
  std::unique_ptr<Cluster> cluster;
  std::unique_ptr<Process> master;
  pid_t slave = 0, grandchild = 0;

  StuckRun() {
    static int counter = 0;
    pidfile = std::filesystem::temp_directory_path() /
              ("loads-stuck-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    ::setenv("LOADS_STUCK_PIDFILE", pidfile.c_str(), 1);  // the agent and its slave inherit it
    cluster = std::make_unique<Cluster>(1);
    ::unsetenv("LOADS_STUCK_PIDFILE");
    master = std::make_unique<Process>(std::vector<std::string>{
        built("master/loads-master"), "--broker", cluster->frontend, "--agents", "1",
        built("tests/libs/libstuck.so"), "-u", "1", "-d", "120s", "--stop-timeout", "1s", "-q"});
    REQUIRE(eventually([&] { return (grandchild = readPid(pidfile)) > 0; }, 30s));
    slave = Cluster::slaveOf(*cluster->agents[0]);
    REQUIRE(slave > 0);
    REQUIRE_FALSE(gone(grandchild));
  }
  ~StuckRun() {
    for (pid_t pid : {grandchild, slave}) {
      if (pid > 0 && !gone(pid)) ::kill(pid, SIGKILL);  // a failed check leaves nothing behind
    }
    std::filesystem::remove(pidfile);
  }
};

}  // namespace

TEST_CASE("STOP ends the slave and the processes its test started, even when the test hangs") {
  StuckRun run;
  run.master->signal(SIGINT);  // STOP: SIGTERM to the group, SIGKILL after the 3 s grace
  CHECK(eventually([&] { return gone(run.slave) && gone(run.grandchild); }, 20s));
  CHECK(run.master->wait(30s));
  INFO(run.master->err());
  CHECK_THAT(run.master->err() + run.master->out(),
             Catch::Contains("killed after the grace period"));
}

TEST_CASE("a hung slave whose agent died is killed with the processes it started") {
  StuckRun run;
  run.cluster->agents[0]->signal(SIGKILL);
  // PR_SET_PDEATHSIG stops the run, which the test ignores; the slave's watchdog kills
  // its group a stop timeout (1 s) and 5 s later.
  CHECK(eventually([&] { return gone(run.slave) && gone(run.grandchild); }, 20s));
}
