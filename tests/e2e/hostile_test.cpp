// Hostile peers against the real daemons on loopback (issue 12): a raw ZMTP peer that
// sends what libzmq never sends, and peers that ask for more than they read. Memory is
// the daemon's own, read from /proc. Every wait is bounded.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <iostream>

#include "support/cluster.hpp"
#include "support/process.hpp"
#include "support/raw_zmtp.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::uint64_t kAttack = 1024 * kMiB;  // 1 GiB sent, in 1,024 frames of 1 MiB
constexpr std::uint64_t kBound = 256 * kMiB;    // the daemon may grow by less than this

int portOf(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

// Sends 1 GiB of never-finished message to `port`; returns how much the process `pid`
// grew at its peak and prints it for docs/reliability.md.
std::uint64_t peakGrowth(int pid, int port, const std::string& socketType, const std::string& what) {
  const std::uint64_t before = residentBytes(pid);
  REQUIRE(before > 0);
  const std::uint64_t cut = floodUnfinished(port, socketType, kAttack, kMiB);
  const std::uint64_t growth = peakResidentBytes(pid) - before;
  std::cout << what << ": 1 GiB of unfinished message, peak growth " << growth / kMiB
            << " MiB, connection cut " << cut << " times" << std::endl;
  return growth;
}

}  // namespace

TEST_CASE("an unfinished multipart message cannot grow the broker by its size, on either socket") {
  Cluster cluster(0);
  const int pid = cluster.broker->pid();
  CHECK(peakGrowth(pid, portOf(cluster.frontend), "DEALER", "broker frontend") < kBound);
  CHECK(peakGrowth(pid, portOf(cluster.backend), "DEALER", "broker backend") < kBound);
  // It still serves.
  auto ping = cluster.ping();
  INFO(ping.out << ping.err);
  CHECK(ping.code == 0);
}

TEST_CASE("an unfinished multipart message cannot grow the master by its size at its results port") {
  Cluster cluster(0);
  const int resultsPort = freePort();
  // No agent registers: the master waits for one with its results socket bound.
  Process master(cluster.master({"--agents", "1", "--wait-agents", "60s", "--results-bind",
                                 "tcp://127.0.0.1:" + std::to_string(resultsPort)}));
  REQUIRE(eventually([&] { return cluster.ping().out.find("waiting") != std::string::npos; }, 20s));
  CHECK(peakGrowth(master.pid(), resultsPort, "PUSH", "master results port") < kBound);
  CHECK(!master.wait(0ms));  // still waiting for its agent, not crashed
}
