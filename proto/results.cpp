// Packing TestResult calls as events, framing them, and replaying them.
#include "proto/results.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <utility>

#include "proto/event_scan.hpp"

namespace loads::proto {

// ---------------------------------------------------------------- EventPacker

// new char[] without (): the bytes are written before they are read, none is zeroed.
EventPacker::EventPacker(std::size_t capacity) : data_(new char[capacity]), capacity_(capacity) {}

void EventPacker::grow(std::size_t bytes) {
  const std::size_t capacity = std::max(2 * capacity_, size_ + bytes);
  std::unique_ptr<char[]> grown(new char[capacity]);
  std::memcpy(grown.get(), data_.get(), size_);
  data_ = std::move(grown);
  capacity_ = capacity;
}

// ---------------------------------------------------------------- EventBuffer

EventBuffer::EventBuffer() : packer_(kDefaultBatchBytes + 4096) {}

std::size_t EventBuffer::bytes() const { return packer_.size(); }

std::string_view EventBuffer::data() const { return {packer_.data(), packer_.size()}; }

void EventBuffer::clear() {
  packer_.clear();
  events_ = 0;
}

void EventBuffer::appendPacked(std::string_view packed, std::uint64_t events) {
  packer_.write(packed.data(), packed.size());
  events_ += events;
}

void EventBuffer::swap(EventBuffer& other) {
  std::swap(packer_, other.packer_);
  std::swap(events_, other.events_);
}

EventPacker::Out EventBuffer::begin(EventKind kind, std::uint32_t args, const LoadsStatus& s,
                                    std::size_t argBytes) {
  EventPacker::Out out =
      packer_.reserve(EventPacker::kMaxHead + 5 * EventPacker::kMaxScalar + argBytes);
  out.array(5 + args);
  out.uint64(static_cast<std::uint8_t>(kind));
  out.uint64(s.hits);
  out.uint64(s.users);
  out.uint64(s.currentHit);
  out.uint64(s.currentUser);
  ++events_;
  return out;
}

namespace {
std::int64_t wallClockUs() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}
constexpr std::size_t kScalar = EventPacker::kMaxScalar;
using Out = EventPacker::Out;
std::size_t str(std::string_view text) { return EventPacker::maxStr(text); }
}  // namespace

// The run's span is the earliest start to the latest stop over every slave, by the
// slaves' own clocks: the master's time of arrival says nothing about a slave that
// started late (PROTOCOL.md §5.3).
void EventBuffer::startTestRun() { startTestRunAt(wallClockUs()); }
void EventBuffer::stopTestRun() { stopTestRunAt(wallClockUs()); }

void EventBuffer::startTestRunAt(std::int64_t epochUs) {
  Out out = begin(EventKind::kStartTestRun, 1, LoadsStatus{}, kScalar);
  out.int64(epochUs);
  packer_.commit(out);
}

void EventBuffer::stopTestRunAt(std::int64_t epochUs) {
  Out out = begin(EventKind::kStopTestRun, 1, LoadsStatus{}, kScalar);
  out.int64(epochUs);
  packer_.commit(out);
}

void EventBuffer::startTest(std::string_view test, const LoadsStatus& s) {
  Out out = begin(EventKind::kStartTest, 1, s, str(test));
  out.str(test);
  packer_.commit(out);
}

void EventBuffer::stopTest(std::string_view test, std::chrono::microseconds elapsed,
                           const LoadsStatus& s) {
  Out out = begin(EventKind::kStopTest, 2, s, str(test) + kScalar);
  out.str(test);
  out.int64(elapsed.count());
  packer_.commit(out);
}

void EventBuffer::addSuccess(std::string_view test, const LoadsStatus& s) {
  Out out = begin(EventKind::kAddSuccess, 1, s, str(test));
  out.str(test);
  packer_.commit(out);
}

void EventBuffer::packFailure(EventKind kind, std::string_view test, const Failure& f,
                              const LoadsStatus& s) {
  Out out = begin(kind, 5, s, str(test) + str(f.type) + str(f.message) + str(f.file) + kScalar);
  out.str(test);
  out.str(f.type);
  out.str(f.message);
  out.str(f.file);
  out.int64(f.line);
  packer_.commit(out);
}

void EventBuffer::addFailure(std::string_view test, const Failure& f, const LoadsStatus& s) {
  packFailure(EventKind::kAddFailure, test, f, s);
}

