// Small rules of counting that the aggregate (aggregate_result.cpp) and the summary
// builder (summary_builder.cpp) must apply alike, or a summary would not merge into what
// the calls give. Internal to stats/; stateless. Header-only on purpose: the slave links
// the summary builder and must not link the aggregate (tests/install/layering_test.sh).
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "stats/aggregate_result.hpp"

namespace loads::counting {

// Lets a string_view find an existing std::string key without building a string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// The Unix second of a time in µs (rounding down, before 1970 too).
inline std::int64_t secondOf(std::int64_t us) {
  return us >= 0 ? us / 1'000'000 : -((-us + 999'999) / 1'000'000);
}

// Counters hold the test's own int64 values (or a peer's): their sums saturate at the
// int64 limits instead of overflowing.
inline void addToCounter(std::int64_t& counter, std::int64_t value) {
  if (__builtin_add_overflow(counter, value, &counter)) counter = value > 0 ? INT64_MAX : INT64_MIN;
}

// RequestSummary::errorKinds' index of a kind (an unknown one counts as kOther).
inline std::size_t errorKindIndex(ErrorKind kind) {
  auto i = static_cast<std::size_t>(kind);
  return i < kErrorKindCount ? i : static_cast<std::size_t>(ErrorKind::kOther);
}

// The key that tells distinct error samples apart (kind, test, type, message, file, line),
// written into `key` (reused, so that building it does not allocate).
inline void errorSampleKey(std::string& key, bool failure, std::string_view test,
                           const Failure& f) {
  key.clear();
  key.push_back(failure ? 'F' : 'E');
  for (std::string_view part : {test, f.type, f.message, f.file})
    key.append(part).push_back('\x1f');
  key.append(std::to_string(f.line));
}

// The socket calls in the socket totals.
inline void countSocketMessage(SocketSummary& k, Direction direction, std::uint64_t size) {
  if (direction == Direction::kSent) {
    ++k.messagesSent;
    k.bytesSent += size;
  } else {
    ++k.messagesReceived;
    k.bytesReceived += size;
  }
}
inline void countSocketClose(SocketSummary& k, const SocketClose& close) {
  ++k.closed;
  k.failed += !close.clean;
}

// One hit in its request's figures, all but its status code (the aggregate caps status
// codes, a summary lists them in first-hit order; neither lists one for a measure() call
// that succeeded: status 0 without an error kind).
inline void countHit(RequestSummary& r, const Hit& hit) {
  const std::int64_t endedUs = hit.startedUs + hit.elapsedUs;
  ++r.count;
  r.failures += isFailedHit(hit);
  r.bytes += hit.bytes;
  if (hit.error != ErrorKind::kNone) ++r.errorKinds[errorKindIndex(hit.error)];
  r.latency.record(hit.elapsedUs);
  if (hit.plannedStartUs > 0 && hit.plannedStartUs <= hit.startedUs) {
    ++r.planned;
    r.latencyCorrected.record(endedUs - hit.plannedStartUs);
  } else {
    r.latencyCorrected.record(hit.elapsedUs);
  }
  if (hit.phased) {
    ++r.phased;
    for (std::size_t i = 0; i < kPhaseCount; ++i) r.phases[i].record(hit.phaseUs[i]);
  }
  if (!r.firstStartedUs || hit.startedUs < r.firstStartedUs) r.firstStartedUs = hit.startedUs;
  r.lastEndedUs = std::max(r.lastEndedUs, endedUs);
}

}  // namespace loads::counting
