// SUMMARY: IntervalSummary to its wire form and back, every value checked on the way in.
#include "proto/summary.hpp"

#include <optional>

namespace loads::proto {
namespace {

wire::Histogram toWire(const loads::Histogram& h) {
  loads::Histogram::Parts p = h.parts();
  return {std::move(p.counts), p.clamped, p.min, p.max, p.sum};
}

wire::Summary toWire(const IntervalSummary& m) {
  wire::Summary w;
  w.runStartedUs = m.runStartedUs;
  w.runStoppedUs = m.runStoppedUs;
  w.firstEventUs = m.firstEventUs;
  w.lastEventUs = m.lastEventUs;
  for (const auto& t : m.tests) {
    const TestSummary& c = t.counts;
    w.tests.push_back({t.name, c.started, c.stopped, c.successes, c.failures, c.errors, c.skips,
                       c.cancelled, c.dropped, toWire(c.hitTime)});
  }
  for (const auto& r : m.requests) {
    const RequestSummary& c = r.counts;
    w.requests.push_back({r.name,
                          c.count,
                          c.failures,
                          c.bytes,
                          c.planned,
                          {c.errorKinds.begin(), c.errorKinds.end()},
                          toWire(c.latency),
                          toWire(c.latencyCorrected),
                          c.firstStartedUs,
                          c.lastEndedUs,
                          c.phased,
                          {}});
    if (c.phased > 0) {
      for (const loads::Histogram& h : c.phases) w.requests.back().phases.push_back(toWire(h));
    }
  }
  for (const auto& s : m.statuses) w.statuses.push_back({s.request, s.status, s.count});
  for (const auto& c : m.counters) w.counters.push_back({c.test, c.name, c.value, c.events});
  const SocketSummary& k = m.sockets;
  w.sockets = {k.opened,           k.closed,    k.failed,       k.messagesSent,
               k.messagesReceived, k.bytesSent, k.bytesReceived};
  for (const auto& e : m.errors) {
    w.errors.push_back({e.failure, e.test, e.type, e.message, e.file, e.line, e.count});
  }
  for (const auto& s : m.seconds) {
    w.seconds.push_back(
        {s.second, s.requests, s.errors, s.testFailures, s.dropped, s.users, toWire(s.latency)});
  }
  for (const auto& [key, claim] : m.rows) {
    w.rows.push_back({key.first, key.second, claim.upTo, claim.exact});
  }
  return w;
}

bool isTime(std::int64_t us) { return us >= 0 && us <= kMaxTimeUs; }

// Fills `out` from `w`; false at the first value that cannot be (nothing is half-read:
// the caller drops the whole message).
bool fromWire(const wire::Histogram& w, loads::Histogram& out) {
  auto h = loads::Histogram::fromParts({w.counts, w.clamped, w.min, w.max, w.sum});
  if (!h) return false;
  out = std::move(*h);
  return true;
}

bool fromWire(wire::Summary& w, IntervalSummary& m) {
  if (!isTime(w.runStartedUs) || !isTime(w.runStoppedUs) || !isTime(w.firstEventUs) ||
      !isTime(w.lastEventUs)) {
    return false;
  }
  m.runStartedUs = w.runStartedUs;
  m.runStoppedUs = w.runStoppedUs;
  m.firstEventUs = w.firstEventUs;
  m.lastEventUs = w.lastEventUs;
  for (auto& t : w.tests) {
    auto& entry = m.tests.emplace_back();
    entry.name = std::move(t.name);
    TestSummary& d = entry.counts;
    d.started = t.started, d.stopped = t.stopped, d.successes = t.successes;
    d.failures = t.failures, d.errors = t.errors, d.skips = t.skips;
    d.cancelled = t.cancelled, d.dropped = t.dropped;
    if (!fromWire(t.hitTime, d.hitTime)) return false;
  }
  for (auto& r : w.requests) {
    auto& entry = m.requests.emplace_back();
    entry.name = std::move(r.name);
    RequestSummary& d = entry.counts;
    d.count = r.count, d.failures = r.failures, d.bytes = r.bytes, d.planned = r.planned;
    if (r.errorKinds.size() > d.errorKinds.size() || !isTime(r.firstStartedUs) ||
        !isTime(r.lastEndedUs) || !fromWire(r.latency, d.latency) ||
        !fromWire(r.latencyCorrected, d.latencyCorrected)) {
      return false;
    }
    std::copy(r.errorKinds.begin(), r.errorKinds.end(), d.errorKinds.begin());
    d.firstStartedUs = r.firstStartedUs, d.lastEndedUs = r.lastEndedUs;
    if (r.phases.size() != (r.phased > 0 ? kPhaseCount : 0)) return false;
    d.phased = r.phased;
    for (std::size_t i = 0; i < r.phases.size(); ++i) {
      if (!fromWire(r.phases[i], d.phases[i])) return false;
    }
  }
  for (const auto& s : w.statuses) {
    if (s.request >= m.requests.size()) return false;
    m.statuses.push_back({s.request, s.status, s.count});
  }
  for (auto& c : w.counters) {
    if (c.test < -1 || c.test >= static_cast<std::int64_t>(m.tests.size())) return false;
    m.counters.push_back({c.test, std::move(c.name), c.value, c.events});
  }
  const wire::Sockets& k = w.sockets;
  m.sockets = {k.opened,           k.closed,    k.failed,       k.messagesSent,
               k.messagesReceived, k.bytesSent, k.bytesReceived};
  for (auto& e : w.errors) {
    m.errors.push_back({e.failure, std::move(e.test), std::move(e.type), std::move(e.message),
                        std::move(e.file), e.line, e.count});
  }
  for (auto& s : w.seconds) {
    if (!isTime(s.second)) return false;  // a second of Unix time is far below the bound
    auto& d = m.seconds.emplace_back();
    d.second = s.second, d.requests = s.requests, d.errors = s.errors;
    d.testFailures = s.testFailures, d.dropped = s.dropped, d.users = s.users;
    if (!fromWire(s.latency, d.latency)) return false;
  }
  for (auto& r : w.rows) {
    RowClaim& claim = m.rows[{std::move(r.feed), r.run}];
    claim.upTo = r.upTo;
    claim.exact = r.exact;
  }
  return true;
}

}  // namespace

std::string encodeSummary(ResultsEncoder& encoder, const IntervalSummary& summary) {
  msgpack::sbuffer packed;
  msgpack::pack(packed, toWire(summary));
  return encoder.summary(summary.events, std::string_view(packed.data(), packed.size()));
}

Decoded<SummaryBatch> decodeSummaryBatch(std::string_view bytes, const DecodeLimits& limits) {
  using R = Decoded<SummaryBatch>;
  auto envelope = decodeEnvelope(bytes, limits, /*reference=*/true);
  if (!envelope) return R::failure(envelope.error(), envelope.reason());
  if (envelope->type != MessageType::kSummary) {
    return R::failure(ErrorCode::kUnexpected, "expected SUMMARY, got " + envelope->typeName);
  }
  wire::SummaryBody body;
  try {
    envelope->body.convert(body);
  } catch (const std::exception& e) {
    return R::failure(ErrorCode::kMalformed, "SUMMARY body: " + detail::describeException(e));
  }
  SummaryBatch batch;
  batch.info.runId = std::move(body.runId);
  batch.info.agentId = std::move(body.agentId);
  batch.info.seq = body.seq;
  batch.info.eventsSent = body.eventsSent;
  batch.info.events = batch.info.replayed = body.events;
  batch.summary.events = body.events;
  if (!fromWire(body.summary, batch.summary)) {
    return R::failure(ErrorCode::kMalformed, "SUMMARY has a value out of range");
  }
  return R::success(std::move(batch));
}

}  // namespace loads::proto
