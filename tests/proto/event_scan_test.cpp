// The event scanner (proto/event_scan.hpp): it frames every msgpack scalar as msgpack's
// own decoder reads it, and a batch or a record it cannot read is decoded by the object
// decoder with the same outcome as before.
#include "proto/event_scan.hpp"

#include <catch2/catch.hpp>
#include <msgpack.hpp>
#include <string>
#include <vector>

#include "proto/results.hpp"

using namespace loads;
using namespace loads::proto;
using detail::EventScanner;
using detail::ScanValue;

namespace {

class Calls : public TestResult {
 public:
  std::vector<std::string> calls;
  void startTestRun() override {}
  void stopTestRun() override {}
  void startTest(std::string_view, const LoadsStatus&) override {}
  void stopTest(std::string_view, std::chrono::microseconds, const LoadsStatus&) override {}
  void addSuccess(std::string_view t, const LoadsStatus& s) override {
    calls.push_back("success " + std::string(t) + " " + std::to_string(s.currentHit));
  }
  void addFailure(std::string_view, const Failure&, const LoadsStatus&) override {}
  void addError(std::string_view, const Failure&, const LoadsStatus&) override {}
  void addSkip(std::string_view, std::string_view, const LoadsStatus&) override {}
  void addCancelled(std::string_view, const LoadsStatus&) override {}
  void addHit(const Hit& h, const LoadsStatus&) override {
    calls.push_back("hit " + std::string(h.name) + " " + std::to_string(h.status) + " " +
                    std::to_string(h.elapsedUs));
  }
  void incrCounter(std::string_view, std::string_view, std::int64_t, const LoadsStatus&) override {}
  void socketOpen(std::string_view, const LoadsStatus&) override {}
  void socketMessage(std::string_view, Direction, std::uint64_t, const LoadsStatus&) override {}
  void socketClose(std::string_view, const SocketClose&, const LoadsStatus&) override {}
};

using Packer = msgpack::packer<msgpack::sbuffer>;

void status(Packer& p, std::uint8_t kind, std::uint32_t args, std::uint64_t hit) {
  p.pack_array(5 + args);
  p.pack_uint8(kind);
  p.pack_uint64(1);
  p.pack_uint32(1);
  p.pack_uint64(hit);
  p.pack_uint32(1);
}

// Six events as a sender of this version never packs them: two good ones in other
// formats, three bad ones, and a good one after them. Packed one after the other.
std::string oddEvents() {
  msgpack::sbuffer b;
  Packer p(b);
  const std::string longName(300, 'n');  // str16
  status(p, static_cast<std::uint8_t>(EventKind::kAddSuccess), 1, 1);
  p.pack(longName);
  p.pack_array(5 + 9);  // addHit, status and elapsed as int64 and int16 formats
  p.pack_int64(static_cast<std::int64_t>(EventKind::kAddHit));
  p.pack_int8(1);
  p.pack_int16(1);
  p.pack_int32(2);
  p.pack_int64(1);
  p.pack("GET /a");
  p.pack("http://h/a");
  p.pack("GET");
  p.pack_int64(200);
  p.pack_uint8(0);
  p.pack_int64(1700000000000000);
  p.pack_int16(1234);
  p.pack_uint64(10);
  p.pack_int64(0);
  p.pack_map(1);  // a map: not an event
  p.pack("k");
  p.pack(1);
  p.pack_nil();                                                        // a scalar: not an event
  status(p, static_cast<std::uint8_t>(EventKind::kAddSuccess), 1, 3);  // a nested array
  p.pack_array(1);
  p.pack(1);
  status(p, static_cast<std::uint8_t>(EventKind::kAddSuccess), 1, 4);  // a good one after them
  p.pack("after");
  return {b.data(), b.size()};
}

std::string batchOf(const std::string& events, std::uint32_t count) {
  msgpack::sbuffer b;
  Packer p(b);
  p.pack_array(4);
  p.pack(kProtocolName);
  p.pack(kProtocolVersion);
  p.pack(messageTypeName(MessageType::kResults));
  p.pack_array(5);
  p.pack("run");
  p.pack("agent");
  p.pack_uint64(1);
  p.pack_uint64(count);
  p.pack_array(count);
  b.write(events.data(), events.size());
  return {b.data(), b.size()};
}

}  // namespace

