// Hostile peers against the real daemons on loopback (issue 12): a raw ZMTP peer that
// sends what libzmq never sends, and peers that ask for more than they read. Memory is
// the daemon's own, read from /proc. Every wait is bounded.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <iostream>
#include <optional>
#include <zmq.hpp>

#include "proto/messages.hpp"
#include "support/cluster.hpp"
#include "support/process.hpp"
#include "support/raw_zmtp.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kMiB = 1u << 20;
constexpr std::uint64_t kAttack = 1024 * kMiB;  // 1 GiB sent, in 1,024 frames of 1 MiB
constexpr std::uint64_t kBound = 256 * kMiB;    // the daemon may grow by less than this

int portOf(const std::string& endpoint) {
  return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

// Sends 1 GiB of never-finished message to `port`; returns how much the process `pid`
// grew at its peak and prints it for docs/reliability.md.
// How much `pid` grew at its peak since `before` (its VmRSS when the peak was reset).
std::uint64_t growthSince(int pid, std::uint64_t before) {
  const std::uint64_t peak = peakResidentBytes(pid);
  return peak > before ? peak - before : 0;
}

// The process's resident size now, with its peak reset to it.
std::uint64_t baseline(int pid) {
  REQUIRE(resetPeakResident(pid));
  const std::uint64_t before = residentBytes(pid);
  REQUIRE(before > 0);
  return before;
}

std::uint64_t peakGrowth(int pid, int port, const std::string& socketType,
                         const std::string& what) {
  const std::uint64_t before = baseline(pid);
  const std::uint64_t cut = floodUnfinished(port, socketType, kAttack, kMiB);
  const std::uint64_t growth = growthSince(pid, before);
  std::cout << what << ": 1 GiB of unfinished message, peak growth " << growth / kMiB
            << " MiB, connection cut " << cut << " times" << std::endl;
  return growth;
}

// A DEALER playing a master or an agent with libzmq, as the real ones do.
class Peer {
 public:
  // `receiveQueue`: messages its libzmq takes off the TCP connection before the test reads.
  Peer(zmq::context_t& context, const std::string& endpoint, int receiveQueue = 1000)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvhwm, receiveQueue);
    socket_.set(zmq::sockopt::rcvbuf, 64 * 1024);
    socket_.connect(endpoint);
  }
  template <class T>
  void send(const T& message) {
    socket_.send(zmq::buffer(loads::proto::encode(message)), zmq::send_flags::none);
  }
  // The next message of type T within `timeout`, answering the broker's heartbeats meanwhile.
  template <class T>
  std::optional<T> expect(std::chrono::seconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::message_t message;
      if (!socket_.recv(message, zmq::recv_flags::dontwait)) {
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, 100ms);
        continue;
      }
      auto envelope = loads::proto::decodeEnvelope(message.to_string_view());
      if (!envelope) continue;
      if (envelope->type == loads::proto::MessageType::kHeartbeat) send(loads::proto::Heartbeat{});
      if (envelope->type != T::kType) continue;
      auto body = loads::proto::decodeBody<T>(envelope.value());
      if (body) return body.value();
    }
    return std::nullopt;
  }

 private:
  zmq::socket_t socket_;
};

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

TEST_CASE(
    "an unfinished multipart message cannot grow the master by its size at its results port") {
  Cluster cluster(0);
  const int resultsPort = freePort();
  // No agent registers: the master waits for one with its results socket bound.
  Process master(cluster.master({"--agents", "1", "--wait-agents", "60s", "--results-bind",
                                 "tcp://127.0.0.1:" + std::to_string(resultsPort)}));
  REQUIRE(eventually([&] { return cluster.ping().out.find("waiting") != std::string::npos; }, 20s));
  CHECK(peakGrowth(master.pid(), resultsPort, "PUSH", "master results port") < kBound);
  CHECK(!master.wait(0ms));  // still waiting for its agent, not crashed
}

TEST_CASE(
    "an agent that asks for the library 100 times and reads nothing costs the broker two libraries "
    "at most") {
  namespace proto = loads::proto;
  ClusterArgs args;
  args.liveness = 50;  // 10 s: the fake agent and master heartbeat only while they wait
  Cluster cluster(0, args);
  zmq::context_t context;
  proto::Run run;
  run.libraryName = "libbig.so";
  run.library.resize(16 * kMiB);
  for (std::size_t i = 0; i < run.library.size(); ++i)
    run.library[i] = static_cast<char>(i * 7919 >> 3);
  run.librarySha256 = proto::sha256Hex(run.library);
  run.options.hits = 1;
  run.resultsEndpoint = "tcp://127.0.0.1:9";
  // Reads nothing: its libzmq stops taking from the connection after one message, so
  // what the broker sends it stays queued in the broker.
  Peer agent(context, cluster.backend, 1);
  proto::Hello hello;
  hello.agentId = "greedy";
  hello.host = "h";
  hello.libraries = {run.librarySha256};  // claims the library is cached
  agent.send(hello);
  REQUIRE(agent.expect<proto::Welcome>());
  Peer master(context, cluster.frontend);
  master.send(run);
  auto accepted = master.expect<proto::RunAccepted>();
  REQUIRE(accepted);
  auto job = agent.expect<proto::Job>();
  REQUIRE(job);
  REQUIRE(job->library.empty());
  const int pid = cluster.broker->pid();
  const std::uint64_t before = baseline(pid);
  for (int i = 0; i < 100; ++i) agent.send(proto::NeedLibrary{accepted->runId, run.librarySha256});
  agent.send(proto::JobEnded{accepted->runId, 0, 0, ""});
  // AGENT-DONE comes after the broker has handled every NEED-LIBRARY of that connection.
  REQUIRE(master.expect<proto::AgentDone>());
  const std::uint64_t growth = growthSince(pid, before);
  std::cout << "100 NEED-LIBRARY unread, 16 MiB library: broker peak growth " << growth / kMiB
            << " MiB" << std::endl;
  CHECK(growth < 2 * run.library.size());
}

// Issue 12: the agent's limit was fixed at 64 MiB while the broker allowed up to 2 GiB, so
// a JOB between the two silently cut the agent's connection and the run lost the agent.
TEST_CASE("agents take the broker's --max-message-size: a 70 MiB library reaches the agent") {
  namespace proto = loads::proto;
  ClusterArgs args;
  args.broker = {"--max-message-size", "96MiB"};
  args.liveness = 50;  // 10 s: the fake master heartbeats only while it waits
  Cluster cluster(1, args);
  zmq::context_t context;
  proto::Run run;
  run.libraryName = "libnot-really.so";
  run.library.assign(70 * kMiB, 'L');
  run.librarySha256 = proto::sha256Hex(run.library);
  run.options.hits = 1;
  run.resultsEndpoint = "tcp://127.0.0.1:9";
  Peer master(context, cluster.frontend);
  master.send(run);
  REQUIRE(master.expect<proto::RunAccepted>(30s));
  // The agent got the bytes: it stored them and its slave failed to load them.
  auto done = master.expect<proto::AgentDone>(60s);
  INFO(cluster.agents[0]->err());
  REQUIRE(done);
  CHECK(done->exitCode != 0);
}
