// ResultsReceiver with CURVE (PROTOCOL.md §9.3): only the run key gets in; a slave with
// any other key is refused by the ZAP handler, logged with its key, and counted.
#include "master/results_receiver.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

#include "agent/test_result_proxy.hpp"
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