void EventBuffer::addError(std::string_view test, const Failure& f, const LoadsStatus& s) {
  packFailure(EventKind::kAddError, test, f, s);
}

void EventBuffer::addSkip(std::string_view test, std::string_view reason, const LoadsStatus& s) {
  Out out = begin(EventKind::kAddSkip, 2, s, str(test) + str(reason));
  out.str(test);
  out.str(reason);
  packer_.commit(out);
}

void EventBuffer::addCancelled(std::string_view test, const LoadsStatus& s) {
  Out out = begin(EventKind::kAddCancelled, 1, s, str(test));
  out.str(test);
  packer_.commit(out);
}

void EventBuffer::addHit(const Hit& hit, const LoadsStatus& s) {
  const auto scalars = static_cast<std::uint32_t>(hit.phased ? 6 + kPhaseCount : 6);
  Out out = begin(EventKind::kAddHit, 3 + scalars, s,
                  str(hit.name) + str(hit.url) + str(hit.method) + scalars * kScalar);
  out.str(hit.name);
  out.str(hit.url);
  out.str(hit.method);
  out.int64(hit.status);
  out.uint64(static_cast<std::uint8_t>(hit.error));
  out.int64(hit.startedUs);
  out.int64(hit.elapsedUs);
  out.uint64(hit.bytes);
  out.int64(hit.plannedStartUs);
  if (hit.phased) {
    for (std::int64_t us : hit.phaseUs) out.int64(us);
  }
  packer_.commit(out);
}

void EventBuffer::addDropped(std::string_view test, std::int64_t plannedStartUs,
                             const LoadsStatus& s) {
  Out out = begin(EventKind::kAddDropped, 2, s, str(test) + kScalar);
  out.str(test);
  out.int64(plannedStartUs);
  packer_.commit(out);
}

void EventBuffer::claimRows(std::string_view feed, std::uint32_t run, std::uint64_t upTo,
                            bool exact) {
  Out out = begin(EventKind::kClaimRows, 4, LoadsStatus{}, str(feed) + 2 * kScalar + 1);
  out.str(feed);
  out.uint64(run);
  out.uint64(upTo);
  out.boolean(exact);
  packer_.commit(out);
}

void EventBuffer::incrCounter(std::string_view test, std::string_view name, std::int64_t value,
                              const LoadsStatus& s) {
  Out out = begin(EventKind::kIncrCounter, 3, s, str(test) + str(name) + kScalar);
  out.str(test);
  out.str(name);
  out.int64(value);
  packer_.commit(out);
}

void EventBuffer::socketOpen(std::string_view url, const LoadsStatus& s) {
  Out out = begin(EventKind::kSocketOpen, 1, s, str(url));
  out.str(url);
  packer_.commit(out);
}

void EventBuffer::socketMessage(std::string_view url, Direction direction, std::uint64_t size,
                                const LoadsStatus& s) {
  Out out = begin(EventKind::kSocketMessage, 3, s, str(url) + 2 * kScalar);
  out.str(url);
  out.uint64(static_cast<std::uint8_t>(direction));
  out.uint64(size);
  packer_.commit(out);
}

void EventBuffer::socketClose(std::string_view url, const SocketClose& close,
                              const LoadsStatus& s) {
  Out out = begin(EventKind::kSocketClose, 4, s, str(url) + kScalar + str(close.reason) + 1);
  out.str(url);
  out.int64(close.code);
  out.str(close.reason);
  out.boolean(close.clean);
  packer_.commit(out);
}

// ---------------------------------------------------------------- ResultsEncoder

ResultsEncoder::ResultsEncoder(std::string runId, std::string agentId)
    : runId_(std::move(runId)), agentId_(std::move(agentId)) {}

std::string ResultsEncoder::batch(EventBuffer& events) {
  return frame(MessageType::kResults, events);
}

std::string ResultsEncoder::finalBatch(EventBuffer& events, const CrashInfo* crash) {
  return frame(MessageType::kStopTestRun, events, crash);
}

std::string ResultsEncoder::resentBatch(EventBuffer& events, std::uint64_t seq,
                                        std::uint64_t eventsSent) {
  const std::uint64_t seq0 = seq_, sent0 = eventsSent_;
  seq_ = seq - 1;
  eventsSent_ = eventsSent - events.events();
  std::string message = frame(MessageType::kResults, events, nullptr, true);
  seq_ = seq0;
  eventsSent_ = sent0;
  return message;
}