TEST_CASE("every msgpack scalar format is framed and read as msgpack's decoder reads it") {
  msgpack::sbuffer b;
  Packer p(b);
  p.pack_uint8(7);
  p.pack_uint8(200);
  p.pack_uint16(60000);
  p.pack_uint32(4000000000u);
  p.pack_uint64(~std::uint64_t{0});
  p.pack_int8(-5);
  p.pack_int8(-100);
  p.pack_int16(-30000);
  p.pack_int32(-2000000000);
  p.pack_int64(-(std::int64_t{1} << 62));
  p.pack_int64(5);
  p.pack(std::string(10, 's'));
  p.pack(std::string(40, 's'));
  p.pack(std::string(300, 's'));
  p.pack(std::string(70000, 's'));
  p.pack_nil();
  p.pack(true);
  p.pack(false);
  p.pack_float(1.5f);
  p.pack_double(2.5);
  p.pack_bin(3);
  p.pack_bin_body("abc", 3);
  p.pack_bin(300);
  p.pack_bin_body(std::string(300, 'b').data(), 300);
  for (std::uint32_t n : {1u, 2u, 4u, 8u, 16u, 3u, 300u}) {
    p.pack_ext(n, 9);
    p.pack_ext_body(std::string(n, 'e').data(), n);
  }
  const std::string bytes(b.data(), b.size());
  const DecodeLimits limits;
  EventScanner scan(bytes, limits);
  std::size_t offset = 0, values = 0;
  msgpack::zone zone;
  while (offset < bytes.size()) {
    const ScanValue want = loads::proto::detail::scanValueOf(
        msgpack::unpack(zone, bytes.data(), bytes.size(), offset));
    ScanValue got{};
    REQUIRE(scan.scalar(got));
    CHECK(int(got.type) == int(want.type));
    CHECK(got.bits == want.bits);
    CHECK(std::string_view(got.str, got.size) == std::string_view(want.str, want.size));
    CHECK(scan.position() == bytes.data() + offset);
    ++values;
  }
  CHECK(values == 29);
  CHECK(scan.atEnd());
  ScanValue none;
  CHECK_FALSE(scan.scalar(none));                                 // nothing left
  for (std::size_t cut = 0; cut + 1 < bytes.size(); cut += 97) {  // truncated input
    EventScanner partial(std::string_view(bytes).substr(0, cut), limits);
    ScanValue v;
    while (partial.scalar(v)) {
    }
    CHECK(partial.position() <= bytes.data() + cut);
  }
}

TEST_CASE("events the scanner cannot read are replayed by the object decoder as before") {
  const std::string events = oddEvents();
  const std::vector<std::string> want = {"success " + std::string(300, 'n') + " 1",
                                         "hit GET /a 200 1234", "success after 4"};
  SECTION("in a RESULTS batch") {
    Calls sink;
    auto batch = decodeResultsBatch(batchOf(events, 6), sink);
    INFO(batch.reason());
    REQUIRE(batch.ok());
    CHECK(batch->replayed == 3);
    CHECK(batch->skipped == 3);
    CHECK(sink.calls == want);
  }
  SECTION("in an event ring record") {
    Calls sink;
    CHECK(replayPacked(events, 6, sink) == 3);
    CHECK(sink.calls == want);
  }
  SECTION("a well-formed batch still goes the fast way, and replays the same") {
    EventBuffer buffer;
    LoadsStatus s{1, 1, 1, 1};
    buffer.addSuccess(std::string(300, 'n'), s);
    Hit hit;
    hit.name = "GET /a";
    hit.url = "http://h/a";
    hit.method = "GET";
    hit.status = 200;
    hit.startedUs = 1700000000000000;
    hit.elapsedUs = 1234;
    buffer.addHit(hit, s);
    s.currentHit = 4;
    buffer.addSuccess("after", s);
    ResultsEncoder encoder("run", "agent");
    Calls sink;
    auto batch = decodeResultsBatch(encoder.batch(buffer), sink);
    REQUIRE(batch.ok());
    CHECK(batch->replayed == 3);
    CHECK(sink.calls == want);
  }
}

TEST_CASE("a batch over the decoder's limits is refused by either path alike") {
  std::string events;
  {
    EventBuffer buffer;
    for (int i = 0; i < 100; ++i) buffer.addSuccess("t", LoadsStatus{1, 1, 1, 1});
    events = std::string(buffer.data());
  }
  Calls sink;
  DecodeLimits limits;
  limits.maxArray = 50;
  CHECK(decodeResultsBatch(batchOf(events, 100), sink, limits).error() == ErrorCode::kMalformed);
  limits = {};
  limits.maxObjects = 300;
  CHECK(decodeResultsBatch(batchOf(events, 100), sink, limits).error() == ErrorCode::kTooLarge);
  CHECK(sink.calls.empty());
  CHECK(decodeResultsBatch(batchOf(events, 100), sink).ok());
  CHECK(sink.calls.size() == 100);
}
