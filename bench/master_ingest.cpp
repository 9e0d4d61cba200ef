// How many result events one master decodes and aggregates per second.
//
// Synthetic slaves (one pusher thread, one PUSH socket per simulated agent) send
// pre-built RESULTS batches as fast as the master's PULL socket takes them; the master
// side is the real ResultsReceiver feeding the real AggregateResult on one thread.
// Each simulated hit is 4 events (startTest, addHit, addSuccess, stopTest), as a
// slave runner sends them.
// Everything is queued on the sockets first, then the receiver is started and timed
// until it has replayed every event.
//   loads-ingest-bench [agents=20] [batches per agent=200]
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "master/results_receiver.hpp"
#include "proto/results.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;
using Clock = std::chrono::steady_clock;

namespace {

std::string buildBatch(const std::string& agentId, int hits) {
  proto::EventBuffer events;
  proto::ResultsEncoder encoder("bench-run", agentId);
  const std::string names[] = {"GET /", "GET /api/items", "POST /comments", "GET /static"};
  for (int i = 0; i < hits; ++i) {
    LoadsStatus status{0, 50, static_cast<std::uint64_t>(i + 1),
                       static_cast<std::uint32_t>(i % 50 + 1)};
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
  const int agents = argc > 1 ? std::atoi(argv[1]) : 20;
  const int batchesPerAgent = argc > 2 ? std::atoi(argv[2]) : 200;
  const std::uint64_t total = std::uint64_t(agents) * batchesPerAgent * 1000;

  AggregateResult sink;
  master::ResultsReceiver receiver({}, sink);

  std::vector<std::string> batches;
  for (int a = 0; a < agents; ++a) batches.push_back(buildBatch("agent-" + std::to_string(a), 250));
  std::printf("batch: %zu bytes, 1000 events; %d agents x %d batches = %llu events\n",
              batches[0].size(), agents, batchesPerAgent, static_cast<unsigned long long>(total));

  // Queue everything first (the PUSH sockets hold it), then time the master alone.
  zmq::context_t ctx(1);
  std::vector<zmq::socket_t> sockets;
  for (int a = 0; a < agents; ++a) {
    sockets.emplace_back(ctx, zmq::socket_type::push);
    sockets.back().set(zmq::sockopt::linger, -1);
    sockets.back().set(zmq::sockopt::sndhwm, batchesPerAgent + 1);
    sockets.back().connect(receiver.endpoint());
  }
  std::thread pusher([&] {
    for (int b = 0; b < batchesPerAgent; ++b) {
      for (int a = 0; a < agents; ++a)
        sockets[a].send(zmq::buffer(batches[a]), zmq::send_flags::none);
    }
  });
  pusher.join();

  auto t0 = Clock::now();
  receiver.start();
  while (received(receiver) < total) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  receiver.stop();

  // Every event received must be in the aggregate: 4 events per hit.
  Snapshot snap = sink.snapshot();
  bool exact = total == 4 * snap.allRequests.count;
  std::printf("events=%llu seconds=%.2f events/s=%.0f (hits aggregated %llu: %s)\n",
              static_cast<unsigned long long>(total), elapsed, total / elapsed,
              static_cast<unsigned long long>(snap.allRequests.count), exact ? "exact" : "WRONG");
  return exact ? 0 : 1;
}
