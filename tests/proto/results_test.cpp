// The results stream: every TestResult call survives the trip, counts add up, and bad
// input is refused or counted.
#include "proto/results.hpp"

#include <malloc.h>

#include <catch2/catch.hpp>
#include <random>
#include <sstream>

#include "stats/aggregate_result.hpp"

using namespace loads;
using namespace loads::proto;

namespace {

// Writes each call down as one line, so two call sequences compare as strings.
class Recorder : public TestResult {
 public:
  std::vector<std::string> calls;

  void startTestRun() override { calls.push_back("startTestRun"); }
  void stopTestRun() override { calls.push_back("stopTestRun"); }
  void startTest(std::string_view t, const LoadsStatus& s) override { log("startTest", s, t); }
  void stopTest(std::string_view t, std::chrono::microseconds e, const LoadsStatus& s) override {
    log("stopTest", s, t, e.count());
  }
  void addSuccess(std::string_view t, const LoadsStatus& s) override { log("addSuccess", s, t); }
  void addFailure(std::string_view t, const Failure& f, const LoadsStatus& s) override {
    log("addFailure", s, t, f.type, f.message, f.file, f.line);
  }
  void addError(std::string_view t, const Failure& f, const LoadsStatus& s) override {
    log("addError", s, t, f.type, f.message, f.file, f.line);
  }
  void addSkip(std::string_view t, std::string_view r, const LoadsStatus& s) override {
    log("addSkip", s, t, r);
  }
  void addCancelled(std::string_view t, const LoadsStatus& s) override {
    log("addCancelled", s, t);
  }
  void addHit(const Hit& h, const LoadsStatus& s) override {
    log("addHit", s, h.name, h.url, h.method, h.status, int(h.error), h.startedUs, h.elapsedUs,
        h.bytes);
  }
  void incrCounter(std::string_view t, std::string_view n, std::int64_t v,
                   const LoadsStatus& s) override {
    log("incrCounter", s, t, n, v);
  }
  void socketOpen(std::string_view u, const LoadsStatus& s) override { log("socketOpen", s, u); }
  void socketMessage(std::string_view u, Direction d, std::uint64_t n,
                     const LoadsStatus& s) override {
    log("socketMessage", s, u, int(d), n);
  }
  void socketClose(std::string_view u, const SocketClose& c, const LoadsStatus& s) override {
    log("socketClose", s, u, c.code, c.reason, c.clean);
  }
  void claimRows(std::string_view f, std::uint32_t run, std::uint64_t upTo, bool exact) override {
    log("claimRows", LoadsStatus{}, f, run, upTo, exact);
  }

 private:
  template <class... Args>
  void log(const char* call, const LoadsStatus& s, const Args&... args) {
    std::ostringstream text;
    text << call << " [" << s.hits << "," << s.users << "," << s.currentHit << "," << s.currentUser
         << "]";
    ((text << " " << args), ...);
    calls.push_back(text.str());
  }
};

// One of every call, with values at the edges of their types; `pad` ends every string.
void everyCall(TestResult& r, const std::string& pad = "") {
  const LoadsStatus s{100, 50, 7, 3};
  const std::string test = "Blog.test_read" + pad, url = "wss://example.org/ws" + pad;
  r.startTestRun();
  r.startTest(test, s);
  r.addHit({"GET /posts" + pad, "https://example.org/posts?x=1" + pad, "GET" + pad, 200,
            ErrorKind::kNone, 1700000000000000, 1234, 5678},
           s);
  r.addHit({"POST /login" + pad, "https://example.org/login" + pad, "POST" + pad, 0,
            ErrorKind::kTimeout, kMaxTimeUs, 0, UINT64_MAX},
           s);
  r.incrCounter(test, "posts-read" + pad, -42, s);
  r.socketOpen(url, s);
  r.socketMessage(url, Direction::kReceived, 99, s);
  r.socketMessage(url, Direction::kSent, 0, s);
  r.socketClose(url, {1000, "bye" + pad, true}, s);
  r.addFailure(test, {"AssertionError" + pad, "r.status == 200 (404)" + pad, "blog.cpp" + pad, 42},
               s);
  r.addError(test, {"std::runtime_error" + pad, "boom" + pad, "" + pad, 0}, s);
  r.addSkip("Blog.test_write" + pad, "no credentials" + pad, s);
  r.addCancelled(test, s);
  r.addSuccess(test, s);
  r.claimRows("users, \"EU\".csv" + pad, 3, UINT64_MAX, false);
  r.claimRows("users.csv" + pad, 0, 17, true);
  r.stopTest(test, std::chrono::microseconds(98765), s);
  r.stopTestRun();
}

std::string rawEnvelope(std::string_view type,
                        const std::function<void(msgpack::packer<msgpack::sbuffer>&)>& body) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(4);
  packer.pack(kProtocolName);
  packer.pack(kProtocolVersion);
  packer.pack(type);
  body(packer);
  return std::string(buffer.data(), buffer.size());
}

}  // namespace

