// SUMMARY (--results summary): one synthetic event stream replayed through both paths of
// the master — every call as a RESULTS event, and the calls folded by a SummaryBuilder,
// sent as SUMMARY and merged — gives the same JSON report, key by key. The stream crosses
// every cap of the aggregate (request, test, counter names, status codes, error samples),
// so the order in which names are admitted is checked too.
#include "proto/summary.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "report/json_output.hpp"
#include "stats/aggregate_result.hpp"
#include "stats/summary_builder.hpp"

using namespace loads;
using namespace loads::proto;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // µs

AggregateOptions capped(const std::int64_t* clock) {
  AggregateOptions o;
  o.clock = [clock] { return *clock; };
  o.maxNames = 1000;  // the stream has 3,000 request names
  o.maxTests = 25;    // 40 test names
  o.maxCounters = 12;
  o.maxStatusCodes = 6;
  o.maxErrorSamples = 30;  // 70 distinct errors
  return o;
}

// Makes the calls of one millisecond tick on `sink`; the same seed gives the same calls.
class Stream {
 public:
  explicit Stream(std::uint32_t seed) : rng_(seed) {}

  void tick(TestResult& sink, std::int64_t nowUs) {
    const int calls = pick(1, 12);
    for (int i = 0; i < calls; ++i) call(sink, nowUs);
  }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  void call(TestResult& sink, std::int64_t nowUs) {
    LoadsStatus s;
    s.users = static_cast<std::uint32_t>(pick(1, 300));
    s.currentUser = static_cast<std::uint32_t>(pick(1, 300));
    s.currentHit = static_cast<std::uint64_t>(pick(1, 50));
    const std::string test = "T.test_" + std::to_string(pick(0, 39));
    const int kind = pick(0, 99);
    if (kind < 55) {
      const std::string name = "GET /item/" + std::to_string(pick(0, 2999));
      static constexpr int kStatuses[] = {200, 200, 200, 201, 204, 301, 404, 500, 503, 0, 418, 299};
      Hit hit;
      hit.name = name;
      hit.url = "http://127.0.0.1/";
      hit.method = "GET";
      hit.status = kStatuses[pick(0, 11)];
      hit.error = hit.status == 0 ? static_cast<ErrorKind>(pick(1, 8)) : ErrorKind::kNone;
      hit.elapsedUs = pick(0, 3) == 0 ? pick(50'000, 900'000) : pick(100, 20'000);
      hit.startedUs = nowUs - hit.elapsedUs;
      hit.bytes = static_cast<std::uint64_t>(pick(0, 100'000));
      if (pick(0, 4) == 0) hit.plannedStartUs = hit.startedUs - pick(0, 50'000);
      sink.addHit(hit, s);
    } else if (kind < 63) {
      sink.startTest(test, s);
    } else if (kind < 71) {
      sink.stopTest(test, std::chrono::microseconds(pick(100, 2'000'000)), s);
    } else if (kind < 77) {
      sink.addSuccess(test, s);
    } else if (kind < 80) {
      const std::string message = "expected " + std::to_string(pick(0, 34));
      sink.addFailure(test.substr(0, 8), Failure{"AssertionError", message, "t.cpp", 10}, s);
    } else if (kind < 83) {
      const std::string message = "boom " + std::to_string(pick(0, 34));
      sink.addError(test.substr(0, 8), Failure{"std::runtime_error", message, "", 0}, s);
    } else if (kind < 84) {
      sink.addSkip(test, "not today", s);
    } else if (kind < 85) {
      sink.addCancelled(test, s);
    } else if (kind < 88) {
      sink.addDropped(test, nowUs - pick(0, 3000), s);
    } else if (kind < 93) {
      const std::string counter = "c" + std::to_string(pick(0, 19));
      sink.incrCounter(pick(0, 3) == 0 ? "" : test, counter, pick(-5, 1000), s);
    } else if (kind < 95) {
      sink.socketOpen("ws://127.0.0.1/", s);
    } else if (kind < 98) {
      sink.socketMessage("ws://127.0.0.1/", pick(0, 1) ? Direction::kSent : Direction::kReceived,
                         static_cast<std::uint64_t>(pick(0, 4096)), s);
    } else {
      sink.socketClose("ws://127.0.0.1/", SocketClose{1000, "bye", pick(0, 3) != 0}, s);
    }
  }

  std::mt19937 rng_;
};

// The report's leaves, by JSON pointer.
nlohmann::json leaves(const Snapshot& snap) {
  return nlohmann::json(jsonReport(snap, RunFacts{})).flatten();
}

}  // namespace

// With `recycle`, each summary once sent goes back to the builder, whose next summaries
// reuse its histograms (emptied, their windows kept), as the slave's forwarder does.
TEST_CASE("a summarised stream gives the report its raw events give, key by key", "[summary]") {
  const bool recycle = GENERATE(false, true);
  std::int64_t now = kT0;
  AggregateResult raw(capped(&now)), summed(capped(&now));
  EventBuffer events;
  ResultsEncoder rawEncoder("r1", "a1"), summaryEncoder("r1", "a1");
  SummaryBuilder builder([&now] { return now; }, /*maxEntries=*/700);  // several fill early
  Stream rawStream(7), summaryStream(7);
  auto runTime = [&](EventKind kind, std::int64_t at) {
    kind == EventKind::kStartTestRun ? raw.startTestRunAt(at) : raw.stopTestRunAt(at);
  };
  std::uint64_t rawReceived = 0, summaryReceived = 0, summaries = 0, early = 0, eventsSent = 0;
  auto sendSummary = [&] {
    IntervalSummary taken = builder.take();
    const std::string message = encodeSummary(summaryEncoder, taken);
    if (recycle) builder.recycle(std::move(taken));
    auto batch = decodeSummaryBatch(message);
    INFO(batch.reason());
    REQUIRE(batch.ok());
    summaryReceived += batch->info.replayed;
    eventsSent = batch->info.eventsSent;
    summed.mergeSummary(batch->summary);
    ++summaries;
  };
  auto sendRaw = [&] {
    const std::string message = rawEncoder.batch(events);
    auto batch = decodeResultsBatch(message, raw, {}, nullptr, runTime);
    REQUIRE(batch.ok());
    REQUIRE(batch->skipped == 0);
    rawReceived += batch->replayed;
  };

  events.startTestRunAt(now);  // an EventBuffer dates these by the wall clock: the fake one here
  builder.startTestRun();
  constexpr int kTicks = 25'000;  // 25 s of 1 ms ticks, some 160,000 calls
  for (int tick = 0; tick < kTicks; ++tick) {
    now = kT0 + tick * 1000;
    rawStream.tick(events, now);
    summaryStream.tick(builder, now);
    sendRaw();  // replayed at its tick: calls without a time count at the master's now
    if (builder.full()) ++early;
    if (builder.full() || tick % 1000 == 999) sendSummary();
  }
  events.stopTestRunAt(now);
  builder.stopTestRun();
  sendRaw();
  sendSummary();

  CHECK(early > 0);
  CHECK(summaries > 25);
  CHECK(summaryReceived == rawReceived);
  CHECK(eventsSent == rawEncoder.eventsSent());
  CHECK(summaryEncoder.eventsSent() == rawEncoder.eventsSent());

  const Snapshot rawSnap = raw.snapshot(), summedSnap = summed.snapshot();
  REQUIRE(rawSnap.overflows.size() == 4);  // every cap was crossed
  CHECK(rawSnap.errorsDropped > 0);
  CHECK(rawSnap.seconds.size() >= 25);
  const nlohmann::json expected = leaves(rawSnap), got = leaves(summedSnap);
  REQUIRE(expected.size() > 1000);
  std::size_t compared = 0;
  for (const auto& [key, value] : expected.items()) {
    INFO(key);
    REQUIRE(got.contains(key));
    CHECK(got[key] == value);
    ++compared;
  }
  CHECK(got.size() == expected.size());
  CHECK(compared == expected.size());
}

TEST_CASE("a SUMMARY that points past its lists or holds a broken histogram is malformed",
          "[summary]") {
  std::int64_t now = kT0;
  SummaryBuilder builder([&now] { return now; });
  Hit hit;
  hit.name = "GET /";
  hit.status = 200;
  hit.startedUs = kT0;
  hit.elapsedUs = 1000;
  builder.addHit(hit, LoadsStatus{});
  builder.incrCounter("T.t", "c", 1, LoadsStatus{});
  const IntervalSummary good = builder.take();
  ResultsEncoder encoder("r1", "a1");
  REQUIRE(decodeSummaryBatch(encodeSummary(encoder, good)).ok());

  auto broken = [&](auto&& breakIt) {
    builder.addHit(hit, LoadsStatus{});
    builder.incrCounter("T.t", "c", 1, LoadsStatus{});
    IntervalSummary m = builder.take();
    breakIt(m);
    return decodeSummaryBatch(encodeSummary(encoder, m)).error();
  };
  CHECK(broken([](IntervalSummary& m) { m.statuses[0].request = 1; }) == ErrorCode::kMalformed);
  CHECK(broken([](IntervalSummary& m) { m.counters[0].test = 1; }) == ErrorCode::kMalformed);
  CHECK(broken([](IntervalSummary& m) { m.counters[0].test = -2; }) == ErrorCode::kMalformed);
  CHECK(broken([](IntervalSummary& m) { m.firstEventUs = -1; }) == ErrorCode::kMalformed);
  CHECK(broken([](IntervalSummary& m) { m.seconds[0].second = -5; }) == ErrorCode::kMalformed);

  // A histogram part that is no histogram: an index outside the layout, or min > max.
  Histogram::Parts parts = good.requests[0].counts.latency.parts();
  REQUIRE(Histogram::fromParts(parts));
  CHECK(Histogram::fromParts(parts)->percentile(50) ==
        good.requests[0].counts.latency.percentile(50));
  Histogram::Parts outside = parts;
  outside.counts[0] = 1u << 30;
  CHECK(!Histogram::fromParts(outside));
  Histogram::Parts inverted = parts;
  inverted.min = inverted.max + 1;
  CHECK(!Histogram::fromParts(inverted));
  Histogram::Parts zero = parts;
  zero.counts[1] = 0;
  CHECK(!Histogram::fromParts(zero));

  // Another message type is not a SUMMARY; a RESULTS decoder refuses a SUMMARY.
  EventBuffer events;
  CHECK(decodeSummaryBatch(encoder.batch(events)).error() == ErrorCode::kUnexpected);
  CHECK(decodeResultsBatch(encodeSummary(encoder, good), events).error() == ErrorCode::kUnexpected);
}

TEST_CASE(
    "unique rows' claims fold to the highest, or the exact last word, and reach the aggregate",
    "[summary]") {
  SummaryBuilder builder([] { return kT0; });
  builder.claimRows("users.csv", 0, 16, false);
  builder.claimRows("users.csv", 0, 48, false);
  builder.claimRows("users.csv", 0, 20, true);   // the runner's last word
  builder.claimRows("users.csv", 0, 64, false);  // a late claim of another thread's slot
  builder.claimRows("items.csv", 2, 32, false);
  const IntervalSummary m = builder.take();
  CHECK(m.events == 5);
  ResultsEncoder encoder("r1", "a1");
  auto decoded = decodeSummaryBatch(encodeSummary(encoder, m));
  REQUIRE(decoded.ok());
  AggregateResult aggregate;
  aggregate.setSource(3);
  aggregate.claimRows("users.csv", 0, 8, false);  // an earlier raw claim of the same agent
  aggregate.mergeSummary(decoded->summary);
  const RowClaims claims = aggregate.rowClaims(3);
  REQUIRE(claims.size() == 2);
  CHECK(claims.at({"users.csv", 0}).upTo == 20);
  CHECK(claims.at({"users.csv", 0}).exact);
  CHECK(claims.at({"items.csv", 2}).upTo == 32);
  CHECK_FALSE(claims.at({"items.csv", 2}).exact);
  CHECK(aggregate.rowClaims(0).empty());
}