std::string ResultsEncoder::summary(std::uint64_t events, std::string_view packedSummary) {
  ++seq_;
  eventsSent_ += events;
  msgpack::sbuffer out(packedSummary.size() + 128 + runId_.size() + agentId_.size());
  msgpack::packer<msgpack::sbuffer> packer(out);
  packer.pack_array(4);
  packer.pack(kProtocolName);
  packer.pack(kProtocolVersion);
  packer.pack(messageTypeName(MessageType::kSummary));
  packer.pack_array(6);
  packer.pack(runId_);
  packer.pack(agentId_);
  packer.pack_uint64(seq_);
  packer.pack_uint64(eventsSent_);
  packer.pack_uint64(events);
  out.write(packedSummary.data(), packedSummary.size());
  return std::string(out.data(), out.size());
}

std::string ResultsEncoder::frame(MessageType type, EventBuffer& events, const CrashInfo* crash,
                                  bool resent) {
  ++seq_;
  eventsSent_ += events.events();
  msgpack::sbuffer out(events.bytes() + 128 + runId_.size() + agentId_.size());
  msgpack::packer<msgpack::sbuffer> packer(out);
  packer.pack_array(4);
  packer.pack(kProtocolName);
  packer.pack(kProtocolVersion);
  packer.pack(messageTypeName(type));
  packer.pack_array(crash ? 7 : resent ? 6 : 5);
  packer.pack(runId_);
  packer.pack(agentId_);
  packer.pack_uint64(seq_);
  packer.pack_uint64(eventsSent_);
  packer.pack_array(static_cast<std::uint32_t>(events.events()));
  out.write(events.data().data(), events.data().size());  // events are already packed
  if (crash || resent) packer.pack(resent);
  if (crash) packer.pack(*crash);
  events.clear();
  return std::string(out.data(), out.size());
}

// ---------------------------------------------------------------- decoding

namespace {

using detail::ScannedEvent;
using detail::ScanValue;

// Typed access to an event's elements; any miss marks the event bad.
class EventReader {
 public:
  explicit EventReader(const ScannedEvent& e) : event_(e) {}

  bool ok() const { return ok_; }
  bool has(std::uint32_t i) const { return i < event_.size; }  // for args appended later

  std::uint64_t u(std::uint32_t i) {
    const ScanValue* v = at(i);
    if (!v || v->type != ScanValue::kUint) return fail();
    return v->bits;
  }
  std::int64_t s(std::uint32_t i) {
    const ScanValue* v = at(i);
    if (v && v->type == ScanValue::kNegative) return static_cast<std::int64_t>(v->bits);
    if (v && v->type == ScanValue::kUint &&
        v->bits <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(v->bits);
    }
    return fail();
  }
  std::string_view str(std::uint32_t i) {
    const ScanValue* v = at(i);
    if (!v || v->type != ScanValue::kStr) return (fail(), std::string_view());
    return {v->str, v->size};
  }
  bool b(std::uint32_t i) {
    const ScanValue* v = at(i);
    if (!v || v->type != ScanValue::kBool) return fail() != 0;
    return v->bits != 0;
  }
  // A time or a duration: in [0, kMaxTimeUs].
  std::int64_t time(std::uint32_t i) {
    std::int64_t v = s(i);
    if (v < 0 || v > kMaxTimeUs) return static_cast<std::int64_t>(fail());
    return v;
  }
  int i32(std::uint32_t i) {
    std::int64_t v = s(i);
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) return fail();
    return static_cast<int>(v);
  }

 private:
  const ScanValue* at(std::uint32_t i) const {
    return i < event_.size && i < ScannedEvent::kMaxElements ? &event_.items[i] : nullptr;
  }
  std::uint64_t fail() {
    ok_ = false;
    return 0;
  }
  const ScannedEvent& event_;
  bool ok_ = true;
};

// An event the object decoder produced, as the scanner would have read it.
void toScanned(const msgpack::object& event, ScannedEvent& out) {
  out.size = event.type == msgpack::type::ARRAY ? event.via.array.size : 0;
  for (std::uint32_t i = 0; i < out.size && i < ScannedEvent::kMaxElements; ++i) {
    out.items[i] = detail::scanValueOf(event.via.array.ptr[i]);
  }
}

