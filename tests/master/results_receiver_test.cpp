// ResultsReceiver: with CURVE (PROTOCOL.md §9.3) only the run key gets in, a slave with
// any other key is refused by the ZAP handler, logged with its key, and counted; the run's
// span comes from the slaves' own start and stop times (§5.3), not from their arrival.
#include "master/results_receiver.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <functional>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "agent/test_result_proxy.hpp"
#include "proto/summary.hpp"
#include "report/console_output.hpp"
#include "security/curve.hpp"
#include "stats/aggregate_result.hpp"
#include "stats/interval_summary.hpp"

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
  receiver.start("run-1", {{"slave", 0}});

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

namespace {

// One slave's whole stream, packed by hand as PROTOCOL.md §5.3 lays it out: a RESULTS
// batch with startTestRun (timed `startUs`, or untimed as a version-1 slave before the
// time was added sends it) and one hit, then STOP-TEST-RUN with stopTestRun.
std::vector<std::string> slaveStream(const std::string& agentId, std::int64_t startUs,
                                     std::int64_t stopUs, bool timed) {
  auto message = [&](const char* type, std::uint64_t seq, std::uint64_t sent,
                     const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& events) {
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> p(buffer);
    p.pack_array(4);
    p.pack("LOADS");
    p.pack(1);
    p.pack(type);
    p.pack_array(5);
    p.pack("run-1");
    p.pack(agentId);
    p.pack(seq);
    p.pack(sent);
    events(p);
    return std::string(buffer.data(), buffer.size());
  };
  auto runEvent = [&](msgpack::packer<msgpack::sbuffer>& p, int kind, std::int64_t atUs) {
    p.pack_array(timed ? 6 : 5);
    for (int v : {kind, 0, 0, 0, 0}) p.pack(v);
    if (timed) p.pack(atUs);
  };
  return {message("RESULTS", 1, 2,
                  [&](auto& p) {
                    p.pack_array(2);
                    runEvent(p, 0, startUs);
                    p.pack_array(14);  // addHit, half-way through the slave's run
                    for (int v : {9, 1, 1, 1, 1}) p.pack(v);
                    p.pack("GET /");
                    p.pack("http://127.0.0.1/");
                    p.pack("GET");
                    p.pack(200);
                    p.pack(0);
                    p.pack((startUs + stopUs) / 2);
                    p.pack(1000);
                    p.pack(10);
                    p.pack(0);
                  }),
          message("STOP-TEST-RUN", 2, 3, [&](auto& p) {
            p.pack_array(1);
            runEvent(p, 1, stopUs);
          })};
}

// Pushes every message and waits (bounded) until the receiver has both final batches.
void deliver(master::ResultsReceiver& receiver, const std::vector<std::string>& messages,
             const std::vector<std::string>& agents) {
  zmq::context_t context;
  zmq::socket_t push(context, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 2000);
  push.connect(receiver.endpoint());
  for (const auto& m : messages) push.send(zmq::buffer(m), zmq::send_flags::none);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto allFinal = [&] {
    auto tallies = receiver.tallies();
    for (const auto& a : agents) {
      if (!tallies[a].final) return false;
    }
    return true;
  };
  while (std::chrono::steady_clock::now() < deadline && !allFinal()) {
    std::this_thread::sleep_for(20ms);  // polling the receiver's thread, bounded
  }
  REQUIRE(allFinal());
}

}  // namespace

TEST_CASE("the run spans the earliest start to the latest stop by the slaves' own times") {
  // Two agents whose slaves ran 0-1 s and 2-3 s: their batches arrive at once, in the
  // order start A, start B, stop A, stop B. The run lasted 3 s, not the arrival gap.
  const std::int64_t t0 = 1'700'000'000'000'000;
  auto a = slaveStream("agent-a", t0, t0 + 1'000'000, true);
  auto b = slaveStream("agent-b", t0 + 2'000'000, t0 + 3'000'000, true);
  AggregateResult sink;
  master::ResultsReceiver receiver({}, sink);
  receiver.start("run-1", {{"agent-a", 0}, {"agent-b", 1}});
  deliver(receiver, {a[0], b[0], a[1], b[1]}, {"agent-a", "agent-b"});
  receiver.stop();
  const Snapshot snap = sink.snapshot();
  CHECK(snap.runStartedUs == t0);
  CHECK(snap.runStoppedUs == t0 + 3'000'000);
  CHECK(runSeconds(snap) == Approx(3.0));
  CHECK(receiver.tallies()["agent-b"].received == 3);
}

TEST_CASE("startTestRun and stopTestRun without a time (an older slave) still count, at arrival") {
  const std::int64_t t0 = 1'700'000'000'000'000;
  auto old = slaveStream("old", t0, t0 + 1'000'000, false);
  AggregateResult sink;
  master::ResultsReceiver receiver({}, sink);
  receiver.start("run-1", {{"old", 0}});
  const std::int64_t before = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  deliver(receiver, old, {"old"});
  receiver.stop();
  const auto tally = receiver.tallies()["old"];
  CHECK(tally.received == 3);
  CHECK(tally.skipped == 0);
  const Snapshot snap = sink.snapshot();
  CHECK(snap.runStartedUs >= before);
  CHECK(snap.runStoppedUs >= snap.runStartedUs);
}

