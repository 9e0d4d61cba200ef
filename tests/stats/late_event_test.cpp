// Issue #11: an event for a second the series already summarised adds to that second's
// totals and allocates only a small fixed amount (it used to build a whole second, with
// a full-size histogram). Its own executable: it counts every operator new.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>

#include "stats/aggregate_result.hpp"

namespace {
std::atomic<std::size_t> allocatedBytes{0};
}  // namespace

void* operator new(std::size_t n) {
  allocatedBytes += n;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace loads;

TEST_CASE("a late event allocates less than 1 KiB and still counts in its second") {
  constexpr std::int64_t kT0 = 1'700'000'000'000'000;
  AggregateOptions options;
  options.clock = [] { return kT0; };
  options.liveWindowSeconds = 5;
  AggregateResult result(options);
  LoadsStatus status;
  status.users = 3;
  Hit hit;
  hit.name = "GET /";
  hit.status = 200;
  hit.elapsedUs = 1500;
  for (int s = 0; s < 30; ++s) {  // 30 seconds: the first ones are summarised
    for (int i = 0; i < 50; ++i) {
      hit.startedUs = kT0 + s * 1'000'000 + i * 1000;
      hit.elapsedUs = 1000 + 37 * i;
      result.addHit(hit, status);
    }
  }
  result.snapshot();

  for (int late = 1; late <= 20; ++late) {  // seconds 1..20, each long summarised
    hit.startedUs = kT0 + late * 1'000'000 + 999'000;
    hit.elapsedUs = 1000 + 37 * late;  // in the range the request's histograms hold
    const std::size_t before = allocatedBytes.load();
    result.addHit(hit, status);
    const std::size_t cost = allocatedBytes.load() - before;
    INFO("late event for second " << late << " allocated " << cost << " bytes");
    CHECK(cost < 1024);
  }
  const Snapshot snap = result.snapshot();
  REQUIRE(snap.seconds.size() == 30);
  CHECK(snap.seconds[0].requests == 50);
  for (int late = 1; late <= 20; ++late) {
    CHECK(snap.seconds[late].requests == 51);
    CHECK_FALSE(snap.seconds[late].complete);
  }
  CHECK(snap.allRequests.count == 30 * 50 + 20);
}