// Replays one event; false when it is malformed or of an unknown kind. The event is
// fully read before the sink is called, so a bad event makes no call at all.
bool replayEvent(const ScannedEvent& event, TestResult& sink, const RunTimeCallback& runTime) {
  if (event.size < 5) return false;  // not an array, or too short
  EventReader r(event);
  const std::uint64_t kind = r.u(0);
  LoadsStatus st;
  st.hits = r.u(1);
  st.users = static_cast<std::uint32_t>(r.u(2));
  st.currentHit = r.u(3);
  st.currentUser = static_cast<std::uint32_t>(r.u(4));
  // Checked before the cast: EventKind is 8 bits, and kind 256 must not replay as kind 0.
  if (!r.ok() || kind > static_cast<std::uint64_t>(kLastEventKind)) return false;
  switch (static_cast<EventKind>(kind)) {
    case EventKind::kStartTestRun:
    case EventKind::kStopTestRun: {
      const auto run = static_cast<EventKind>(kind);
      const bool timed = r.has(5);  // absent from a sender older than the at-us arg
      const std::int64_t at = timed ? r.time(5) : 0;
      if (!r.ok()) return false;
      if (timed && runTime) {
        runTime(run, at);
      } else if (run == EventKind::kStartTestRun) {
        sink.startTestRun();
      } else {
        sink.stopTestRun();
      }
      return true;
    }
    case EventKind::kStartTest: {
      auto test = r.str(5);
      if (r.ok()) sink.startTest(test, st);
      return r.ok();
    }
    case EventKind::kStopTest: {
      auto test = r.str(5);
      auto elapsed = r.time(6);
      if (r.ok()) sink.stopTest(test, std::chrono::microseconds(elapsed), st);
      return r.ok();
    }
    case EventKind::kAddSuccess: {
      auto test = r.str(5);
      if (r.ok()) sink.addSuccess(test, st);
      return r.ok();
    }
    case EventKind::kAddFailure:
    case EventKind::kAddError: {
      auto test = r.str(5);
      Failure f{r.str(6), r.str(7), r.str(8), r.i32(9)};
      if (!r.ok()) return false;
      if (static_cast<EventKind>(kind) == EventKind::kAddFailure) {
        sink.addFailure(test, f, st);
      } else {
        sink.addError(test, f, st);
      }
      return true;
    }
    case EventKind::kAddSkip: {
      auto test = r.str(5);
      auto reason = r.str(6);
      if (r.ok()) sink.addSkip(test, reason, st);
      return r.ok();
    }
    case EventKind::kAddCancelled: {
      auto test = r.str(5);
      if (r.ok()) sink.addCancelled(test, st);
      return r.ok();
    }
    case EventKind::kAddHit: {
      Hit hit;
      hit.name = r.str(5);
      hit.url = r.str(6);
      hit.method = r.str(7);
      hit.status = r.i32(8);
      const std::uint64_t error = r.u(9);
      hit.startedUs = r.time(10);
      hit.elapsedUs = r.time(11);
      hit.bytes = r.u(12);
      if (r.has(13)) hit.plannedStartUs = r.time(13);
      hit.phased = r.has(14);  // absent from a sender older than the phases, and off HTTP
      if (hit.phased) {
        for (std::size_t i = 0; i < kPhaseCount; ++i) hit.phaseUs[i] = r.time(14 + i);
      }
      if (!r.ok() || error > static_cast<std::uint64_t>(ErrorKind::kOther)) return false;
      hit.error = static_cast<ErrorKind>(error);
      sink.addHit(hit, st);
      return true;
    }
    case EventKind::kIncrCounter: {
      auto test = r.str(5);
      auto name = r.str(6);
      auto value = r.s(7);
      if (r.ok()) sink.incrCounter(test, name, value, st);
      return r.ok();
    }
    case EventKind::kSocketOpen: {
      auto url = r.str(5);
      if (r.ok()) sink.socketOpen(url, st);
      return r.ok();
    }
    case EventKind::kSocketMessage: {
      auto url = r.str(5);
      auto direction = r.u(6);
      auto size = r.u(7);
      if (!r.ok() || direction > 1) return false;
      sink.socketMessage(url, static_cast<Direction>(direction), size, st);
      return true;
    }
    case EventKind::kSocketClose: {
      auto url = r.str(5);
      SocketClose close;
      close.code = r.i32(6);
      close.reason = r.str(7);
      close.clean = r.b(8);
      if (r.ok()) sink.socketClose(url, close, st);
      return r.ok();
    }
    case EventKind::kAddDropped: {
      auto test = r.str(5);
      auto planned = r.time(6);
      if (r.ok()) sink.addDropped(test, planned, st);
      return r.ok();
    }
    case EventKind::kClaimRows: {
      auto feed = r.str(5);
      auto run = r.u(6);
      auto upTo = r.u(7);
      auto exact = r.b(8);
      if (!r.ok() || run > UINT32_MAX) return false;
      sink.claimRows(feed, static_cast<std::uint32_t>(run), upTo, exact);
      return true;
    }
  }
  return false;  // a kind from a newer sender
}

