// TestResultProxy: every call from several threads reaches the master's socket, in
// order per thread, counted; batches flush by time as well as by size.
#include "agent/test_result_proxy.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <thread>
#include <zmq.hpp>

#include "proto/results.hpp"
#include "proto/summary.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;
using namespace std::chrono_literals;

namespace {

// Counts what a decoded stream replays; checks per-user order of hits.
class Tally : public TestResult {
 public:
  std::uint64_t hits = 0, counters = 0, runs = 0;
  std::map<std::uint32_t, std::uint64_t> lastHitByUser;
  bool ordered = true;

  void startTestRun() override { ++runs; }
  void addHit(const Hit&, const LoadsStatus& s) override {
    ++hits;
    auto& last = lastHitByUser[s.currentUser];
    if (s.currentHit != last + 1) ordered = false;
    last = s.currentHit;
  }
  void incrCounter(std::string_view, std::string_view, std::int64_t, const LoadsStatus&) override {
    ++counters;
  }
};

struct Pull {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::pull};
  std::string endpoint;
  Pull() {
    socket.bind("tcp://127.0.0.1:*");
    endpoint = socket.get(zmq::sockopt::last_endpoint);
  }
  // Replays messages into `sink` until STOP-TEST-RUN or the deadline; the final info.
  std::optional<proto::BatchInfo> drain(TestResult& sink, std::chrono::milliseconds timeout,
                                        std::uint64_t* batches = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 100ms);
      zmq::message_t m;
      if (!socket.recv(m, zmq::recv_flags::dontwait)) continue;
      auto info = proto::decodeResultsBatch(m.to_string_view(), sink);
      REQUIRE(info.ok());
      if (batches) ++*batches;
      if (info->final) return info.value();
    }
    return std::nullopt;
  }
};

}  // namespace

TEST_CASE("every call from four threads arrives, in order per thread, and is counted") {
  Pull pull;
  agent::TestResultProxy proxy({pull.endpoint, "run-1", "agent-a"});
  Tally tally;
  std::optional<proto::BatchInfo> final;
  std::uint64_t batches = 0;
  std::thread receiver([&] { final = pull.drain(tally, 30s, &batches); });

  constexpr int kThreads = 4, kHits = 50000;
  proxy.startTestRun();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i <= kHits; ++i) {
        LoadsStatus s{0, 4, static_cast<std::uint64_t>(i), static_cast<std::uint32_t>(t + 1)};
        Hit hit{"GET /", "http://127.0.0.1/", "GET", 200, ErrorKind::kNone, 1, 2, 3};
        proxy.addHit(hit, s);
        if (i % 10 == 0) proxy.incrCounter("T.t", "c", 1, s);
      }
    });
  }
  for (auto& t : threads) t.join();
  agent::ProxyStats stats = proxy.finish();
  receiver.join();

  const std::uint64_t expected = 1 + kThreads * kHits + kThreads * kHits / 10;
  CHECK(stats.delivered);
  CHECK(stats.eventsSent == expected);
  REQUIRE(final);
  CHECK(final->eventsSent == expected);
  CHECK(tally.hits == std::uint64_t{kThreads} * kHits);
  CHECK(tally.counters == std::uint64_t{kThreads} * kHits / 10);
  CHECK(tally.runs == 1);
  CHECK(tally.ordered);
  CHECK(batches == stats.batchesSent);
  CHECK(batches > 10);  // batched by size, not one message per call nor one in all
}

TEST_CASE("a lone event is flushed by time, long before finish") {
  Pull pull;
  agent::TestResultProxy proxy({pull.endpoint, "run-1", "agent-a"});
  proxy.incrCounter("T.t", "c", 1, LoadsStatus{});
  Tally tally;
  zmq::pollitem_t item{pull.socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, 2000ms);  // the proxy flushes every 50 ms
  REQUIRE((item.revents & ZMQ_POLLIN));
  zmq::message_t m;
  REQUIRE(pull.socket.recv(m, zmq::recv_flags::dontwait));
  auto info = proto::decodeResultsBatch(m.to_string_view(), tally);
  REQUIRE(info.ok());
  CHECK_FALSE(info->final);
  CHECK(info->eventsSent == 1);
  CHECK(tally.counters == 1);
  proxy.finish();
  auto final = pull.drain(tally, 5s);
  REQUIRE(final);
  CHECK(final->eventsSent == 1);
}

