// The slave's recording hot path, without HTTP: how many hits per second runner threads
// can record through today's TestResultProxy (per-thread buffers, a sender thread) and
// through the event ring (RingRecorder: every event copied into shared memory at once,
// a RingForwarder thread sending from there; issue #19), each to a real ResultsReceiver
// on loopback that replays every event into an AggregateResult. A hit is 4 events
// (startTest, addHit, addSuccess, stopTest), as a runner records them. The two run
// alternately, `rounds` times: compare them round by round on a shared machine.
//   loads-recorder-bench [threads=1] [hits per thread=200000] [rounds=4]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "agent/event_ring.hpp"
#include "agent/ring_forwarder.hpp"
#include "agent/ring_recorder.hpp"
#include "agent/test_result_proxy.hpp"
#include "master/results_receiver.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;
using Clock = std::chrono::steady_clock;

namespace {

void recordHits(TestResult& result, int threads, int hits) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&result, hits, t] {
      for (int i = 0; i < hits; ++i) {
        LoadsStatus s{0, 50, static_cast<std::uint64_t>(i + 1), static_cast<std::uint32_t>(t + 1)};
        result.startTest("Bench.test_get", s);
        Hit hit{"GET /",          "http://127.0.0.1:8080/", "GET", 200,
                ErrorKind::kNone, 1'700'000'000'000'000,    150,   512};
        result.addHit(hit, s);
        result.addSuccess("Bench.test_get", s);
        result.stopTest("Bench.test_get", std::chrono::microseconds(160), s);
      }
    });
  }
  for (auto& w : workers) w.join();
}

// Hits/s from the first event to the receiver's STOP-TEST-RUN (all replayed).
double measure(const std::function<void(const std::string& endpoint)>& run, std::uint64_t events) {
  AggregateResult sink;
  master::ResultsReceiver receiver({}, sink);
  receiver.start("run-1", {{"a1", 0}});
  const auto start = Clock::now();
  run(receiver.endpoint());
  for (;;) {
    auto tallies = receiver.tallies();
    if (tallies.count("a1") && tallies["a1"].final) {
      if (tallies["a1"].received != events) std::fprintf(stderr, "events missing!\n");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(events / 4) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int hits = argc > 2 ? std::atoi(argv[2]) : 200000;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 4;
  const std::uint64_t events = std::uint64_t{4} * threads * hits;
  std::printf("%-6s %16s %16s %8s\n", "round", "proxy hits/s", "ring hits/s", "ratio");
  for (int r = 1; r <= rounds; ++r) {
    const double proxy = measure(
        [&](const std::string& endpoint) {
          agent::TestResultProxy result(agent::ProxyOptions{endpoint, "run-1", "a1", {}});
          recordHits(result, threads, hits);
          result.finish();
        },
        events);
    const double ring = measure(
        [&](const std::string& endpoint) {
          auto shared = agent::EventRing::create(threads + 2);
          agent::RingForwarder sender({endpoint, "run-1", "a1", {}}, shared->share());
          shared->take();
          sender.startLive();
          agent::RingRecorder result(*shared);
          recordHits(result, threads, hits);
          sender.finishLive();
        },
        events);
    std::printf("%-6d %16.0f %16.0f %8.3f\n", r, proxy, ring, ring / proxy);
  }
}