// The envelope and header of a RESULTS / STOP-TEST-RUN message as this version sends
// them, scanned (event_scan.hpp): the events are framed first, since the header's last
// fields (resent) follow them and beforeReplay needs them. Nothing when the message is
// anything else, or anything unusual (crash, extension fields, limits): the object
// decoder then decodes it, and refuses it, as it always did.
struct ScannedBatch {
  BatchInfo info;
  std::string_view typeName;
  std::string_view events;  // the packed events
};

std::optional<ScannedBatch> scanBatch(std::string_view bytes, const DecodeLimits& limits) {
  if (bytes.size() > limits.maxMessageSize || limits.maxDepth < 4) return std::nullopt;
  detail::EventScanner scan(bytes, limits);
  ScannedBatch batch;
  std::uint32_t n = 0;
  std::string_view name;
  std::uint64_t version = 0;
  if (!scan.array(n) || n != 4 || !scan.str(name) || name != kProtocolName || !scan.uint(version) ||
      version != kProtocolVersion || !scan.str(batch.typeName)) {
    return std::nullopt;
  }
  const bool results = batch.typeName == messageTypeName(MessageType::kResults);
  if (!results && batch.typeName != messageTypeName(MessageType::kStopTestRun)) return std::nullopt;
  BatchInfo& info = batch.info;
  std::uint32_t fields = 0, events = 0;
  std::string_view runId, agentId;
  if (!scan.array(fields) || fields < 5 || fields > 6 || !scan.str(runId) || !scan.str(agentId) ||
      !scan.uint(info.seq) || !scan.uint(info.eventsSent) || !scan.array(events)) {
    return std::nullopt;
  }
  const char* first = scan.position();
  for (std::uint32_t i = 0; i < events; ++i) {
    if (!scan.skipEvent()) return std::nullopt;
  }
  batch.events = {first, static_cast<std::size_t>(scan.position() - first)};
  if (fields == 6) {
    ScanValue resent;
    if (!scan.scalar(resent)) return std::nullopt;
    info.resent = resent.type == ScanValue::kBool && resent.bits;
  }
  if (!scan.atEnd()) return std::nullopt;
  info.runId.assign(runId);
  info.agentId.assign(agentId);
  info.final = !results;
  info.events = events;
  return batch;
}

// Replays the events the object decoder produced.
void replayObjects(const msgpack::object_array& events, TestResult& sink,
                   const RunTimeCallback& runTime, BatchInfo& info) {
  ScannedEvent event;
  for (std::uint32_t i = 0; i < events.size; ++i) {
    toScanned(events.ptr[i], event);
    if (replayEvent(event, sink, runTime)) {
      ++info.replayed;
    } else {
      ++info.skipped;
    }
  }
}

}  // namespace

std::uint64_t replayPacked(std::string_view packed, std::uint32_t events, TestResult& sink,
                           const RunTimeCallback& runTime) {
  std::uint64_t replayed = 0;
  const DecodeLimits limits;
  detail::EventScanner scan(packed, limits);
  ScannedEvent event;
  std::uint32_t i = 0;
  for (; i < events && !scan.atEnd(); ++i) {
    const char* at = scan.position();
    if (!scan.event(event)) {  // something this version never packs: the object decoder
      std::size_t offset = static_cast<std::size_t>(at - packed.data());
      msgpack::zone zone;
      for (; i < events && offset < packed.size(); ++i) {
        try {
          toScanned(msgpack::unpack(zone, packed.data(), packed.size(), offset), event);
        } catch (const std::exception&) {
          break;  // the rest cannot be framed
        }
        replayed += replayEvent(event, sink, runTime) ? 1 : 0;
      }
      return replayed;
    }
    replayed += replayEvent(event, sink, runTime) ? 1 : 0;
  }
  return replayed;
}

