// The SUMMARY message (PROTOCOL.md §5.4): a slave's TestResult calls of one interval
// folded into an IntervalSummary (--results summary) instead of sent one by one. It is
// numbered and counted with the slave's RESULTS and STOP-TEST-RUN (ResultsEncoder): its
// `events` says how many calls it folds, so the master's sent/received tally is the same.
//
// Thread-safety: the functions are reentrant. The wire structs below are the msgpack
// form of IntervalSummary's parts, in the field order of PROTOCOL.md §5.4.
#pragma once

#include <cstdint>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "proto/messages.hpp"
#include "proto/results.hpp"
#include "stats/interval_summary.hpp"

namespace loads::proto {

// A SUMMARY message of `summary` (its `events` folded calls), framed by `encoder`.
std::string encodeSummary(ResultsEncoder& encoder, const IntervalSummary& summary);

struct SummaryBatch {
  BatchInfo info;  // info.events = info.replayed = the calls folded; final is false
  IntervalSummary summary;
};

// Decodes a SUMMARY message; kUnexpected for another type (a RESULTS, say), kMalformed
// for wrong types, an index to no entry, a histogram that cannot be one or a `*-us`
// outside [0, kMaxTimeUs]. Nothing is partly decoded. Never throws.
Decoded<SummaryBatch> decodeSummaryBatch(std::string_view bytes, const DecodeLimits& limits = {});

namespace wire {  // PROTOCOL.md §5.4, field by field

struct Histogram {
  std::vector<std::uint64_t> counts;  // bucket index, count, ... ascending
  std::uint64_t clamped = 0;
  std::int64_t min = 0, max = 0, sum = 0;
  MSGPACK_DEFINE_ARRAY(counts, clamped, min, max, sum);
};
struct Test {
  std::string name;
  std::uint64_t started = 0, stopped = 0, successes = 0, failures = 0, errors = 0, skips = 0,
                cancelled = 0, dropped = 0;
  Histogram hitTime;
  MSGPACK_DEFINE_ARRAY(name, started, stopped, successes, failures, errors, skips, cancelled,
                       dropped, hitTime);
};
struct Request {
  std::string name;
  std::uint64_t count = 0, failures = 0, bytes = 0, planned = 0;
  std::vector<std::uint64_t> errorKinds;  // by ErrorKind
  Histogram latency, latencyCorrected;
  std::int64_t firstStartedUs = 0, lastEndedUs = 0;
  std::uint64_t phased = 0;       // hits with HTTP phase timings
  std::vector<Histogram> phases;  // by Phase when phased > 0, else none
  MSGPACK_DEFINE_ARRAY(name, count, failures, bytes, planned, errorKinds, latency, latencyCorrected,
                       firstStartedUs, lastEndedUs, phased, phases);
};
struct Status {
  std::uint32_t request = 0;
  std::int32_t status = 0;
  std::uint64_t count = 0;
  MSGPACK_DEFINE_ARRAY(request, status, count);
};
struct Counter {
  std::int64_t test = -1;
  std::string name;
  std::int64_t value = 0;
  std::uint64_t events = 0;
  MSGPACK_DEFINE_ARRAY(test, name, value, events);
};
struct Sockets {
  std::uint64_t opened = 0, closed = 0, failed = 0, messagesSent = 0, messagesReceived = 0,
                bytesSent = 0, bytesReceived = 0;
  MSGPACK_DEFINE_ARRAY(opened, closed, failed, messagesSent, messagesReceived, bytesSent,
                       bytesReceived);
};
struct Error {
  bool failure = false;
  std::string test, type, message, file;
  std::int32_t line = 0;
  std::uint64_t count = 0;
  MSGPACK_DEFINE_ARRAY(failure, test, type, message, file, line, count);
};
struct Second {
  std::int64_t second = 0;
  std::uint64_t requests = 0, errors = 0, testFailures = 0, dropped = 0;
  std::uint32_t users = 0;
  Histogram latency;
  MSGPACK_DEFINE_ARRAY(second, requests, errors, testFailures, dropped, users, latency);
};
struct Rows {  // claimRows (§5.3 kind 15), the latest word per (feed, run)
  std::string feed;
  std::uint32_t run = 0;
  std::uint64_t upTo = 0;
  bool exact = false;
  MSGPACK_DEFINE_ARRAY(feed, run, upTo, exact);
};
struct Summary {
  std::int64_t runStartedUs = 0, runStoppedUs = 0, firstEventUs = 0, lastEventUs = 0;
  std::vector<Test> tests;
  std::vector<Request> requests;
  std::vector<Status> statuses;
  std::vector<Counter> counters;
  Sockets sockets;
  std::vector<Error> errors;
  std::vector<Second> seconds;
  std::vector<Rows> rows;  // absent from a sender older than unique rows' claims
  MSGPACK_DEFINE_ARRAY(runStartedUs, runStoppedUs, firstEventUs, lastEventUs, tests, requests,
                       statuses, counters, sockets, errors, seconds, rows);
};
// The whole body: [run-id, agent-id, seq, events-sent, events, summary].
struct SummaryBody {
  std::string runId, agentId;
  std::uint64_t seq = 0, eventsSent = 0, events = 0;
  Summary summary;
  MSGPACK_DEFINE_ARRAY(runId, agentId, seq, eventsSent, events, summary);
};

}  // namespace wire
}  // namespace loads::proto