TEST_CASE(
    "a SUMMARY counts as its folded calls, and one of another run, out of sequence or late "
    "is refused",
    "[summary]") {
  const std::int64_t t0 = 1'700'000'000'000'000;
  auto summaryOf = [&](proto::ResultsEncoder& encoder, std::uint64_t hits) {
    IntervalSummary m;
    auto& entry = m.requests.emplace_back();
    entry.name = "GET /s";
    RequestSummary& r = entry.counts;
    r.count = hits;
    r.latency.record(1000, hits);
    r.latencyCorrected.record(1000, hits);
    r.firstStartedUs = t0;
    r.lastEndedUs = t0 + 1000;
    m.statuses.push_back({0, 200, hits});
    auto& sec = m.seconds.emplace_back();
    sec.second = t0 / 1'000'000;
    sec.requests = hits;
    sec.latency.record(1000, hits);
    m.firstEventUs = t0;
    m.lastEventUs = t0 + 1000;
    m.events = hits;
    return proto::encodeSummary(encoder, m);
  };
  proto::ResultsEncoder a("run-1", "agent-a"), other("run-2", "agent-a"), stranger("run-1", "x");
  const std::string first = summaryOf(a, 100), second = summaryOf(a, 50);
  proto::EventBuffer none;
  const std::string final = a.finalBatch(none);
  proto::ResultsEncoder replay("run-1", "agent-a");
  const std::string replayed = summaryOf(replay, 100);  // seq 1 again: out of sequence
  const std::string late = summaryOf(a, 7);             // after the final

  AggregateResult sink;
  master::ResultsReceiver receiver({}, sink);
  receiver.start("run-1", {{"agent-a", 0}});
  deliver(receiver,
          {first, summaryOf(other, 5), summaryOf(stranger, 5), second, replayed, final, late},
          {"agent-a"});
  receiver.stop();
  const auto tally = receiver.tallies()["agent-a"];
  CHECK(tally.received == 150);
  CHECK(tally.eventsSent == 150);
  CHECK(tally.batches == 3);
  CHECK(tally.seqGaps == 0);
  const auto rejected = receiver.rejected();
  CHECK(rejected.otherRun == 1);
  CHECK(rejected.unknownAgent == 1);
  CHECK(rejected.outOfSequence == 1);
  CHECK(rejected.afterFinal == 1);
  CHECK(sink.snapshot().allRequests.count == 150);
  CHECK(receiver.malformed() == 0);
}

// A slave whose close ended just inside its linger (agent/ring_forwarder.cpp allows
// 10 ms) may have delivered everything, its STOP-TEST-RUN too, and still leave the stream
// to its parent: the parent sends the last batch again (resent) and the STOP-TEST-RUN
// once more. After the slave's own, both are duplicates: not messages after the final,
// and no impersonation (a problem that would fail the run).
TEST_CASE(
    "a parent's copies after the slave's own STOP-TEST-RUN are duplicates, not impersonation") {
  const Hit hit{"GET /", "http://x/", "GET", 200, ErrorKind::kNone, 1, 10, 100};
  proto::ResultsEncoder slave("run-1", "agent-a");
  proto::EventBuffer events, none;
  auto batchOf = [&](proto::ResultsEncoder& encoder, int hits) {
    for (int i = 0; i < hits; ++i) events.addHit(hit, LoadsStatus{});
    return encoder.batch(events);
  };
  const std::string one = batchOf(slave, 3), two = batchOf(slave, 2);
  const std::string final = slave.finalBatch(none);  // seq 3, 5 events sent
  proto::ResultsEncoder parent("run-1", "agent-a");
  for (int i = 0; i < 2; ++i) events.addHit(hit, LoadsStatus{});
  const std::string twoAgain = parent.resentBatch(events, 2, 5);
  events.clear();
  parent.resume(2, 5);
  const std::string finalAgain = parent.finalBatch(none);

  AggregateResult sink;
  master::ResultsReceiver receiver({}, sink);
  receiver.start("run-1", {{"agent-a", 0}});
  deliver(receiver, {one, two, final, twoAgain, finalAgain}, {"agent-a"});
  receiver.stop();
  const auto tally = receiver.tallies()["agent-a"];
  CHECK(tally.received == 5);
  CHECK(tally.eventsSent == 5);
  CHECK(tally.duplicates == 2);
  const auto rejected = receiver.rejected();
  CHECK(rejected.afterFinal == 0);
  CHECK(rejected.impersonated.empty());
  CHECK(sink.snapshot().allRequests.count == 5);
}
