// How many result events one master decodes and aggregates per second.
//
// Synthetic slaves (one pusher thread, one PUSH socket per simulated agent) send
// pre-built RESULTS batches as fast as the master's PULL socket takes them; the master
// side is the real ResultsReceiver feeding the real AggregateResult on one thread.
// Each simulated hit is 4 events (startTest, addHit, addSuccess, stopTest), as a
// slave runner sends them.
// Every batch is built first, then sent, and the sending side is closed (which waits
// until libzmq has written every byte to loopback TCP) before the clock starts: the timed
// part is the master's alone (its socket's I/O thread and the receiver's thread). Hit
// times are the build time, as a slave's are its clock's; the master stamps test events
// with its own clock, as in a run.
// Prints the wall-clock rate and the CPU time the process used while timed, so a run on
// a busy machine can be told from a slow receiver.
//   loads-ingest-bench [agents=20] [batches per agent=200]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <map>
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

// The encoder's next batch: each has the next seq, as a slave's do (the receiver drops
// a repeated one).
std::string buildBatch(proto::ResultsEncoder& encoder, int hits) {
  const std::int64_t nowUs = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  proto::EventBuffer events;
  const std::string names[] = {"GET /", "GET /api/items", "POST /comments", "GET /static"};
  for (int i = 0; i < hits; ++i) {
    LoadsStatus status{0, 50, static_cast<std::uint64_t>(i + 1),
                       static_cast<std::uint32_t>(i % 50 + 1)};
    Hit hit;
    hit.name = names[i % 4];
    hit.url = "http://127.0.0.1:8080/";
    hit.method = "GET";
    hit.status = i % 97 == 0 ? 500 : 200;
    hit.startedUs = nowUs - 5000 + i * 20;
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

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  const int agents = argc > 1 ? std::atoi(argv[1]) : 20;
  const int batchesPerAgent = argc > 2 ? std::atoi(argv[2]) : 200;
  const std::uint64_t total = std::uint64_t(agents) * batchesPerAgent * 1000;

  AggregateResult sink;
  master::ResultsReceiver receiver({}, sink);

  std::vector<proto::ResultsEncoder> encoders;
  std::map<std::string, std::uint32_t> sources;
  for (int a = 0; a < agents; ++a) {
    encoders.emplace_back("bench-run", "agent-" + std::to_string(a));
    sources["agent-" + std::to_string(a)] = static_cast<std::uint32_t>(a);
  }
  proto::ResultsEncoder sample("bench-run", "sample");
  std::printf("batch: %zu bytes, 1000 events; %d agents x %d batches = %llu events\n",
              buildBatch(sample, 250).size(), agents, batchesPerAgent,
              static_cast<unsigned long long>(total));

  std::vector<std::vector<std::string>> batches(agents);
  for (int b = 0; b < batchesPerAgent; ++b) {
    for (int a = 0; a < agents; ++a) batches[a].push_back(buildBatch(encoders[a], 250));
  }

  // Send everything, then close the sending side: zmq_ctx_term returns once every message
  // has been written to TCP (linger -1). Only then is the master timed, alone.
  zmq::context_t ctx(1);
  std::vector<zmq::socket_t> sockets;
  for (int a = 0; a < agents; ++a) {
    sockets.emplace_back(ctx, zmq::socket_type::push);
    sockets.back().set(zmq::sockopt::linger, -1);
    sockets.back().set(zmq::sockopt::sndhwm, batchesPerAgent + 1);
    sockets.back().connect(receiver.endpoint());
  }
  for (int b = 0; b < batchesPerAgent; ++b) {
    for (int a = 0; a < agents; ++a) {
      sockets[a].send(zmq::buffer(batches[a][b]), zmq::send_flags::none);
    }
  }
  sockets.clear();
  ctx.close();
  batches.clear();

  const double cpu0 = cpuSeconds();
  auto t0 = Clock::now();
  receiver.start("bench-run", sources);
  while (received(receiver) < total) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpuSeconds() - cpu0;
  receiver.stop();

  // Every event received must be in the aggregate: 4 events per hit.
  Snapshot snap = sink.snapshot();
  bool exact = total == 4 * snap.allRequests.count;
  std::printf(
      "events=%llu seconds=%.2f events/s=%.0f cpu_seconds=%.2f (hits aggregated %llu: %s)\n",
      static_cast<unsigned long long>(total), elapsed, total / elapsed, cpu,
      static_cast<unsigned long long>(snap.allRequests.count), exact ? "exact" : "WRONG");
  return exact ? 0 : 1;
}
