// How many result events one master decodes and aggregates per second.
//
// Synthetic slaves (one pusher thread, one PUSH socket per simulated agent) send
// pre-built RESULTS batches as fast as the master's PULL socket takes them; the master
// side is the real ResultsReceiver feeding the real AggregateResult on one thread.
// Each simulated hit is 4 events (startTest, addHit, addSuccess, stopTest), as a
// slave runner sends them.
//   loads-ingest-bench [agents=20] [seconds=10]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "aggregate_result.hpp"
#include "proto/results.hpp"
#include "results_receiver.hpp"

using namespace loads;
using Clock = std::chrono::steady_clock;

namespace {

std::string buildBatch(const std::string& agentId, int hits) {
  proto::EventBuffer events;
  proto::ResultsEncoder encoder("bench-run", agentId);
  const std::string names[] = {"GET /", "GET /api/items", "POST /comments", "GET /static"};
  for (int i = 0; i < hits; ++i) {
    LoadsStatus status{0, 50, static_cast<std::uint64_t>(i + 1), static_cast<std::uint32_t>(i % 50 + 1)};
    Hit hit;
    hit.name = names[i % 4];
    hit.url = "http://127.0.0.1:8080/";
    hit.method = "GET";
    hit.status = i % 97 == 0 ? 500 : 200;
    hit.startedUs = 1'795'000'000'000'000 + i * 37;
    hit.elapsedUs = 200 + (i * 7919) % 5000;
    hit.bytes = 512;
    events.startTest("Bench.test_hit", status);
    events.addHit(hit, status);
    events.addSuccess("Bench.test_hit", status);
    events.stopTest("Bench.test_hit", std::chrono::microseconds(hit.elapsedUs + 20), status);
  }
  return encoder.batch(events);
}

std::uint64_t received(const master::ResultsReceiver& receiver) {
  std::uint64_t total = 0;
  for (const auto& [id, tally] : receiver.tallies()) total += tally.received;
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  int agents = argc > 1 ? std::atoi(argv[1]) : 20;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 10;

  AggregateResult sink;
  master::ResultsReceiver receiver({}, sink);
  receiver.start();

  std::vector<std::string> batches;
  for (int a = 0; a < agents; ++a) batches.push_back(buildBatch("agent-" + std::to_string(a), 250));
  std::printf("batch: %zu bytes, 1000 events\n", batches[0].size());

  std::atomic<bool> stop{false};
  std::thread pusher([&] {
    zmq::context_t ctx(1);
    std::vector<zmq::socket_t> sockets;
    for (int a = 0; a < agents; ++a) {
      sockets.emplace_back(ctx, zmq::socket_type::push);
      sockets.back().set(zmq::sockopt::linger, 0);
      sockets.back().set(zmq::sockopt::sndhwm, 100);  // keep the backlog (and the drain) short
      sockets.back().connect(receiver.endpoint());
    }
    while (!stop) {
      for (int a = 0; a < agents; ++a) {
        sockets[a].send(zmq::buffer(batches[a]), zmq::send_flags::none);
      }
    }
  });

  // Let the connections settle, then measure a steady window.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto t0 = Clock::now();
  std::uint64_t e0 = received(receiver);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  std::uint64_t e1 = received(receiver);
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  pusher.join();
  receiver.stop();

  // Every event received must be in the aggregate: 4 events per hit.
  Snapshot snap = sink.snapshot();
  std::uint64_t all = received(receiver);
  std::printf("agents=%d seconds=%.1f events=%llu events/s=%.0f\n", agents, elapsed,
              static_cast<unsigned long long>(e1 - e0), (e1 - e0) / elapsed);
  std::printf("check: events received in all %llu = 4 x hits aggregated %llu: %s\n",
              static_cast<unsigned long long>(all),
              static_cast<unsigned long long>(snap.allRequests.count),
              all == 4 * snap.allRequests.count ? "yes" : "NO");
  return all == 4 * snap.allRequests.count ? 0 : 1;
}