Decoded<BatchInfo> decodeResultsBatch(std::string_view bytes, TestResult& sink,
                                      const DecodeLimits& limits,
                                      const std::function<bool(const BatchInfo&)>& beforeReplay,
                                      const RunTimeCallback& runTime) {
  using R = Decoded<BatchInfo>;
  if (auto scanned = scanBatch(bytes, limits)) {
    BatchInfo& info = scanned->info;
    if (beforeReplay && !beforeReplay(info)) {
      return R::failure(ErrorCode::kUnknownRun,
                        std::string(scanned->typeName) + " refused by the receiver");
    }
    detail::EventScanner scan(scanned->events, limits);
    ScannedEvent event;
    for (std::uint64_t i = 0; i < info.events; ++i) {
      scan.event(event);  // framed by scanBatch already
      if (replayEvent(event, sink, runTime)) {
        ++info.replayed;
      } else {
        ++info.skipped;
      }
    }
    return R::success(std::move(info));
  }
  auto envelope = decodeEnvelope(bytes, limits, /*reference=*/true);
  if (!envelope) return R::failure(envelope.error(), envelope.reason());
  const auto type = envelope->type;
  if (type != MessageType::kResults && type != MessageType::kStopTestRun) {
    return R::failure(ErrorCode::kUnexpected,
                      "expected RESULTS or STOP-TEST-RUN, got " + envelope->typeName);
  }
  const msgpack::object_array& body = envelope->body.via.array;
  if (body.size < 5 || body.ptr[0].type != msgpack::type::STR ||
      body.ptr[1].type != msgpack::type::STR ||
      body.ptr[2].type != msgpack::type::POSITIVE_INTEGER ||
      body.ptr[3].type != msgpack::type::POSITIVE_INTEGER ||
      body.ptr[4].type != msgpack::type::ARRAY) {
    return R::failure(ErrorCode::kMalformed, envelope->typeName + " header has wrong types");
  }
  BatchInfo info;
  info.runId.assign(body.ptr[0].via.str.ptr, body.ptr[0].via.str.size);
  info.agentId.assign(body.ptr[1].via.str.ptr, body.ptr[1].via.str.size);
  info.seq = body.ptr[2].via.u64;
  info.eventsSent = body.ptr[3].via.u64;
  info.final = type == MessageType::kStopTestRun;
  const msgpack::object_array& events = body.ptr[4].via.array;
  info.events = events.size;
  info.resent =
      body.size >= 6 && body.ptr[5].type == msgpack::type::BOOLEAN && body.ptr[5].via.boolean;
  if (info.final && body.size >= 7 && body.ptr[6].type == msgpack::type::ARRAY) {
    try {  // a crash that does not decode is left out; the slave's signal still tells
      info.crash = body.ptr[6].as<CrashInfo>();
    } catch (const std::exception&) {
    }
  }
  if (beforeReplay && !beforeReplay(info)) {
    return R::failure(ErrorCode::kUnknownRun, envelope->typeName + " refused by the receiver");
  }
  replayObjects(events, sink, runTime, info);
  return R::success(std::move(info));
}

namespace detail {
ScanValue scanValueOf(const msgpack::object& o) {
  ScanValue v{};
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      v.type = ScanValue::kUint;
      v.bits = o.via.u64;
      break;
    case msgpack::type::NEGATIVE_INTEGER:
      v.type = ScanValue::kNegative;
      v.bits = static_cast<std::uint64_t>(o.via.i64);
      break;
    case msgpack::type::STR:
      v.type = ScanValue::kStr;
      v.str = o.via.str.ptr;
      v.size = o.via.str.size;
      break;
    case msgpack::type::BOOLEAN:
      v.type = ScanValue::kBool;
      v.bits = o.via.boolean;
      break;
    default:
      break;
  }
  return v;
}
}  // namespace detail

}  // namespace loads::proto
