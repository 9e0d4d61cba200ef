// ResultsReceiver with CURVE (PROTOCOL.md §9.3): only the run key gets in; a slave with
// any other key is refused by the ZAP handler, logged with its key, and counted.
#include "master/results_receiver.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "agent/test_result_proxy.hpp"
#include "proto/results.hpp"
#include "security/curve.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;
using namespace std::chrono_literals;

namespace {

// One slave's whole stream (startTestRun, stopTestRun, STOP-TEST-RUN) with `key`.
agent::ProxyStats slaveSends(const std::string& endpoint, const std::string& agentId,
                             const proto::ResultsCurve& curve) {
  agent::ProxyOptions options{endpoint, "run-1", agentId};
  options.curve = curve;
  options.finishTimeout = 2000ms;
  agent::TestResultProxy proxy(options);
  proxy.startTestRun();
  proxy.stopTestRun();
  return proxy.finish();
}

}  // namespace

TEST_CASE("the results socket takes the run key only, and logs and counts any other key") {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));

  const security::KeyPair master = security::generateKeyPair();
  const security::KeyPair runKey = security::generateKeyPair();
  const security::KeyPair stranger = security::generateKeyPair();
  AggregateResult sink;
  master::ReceiverOptions options;
  options.key = master;
  options.allowedClient = runKey.publicKey;
  master::ResultsReceiver receiver(options, sink);
  receiver.start();

  // Handed to its socket ("delivered") or not, the stranger's stream never gets in.
  slaveSends(receiver.endpoint(), "stranger",
             {master.publicKey, stranger.publicKey, stranger.secretKey});
  auto slaveStats = slaveSends(receiver.endpoint(), "slave",
                               {master.publicKey, runKey.publicKey, runKey.secretKey});
  CHECK(slaveStats.delivered);

  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline && !receiver.tallies()["slave"].final) {
    std::this_thread::sleep_for(20ms);  // polling the receiver's thread, bounded
  }
  receiver.stop();
  spdlog::set_default_logger(previous);
  const auto tallies = receiver.tallies();
  CHECK(tallies.count("stranger") == 0);
  REQUIRE(tallies.count("slave") == 1);
  CHECK(tallies.at("slave").final);
  CHECK(tallies.at("slave").received == 2);
  CHECK(receiver.keysRefused() >= 1);
  CHECK_THAT(log.str(),
             Catch::Contains("refused CURVE client key " + stranger.publicKey + " on results"));
  CHECK_THAT(log.str(), !Catch::Contains(runKey.publicKey));
}

// Issue #11: a sender on the results port that makes up a new agent id per batch cannot
// grow the master's tables: past 64 ids never assigned, their events share one tally and
// one source, and every event is still counted.
TEST_CASE("made-up agent ids past the cap share one tally and every event counts") {
  AggregateResult sink;
  master::ResultsReceiver receiver(master::ReceiverOptions{}, sink);
  receiver.start();
  zmq::context_t context;
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 2000);
  push.connect(receiver.endpoint());
  constexpr int kSenders = 500;
  LoadsStatus status;
  status.users = 1;
  for (int i = 0; i < kSenders; ++i) {
    proto::ResultsEncoder encoder("run-1", "made-up-" + std::to_string(i));
    proto::EventBuffer events;
    Hit hit;
    hit.name = "GET /";
    hit.status = 200;
    hit.startedUs = 1'700'000'000'000'000;
    hit.elapsedUs = 100;
    events.addHit(hit, status);
    const std::string wire = encoder.batch(events);
    push.send(zmq::buffer(wire), zmq::send_flags::none);
  }
  const auto received = [&] {
    std::uint64_t n = 0;
    for (const auto& [id, tally] : receiver.tallies()) n += tally.received;
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline && received() < kSenders) {
    std::this_thread::sleep_for(20ms);  // polling the receiver's thread, bounded
  }
  receiver.stop();
  CHECK(received() == kSenders);
  const auto tallies = receiver.tallies();
  CHECK(tallies.size() == 64 + 1);
  REQUIRE(tallies.count("(other agents)") == 1);
  CHECK(tallies.at("(other agents)").received == kSenders - 64);
  const Snapshot snap = sink.snapshot();
  CHECK(snap.allRequests.count == kSenders);
  CHECK(snap.requestsBySource.size() == 64 + 1);
}