TEST_CASE("finish gives up, bounded, when no master ever listens") {
  agent::ProxyOptions options{"tcp://127.0.0.1:1", "run-1", "agent-a"};
  options.finishTimeout = 300ms;
  options.sendHighWaterMark = 1;
  agent::TestResultProxy proxy(options);
  for (int i = 0; i < 20000; ++i) proxy.incrCounter("T.t", "c", 1, LoadsStatus{});
  const auto start = std::chrono::steady_clock::now();
  agent::ProxyStats stats = proxy.finish();
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  CHECK_FALSE(stats.delivered);
}

// Every message handed to the socket in time is not every message delivered: what is still
// queued when the close's linger runs out is dropped. Here nobody listens yet, and the
// queue holds all of them: finish() must not say delivered (the slave then exits non-zero
// and says so; it has no parent to send them again).
TEST_CASE("finish does not say delivered when its last messages are still queued at the linger") {
  std::string endpoint;
  {
    Pull probe;  // a free port, then nobody on it
    endpoint = probe.endpoint;
  }
  agent::ProxyOptions options{endpoint, "run-1", "agent-a"};
  options.finishTimeout = 300ms;
  agent::TestResultProxy proxy(options);
  for (int i = 0; i < 100; ++i) proxy.incrCounter("T.t", "c", 1, LoadsStatus{});
  const auto start = std::chrono::steady_clock::now();
  agent::ProxyStats stats = proxy.finish();
  CHECK(std::chrono::steady_clock::now() - start >= 290ms);  // the linger, by ZeroMQ's clock
  CHECK(stats.eventsSent == 100);                            // all handed to the socket...
  CHECK_FALSE(stats.delivered);                              // ...none delivered
}

TEST_CASE("with summaries, four threads' calls over 5,000 names arrive folded, every one counted",
          "[summary]") {
  Pull pull;
  agent::ProxyOptions options{pull.endpoint, "run-1", "agent-a"};
  options.summaries = true;
  options.summaryInterval = 200ms;
  agent::TestResultProxy proxy(options);
  AggregateOptions aggregateOptions;
  aggregateOptions.maxNames = 10000;
  AggregateResult aggregate(aggregateOptions);
  std::uint64_t summaries = 0, folded = 0, eventsSent = 0;
  bool final = false;
  std::thread receiver([&] {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!final && std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{pull.socket.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 100ms);
      zmq::message_t m;
      if (!pull.socket.recv(m, zmq::recv_flags::dontwait)) continue;
      if (auto summary = proto::decodeSummaryBatch(m.to_string_view())) {
        ++summaries;
        folded += summary->info.events;
        aggregate.mergeSummary(summary->summary);
        continue;
      }
      auto info = proto::decodeResultsBatch(m.to_string_view(), aggregate);
      REQUIRE(info.ok());
      folded += info->replayed;
      eventsSent = info->eventsSent;
      final = info->final;
    }
  });

  constexpr int kThreads = 4, kHits = 20000, kNames = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i <= kHits; ++i) {
        LoadsStatus s{0, 4, static_cast<std::uint64_t>(i), static_cast<std::uint32_t>(t + 1)};
        const std::string name = "GET /n/" + std::to_string((i * 7 + t) % kNames);
        Hit hit{name, "http://127.0.0.1/", "GET", 200, ErrorKind::kNone, 1'700'000'000'000'000, 2,
                3};
        proxy.addHit(hit, s);
        if (i % 100 == 0) proxy.incrCounter("T.t", "c", 1, s);
      }
    });
  }
  for (auto& th : threads) th.join();
  const agent::ProxyStats stats = proxy.finish();
  receiver.join();
  REQUIRE(final);
  const std::uint64_t calls = kThreads * (kHits + kHits / 100);
  CHECK(stats.delivered);
  CHECK(stats.eventsSent == calls);
  CHECK(eventsSent == calls);
  CHECK(folded == calls);
  // 5,000 names a thread pass a summary's 4,096 entries: some went early.
  CHECK(summaries > kThreads);
  CHECK(stats.batchesSent == summaries + 1);
  const Snapshot snap = aggregate.snapshot();
  CHECK(snap.allRequests.count == kThreads * kHits);
  CHECK(snap.requests.size() == kNames);
  CHECK(snap.counters.at("c") == kThreads * kHits / 100);
}