TEST_CASE("every TestResult call is replayed identically on the master", "[proto][results]") {
  Recorder direct, replayed;
  everyCall(direct);
  EventBuffer buffer;
  everyCall(buffer);
  CHECK(buffer.events() == direct.calls.size());
  ResultsEncoder encoder("r1-1", "host1-42");
  const std::string wire = encoder.finalBatch(buffer);
  CHECK(buffer.empty());
  auto info = decodeResultsBatch(wire, replayed);
  INFO(info.reason());
  REQUIRE(info.ok());
  CHECK(replayed.calls == direct.calls);
  CHECK(info->runId == "r1-1");
  CHECK(info->agentId == "host1-42");
  CHECK(info->final);
  CHECK(info->seq == 1);
  CHECK(info->replayed == direct.calls.size());
  CHECK(info->eventsSent == direct.calls.size());
  CHECK(info->skipped == 0);
}

// Every string several times the buffer's first capacity (64 KiB + 4 KiB): each event's
// bound on its bytes is what the buffer grows by, so one it understated would write past
// the buffer (commit() aborts when it sees that).
TEST_CASE("events of strings larger than the buffer are packed and replayed whole",
          "[proto][results]") {
  const std::string pad(150'000, 'p');
  Recorder direct, replayed;
  everyCall(direct, pad);
  EventBuffer buffer;
  everyCall(buffer, pad);
  CHECK(buffer.bytes() > 17 * pad.size());
  ResultsEncoder encoder("r1-1", "host1-42");
  auto info = decodeResultsBatch(encoder.finalBatch(buffer), replayed);
  INFO(info.reason());
  REQUIRE(info.ok());
  CHECK(info->skipped == 0);
  CHECK(replayed.calls == direct.calls);
}

TEST_CASE("batches are numbered and the last one carries the total events sent",
          "[proto][results]") {
  EventBuffer buffer;
  ResultsEncoder encoder("r1-1", "a1");
  Recorder sink;
  std::vector<std::string> wires;
  for (int batch = 0; batch < 3; ++batch) {
    for (int i = 0; i < 1000; ++i) buffer.addSuccess("T.t", {0, 1, std::uint64_t(i), 1});
    wires.push_back(encoder.batch(buffer));
  }
  wires.push_back(encoder.finalBatch(buffer));  // nothing left: an empty final batch
  std::uint64_t received = 0;
  for (std::size_t i = 0; i < wires.size(); ++i) {
    auto info = decodeResultsBatch(wires[i], sink);
    REQUIRE(info.ok());
    CHECK(info->seq == i + 1);
    CHECK(info->final == (i + 1 == wires.size()));
    received += info->replayed;
    CHECK(info->eventsSent == received);
  }
  CHECK(received == 3000);
  CHECK(encoder.eventsSent() == 3000);
  CHECK(sink.calls.size() == 3000);
}

TEST_CASE("a dead slave's parent resends a batch with its own number and ends with the crash",
          "[proto][results]") {
  EventBuffer buffer;
  ResultsEncoder encoder("r1-1", "a1");
  Recorder sink;
  for (int i = 0; i < 5; ++i) buffer.addSuccess("T.t", {0, 1, std::uint64_t(i + 1), 1});
  auto resent = decodeResultsBatch(encoder.resentBatch(buffer, 7, 40), sink);
  REQUIRE(resent.ok());
  CHECK(resent->resent);
  CHECK(resent->seq == 7);
  CHECK(resent->eventsSent == 40);
  CHECK(resent->replayed == 5);
  CHECK(encoder.batchesSent() == 0);  // a resend moves no counter
  encoder.resume(9, 60);
  CrashInfo crash{11, "SIGSEGV", "killed by SIGSEGV in T.t (user 1, hit 3)",        "T.t",
                  1,  3,         {{"libt.so", 0x24d0, "f()+0x0"}, {"", 0x7f00, ""}}};
  buffer.addSuccess("T.t", {0, 1, 4, 1});
  auto last = decodeResultsBatch(encoder.finalBatch(buffer, &crash), sink);
  REQUIRE(last.ok());
  CHECK(last->final);
  CHECK_FALSE(last->resent);
  CHECK(last->seq == 10);
  CHECK(last->eventsSent == 61);
  REQUIRE(last->crash);
  CHECK(last->crash->test == "T.t");
  CHECK(last->crash->hit == 3);
  REQUIRE(last->crash->frames.size() == 2);
  CHECK(last->crash->frames[0].function == "f()+0x0");
  // A plain batch has neither field.
  buffer.addSuccess("T.t", {0, 1, 5, 1});
  ResultsEncoder plain("r1-1", "a2");
  auto batch = decodeResultsBatch(plain.batch(buffer), sink);
  REQUIRE(batch.ok());
  CHECK_FALSE(batch->resent);
  CHECK_FALSE(batch->crash);
}

TEST_CASE("events of unknown kinds or wrong types are skipped and counted", "[proto][results]") {
  const std::string wire = rawEnvelope("RESULTS", [](auto& p) {
    p.pack_array(5);
    p.pack("r1");
    p.pack("a1");
    p.pack(1);
    p.pack(4);
    p.pack_array(4);
    p.pack(std::make_tuple(4, 0, 0, 0, 0, "T.ok"));              // addSuccess: fine
    p.pack(std::make_tuple(99, 0, 0, 0, 0, "from the future"));  // unknown kind
    p.pack(std::make_tuple(4, 0, 0, 0, 0, 12345));               // test name is a number
    p.pack(std::make_tuple(9, 0, 0, 0, 0, "GET /"));             // addHit missing its fields
  });
  Recorder sink;
  auto info = decodeResultsBatch(wire, sink);
  REQUIRE(info.ok());
  CHECK(info->replayed == 1);
  CHECK(info->skipped == 3);
  CHECK(sink.calls.size() == 1);
}

// Issue 12: the kind was cast to the 8-bit EventKind before it was checked, so kind 256
// replayed as startTestRun and 260 as addSuccess.
TEST_CASE("event kinds past 255 are unknown, not wrapped modulo 256", "[proto][results]") {
  const std::string wire = rawEnvelope("RESULTS", [](auto& p) {
    p.pack_array(5);
    p.pack("r1");
    p.pack("a1");
    p.pack(1);
    p.pack(3);
    p.pack_array(3);
    p.pack(std::make_tuple(256, 0, 0, 0, 0));                     // 256 % 256 = startTestRun
    p.pack(std::make_tuple(260, 0, 0, 0, 0, "T.ok"));             // 260 % 256 = addSuccess
    p.pack(std::make_tuple(std::uint64_t{1} << 40, 0, 0, 0, 0));  // wraps to 0 as well
  });
  Recorder sink;
  auto info = decodeResultsBatch(wire, sink);
  REQUIRE(info.ok());
  CHECK(info->replayed == 0);
  CHECK(info->skipped == 3);
  CHECK(sink.calls.empty());
}

// Found by tests/fuzz/results_fuzzer: a time near INT64_MAX or below zero reached the
// aggregating TestResult, whose sums of times overflowed (undefined behaviour).
TEST_CASE("events whose times are negative or beyond kMaxTimeUs are skipped", "[proto][results]") {
  const LoadsStatus s{0, 1, 1, 1};
  auto hitAt = [](std::int64_t startedUs, std::int64_t elapsedUs, std::int64_t plannedUs = 0) {
    return Hit{"GET /",   "http://127.0.0.1/", "GET", 200,      ErrorKind::kNone,
               startedUs, elapsedUs,           10,    plannedUs};
  };
  EventBuffer events;
  events.addHit(hitAt(1'700'000'000'000'000, 1500, 1'699'999'999'999'000), s);  // fine
  events.addHit(hitAt(kMaxTimeUs, kMaxTimeUs), s);                              // fine: the bound
  events.addHit(hitAt(INT64_MAX - 5, 100), s);
  events.addHit(hitAt(1'700'000'000'000'000, -1), s);
  events.addHit(hitAt(INT64_MIN, 0), s);
  events.addHit(hitAt(1'700'000'000'000'000, 10, kMaxTimeUs + 1), s);
  events.stopTest("T.t", std::chrono::microseconds(-7), s);
  events.stopTest("T.t", std::chrono::microseconds(kMaxTimeUs + 1), s);
  events.addDropped("T.t", INT64_MIN, s);
  ResultsEncoder encoder("r1", "a1");
  Recorder sink;
  auto info = decodeResultsBatch(encoder.batch(events), sink);
  REQUIRE(info.ok());
  CHECK(info->replayed == 2);
  CHECK(info->skipped == 7);
  CHECK(sink.calls.size() == 2);
}

TEST_CASE("a bad results header replays nothing", "[proto][results]") {
  Recorder sink;
  const std::string wrongTypes = rawEnvelope("RESULTS", [](auto& p) {
    p.pack(std::make_tuple(1, "a1", 1, 1, std::make_tuple(std::make_tuple(4, 0, 0, 0, 0, "T"))));
  });
  CHECK(decodeResultsBatch(wrongTypes, sink).error() == ErrorCode::kMalformed);
  CHECK(decodeResultsBatch(encode(Ping{}), sink).error() == ErrorCode::kUnexpected);
  EventBuffer buffer;
  buffer.addSuccess("T.t", {});
  ResultsEncoder encoder("r", "a");
  const std::string good = encoder.batch(buffer);
  for (std::size_t length = 0; length < good.size(); ++length) {
    CHECK_FALSE(decodeResultsBatch(std::string_view(good).substr(0, length), sink).ok());
  }
  DecodeLimits tiny;
  tiny.maxMessageSize = 10;
  CHECK(decodeResultsBatch(good, sink, tiny).error() == ErrorCode::kTooLarge);
  CHECK(sink.calls.empty());
}

TEST_CASE("random bytes into the results decoder do not crash", "[proto][results]") {
  std::mt19937 random(777);
  std::uniform_int_distribution<int> byte(0, 255);
  EventBuffer buffer;
  everyCall(buffer);
  const std::uint64_t events = buffer.events();
  ResultsEncoder encoder("r", "a");
  const std::string good = encoder.batch(buffer);
  Recorder sink;
  for (int i = 0; i < 5000; ++i) {
    std::string damaged = good;
    for (int flips = 0; flips < 3; ++flips) {
      damaged[random() % damaged.size()] = static_cast<char>(byte(random));
    }
    auto info = decodeResultsBatch(damaged, sink);
    if (info) CHECK(info->replayed + info->skipped <= events);
  }
}

TEST_CASE("buffers swap so a sender thread can take a full one", "[proto][results]") {
  EventBuffer hot, cold;
  hot.addSuccess("T.t", {});
  hot.swap(cold);
  CHECK(hot.empty());
  CHECK(cold.events() == 1);
  hot.addSuccess("T.u", {});  // the packer still writes into hot
  CHECK(hot.events() == 1);
  ResultsEncoder encoder("r", "a");
  Recorder sink;
  REQUIRE(decodeResultsBatch(encoder.batch(hot), sink).ok());
  REQUIRE(decodeResultsBatch(encoder.batch(cold), sink).ok());
  REQUIRE(sink.calls.size() == 2);
  CHECK_THAT(sink.calls[0], Catch::Contains("T.u"));
  CHECK_THAT(sink.calls[1], Catch::Contains("T.t"));
}

// Issue #11: a sender on the results port names a new request, test, counter and status
// code in every event. Whatever it sends, the master's AggregateResult keeps at most the
// caps' worth of entries: its heap, measured with mallinfo2, stays under a bound that
// 100,000 names with entries of their own would exceed many times over.
TEST_CASE("100,000 distinct names through the results decoder stay under a memory bound") {
  constexpr int kNames = 100'000;
  AggregateOptions caps;  // the defaults: 1,000 names of each kind, 100 status codes
  AggregateResult result(caps);
  ResultsEncoder encoder("run-1", "agent-1");
  EventBuffer events;
  LoadsStatus status;
  status.users = 1;
  std::uint64_t replayedHits = 0;
  std::size_t baseline = 0;
  const auto feed = [&] {
    const std::string wire = encoder.batch(events);
    auto info = decodeResultsBatch(wire, result);
    REQUIRE(info);
    CHECK(info->skipped == 0);
  };
  for (int i = 0; i < kNames; ++i) {
    const std::string id = std::to_string(i);
    const std::string name = "GET /u/" + id, url = "http://127.0.0.1/u/" + id;
    Hit hit;  // holds views: name and url outlive it
    hit.name = name;
    hit.url = url;
    hit.method = "GET";
    hit.status = 100 + i % 900;
    hit.startedUs = 1'700'000'000'000'000 + i * 50;  // 5 s of events
    hit.elapsedUs = 1 + (i * 7919) % 3'000'000;
    events.addHit(hit, status);
    events.stopTest("T.test_" + id, std::chrono::microseconds(i), status);
    events.incrCounter("T.test_" + id, "counter_" + id, 1, status);
    ++replayedHits;
    if (events.bytes() > 60'000) feed();
    // The first 2,000 names settle the allocator's arenas; measure growth after them.
    if (i == 2'000) {
      feed();
      baseline = mallinfo2().uordblks;
    }
  }
  feed();
  const std::size_t grown = mallinfo2().uordblks - baseline;
  INFO("heap growth over 98,000 further names: " << grown << " bytes");
  CHECK(grown < 4u << 20);  // 100,000 entries would take some 100 MiB

  const Snapshot snap = result.snapshot();
  CHECK(snap.requests.size() == caps.maxNames + 1);
  CHECK(snap.tests.size() == caps.maxTests + 1);
  CHECK(snap.allRequests.count == replayedHits);  // every request counted, exactly
  CHECK(snap.requests.at(std::string(kOtherName)).count == kNames - caps.maxNames);
  std::uint64_t byCode = 0;
  for (const auto& [code, n] : snap.allRequests.statusCodes) byCode += n;
  CHECK(byCode == replayedHits);
  CHECK(snap.allRequests.statusCodes.size() == caps.maxStatusCodes + 1);
  std::int64_t counted = 0;
  for (const auto& [name, value] : snap.counters) counted += value;
  CHECK(counted == kNames);
  REQUIRE(snap.overflows.size() == 4);
  CHECK(snap.overflows[0].what == "request names");
  CHECK(snap.overflows[0].firstNames ==
        std::vector<std::string>{"GET /u/1000", "GET /u/1001", "GET /u/1002"});
}

TEST_CASE("the event packer writes msgpack::packer's bytes, value by value and for a whole hit") {
  msgpack::sbuffer want;
  msgpack::packer<msgpack::sbuffer> reference(want);
  EventPacker packer(16);  // small: it grows as it goes
  // Each value into room of its bound, which it must not exceed.
  auto put = [&packer](std::size_t bound, auto&& pack) {
    const std::size_t before = packer.size();
    EventPacker::Out out = packer.reserve(bound);
    pack(out);
    packer.commit(out);
    CHECK(packer.size() - before <= bound);
  };
  const std::uint64_t unsignedValues[] = {
      0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffull, 0x100000000ull, ~std::uint64_t{0}};
  for (std::uint64_t v : unsignedValues) {
    reference.pack_uint64(v);
    put(EventPacker::kMaxScalar, [v](EventPacker::Out& o) { o.uint64(v); });
  }
  const std::int64_t signedValues[] = {0,
                                       5,
                                       -1,
                                       -32,
                                       -33,
                                       -128,
                                       -129,
                                       -32768,
                                       -32769,
                                       -2147483648ll,
                                       -2147483649ll,
                                       std::numeric_limits<std::int64_t>::min(),
                                       70000,
                                       std::numeric_limits<std::int64_t>::max()};
  for (std::int64_t v : signedValues) {
    reference.pack_int64(v);
    put(EventPacker::kMaxScalar, [v](EventPacker::Out& o) { o.int64(v); });
  }
  for (std::size_t n : {0, 31, 32, 255, 256, 65535, 65536}) {
    const std::string text(n, 'x');
    reference.pack(text);
    put(EventPacker::maxStr(text), [&text](EventPacker::Out& o) { o.str(text); });
  }
  for (std::uint32_t n : {0u, 15u, 16u, 65535u, 65536u}) {
    reference.pack_array(n);
    put(EventPacker::kMaxHead, [n](EventPacker::Out& o) { o.array(n); });
  }
  reference.pack(true);
  put(1, [](EventPacker::Out& o) { o.boolean(true); });
  reference.pack(false);
  put(1, [](EventPacker::Out& o) { o.boolean(false); });
  CHECK(std::string_view(packer.data(), packer.size()) ==
        std::string_view(want.data(), want.size()));

  // A phased hit, as the EventBuffer packed it with msgpack's packer before.
  msgpack::sbuffer hitWant;
  msgpack::packer<msgpack::sbuffer> p(hitWant);
  Hit hit;
  hit.name = "GET /a";
  hit.url = "http://127.0.0.1:8080/a?q=" + std::string(40, 'q');
  hit.method = "GET";
  hit.status = 503;
  hit.error = ErrorKind::kTimeout;
  hit.startedUs = 1'800'000'000'123'456;
  hit.elapsedUs = 70'000;
  hit.bytes = 300;
  hit.plannedStartUs = 0;
  hit.phased = true;
  for (std::size_t i = 0; i < kPhaseCount; ++i) hit.phaseUs[i] = static_cast<std::int64_t>(i * 200);
  const LoadsStatus s{100000, 300, 70000, 299};
  p.pack_array(5 + 9 + kPhaseCount);
  p.pack_uint8(static_cast<std::uint8_t>(EventKind::kAddHit));
  p.pack_uint64(s.hits);
  p.pack_uint32(s.users);
  p.pack_uint64(s.currentHit);
  p.pack_uint32(s.currentUser);
  p.pack(hit.name);
  p.pack(hit.url);
  p.pack(hit.method);
  p.pack_int32(hit.status);
  p.pack_uint8(static_cast<std::uint8_t>(hit.error));
  p.pack_int64(hit.startedUs);
  p.pack_int64(hit.elapsedUs);
  p.pack_uint64(hit.bytes);
  p.pack_int64(hit.plannedStartUs);
  for (std::int64_t us : hit.phaseUs) p.pack_int64(us);
  EventBuffer buffer;
  buffer.addHit(hit, s);
  CHECK(buffer.data() == std::string_view(hitWant.data(), hitWant.size()));
}
