// RingReader: the local master replays its slave's event ring in place; every event the
// slave's threads recorded is replayed once, whether the reader keeps up while they run
// (small slots: the writers wait for it) or reads only after the slave has ended.
#include "master/ring_reader.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "agent/event_ring.hpp"
#include "agent/ring_recorder.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;

namespace {

// What one runner thread records for `hits` hits of user `user`.
void recordHits(agent::RingRecorder& recorder, std::uint32_t user, std::uint64_t hits) {
  for (std::uint64_t i = 1; i <= hits; ++i) {
    const LoadsStatus s{hits, 3, i, user};
    recorder.startTest("T.test", s);
    Hit hit;
    hit.name = "GET /x";
    hit.url = "http://127.0.0.1/x";
    hit.method = "GET";
    hit.status = i % 7 == 0 ? 500 : 200;
    hit.startedUs = 1'800'000'000'000'000 + static_cast<std::int64_t>(i);
    hit.elapsedUs = static_cast<std::int64_t>(100 + i % 50);
    hit.bytes = 11;
    recorder.addHit(hit, s);
    recorder.addSuccess("T.test", s);
    recorder.stopTest("T.test", std::chrono::microseconds(120), s);
  }
}

}  // namespace

TEST_CASE("three writers on slots of 8 KiB: every event is replayed once while they run") {
  auto ring = agent::EventRing::create(3, 8192);  // ~80 hits a slot: the writers wait often
  AggregateResult result;
  master::RingReader reader(ring->share(), result);
  reader.start();
  agent::RingRecorder recorder(*ring);
  const std::uint64_t hits[] = {5003, 7919, 1};
  std::vector<std::thread> writers;
  for (std::uint32_t user = 0; user < 3; ++user) {
    writers.emplace_back([&, user] { recordHits(recorder, user + 1, hits[user]); });
  }
  for (auto& w : writers) w.join();
  reader.finish();
  const std::uint64_t all = hits[0] + hits[1] + hits[2];
  CHECK(reader.events() == 4 * all);
  CHECK(reader.replayed() == 4 * all);
  CHECK(reader.tooLarge() == 0);
  const Snapshot snap = result.snapshot();
  CHECK(snap.allRequests.count == all);
  CHECK(snap.requests.at("GET /x").count == all);
  reader.finish();  // idempotent: nothing replayed twice
  CHECK(result.snapshot().allRequests.count == all);
}

TEST_CASE("a reader that starts after its slave ended replays what the slave published") {
  auto ring = agent::EventRing::create(2);
  {
    agent::RingRecorder recorder(*ring);
    recorder.startTestRun();
    std::thread writer([&] { recordHits(recorder, 2, 333); });
    writer.join();
    // The slave dies here: no stopTestRun, nothing sent.
  }
  AggregateResult result;
  master::RingReader reader(ring->share(), result);
  reader.finish();
  CHECK(reader.events() == 1 + 4 * 333);
  CHECK(reader.replayed() == reader.events());
  CHECK(result.snapshot().allRequests.count == 333);
}
