#include "report/json_output.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "loads/version.hpp"
#include "report/console_output.hpp"
#include "stats/aggregate_result.hpp"

namespace loads {
namespace {

using Json = nlohmann::ordered_json;

// Latencies stay integers in µs: exact to the histogram's precision, no rounding.
Json latency(const Histogram& h) {
  return Json{{"count", h.count()},      {"min", h.min()},
              {"mean", h.mean()},        {"p50", h.percentile(50)},
              {"p90", h.percentile(90)}, {"p95", h.percentile(95)},
              {"p99", h.percentile(99)}, {"p99.9", h.percentile(99.9)},
              {"max", h.max()},          {"clamped", h.clampedCount()}};
}

Json request(const std::string& name, const RequestSummary& r, double seconds) {
  Json codes = Json::object();
  for (const auto& [code, n] : r.statusCodes) {
    codes[code == kOtherStatus ? std::string(kOtherName) : std::to_string(code)] = n;
  }
  Json kinds = Json::object();
  for (std::size_t i = 1; i < kErrorKindCount; ++i) {
    if (r.errorKinds[i])
      kinds[std::string(errorKindName(static_cast<ErrorKind>(i)))] = r.errorKinds[i];
  }
  return Json{{"name", name},
              {"requests", r.count},
              {"failures", r.failures},
              {"bytes", r.bytes},
              {"ratePerSecond", static_cast<double>(r.count) / seconds},
              {"latencyUs", latency(r.latency)},
              {"statusCodes", std::move(codes)},
              {"errorKinds", std::move(kinds)},
              {"planned", r.planned},
              {"latencyCorrectedUs", latency(r.latencyCorrected)}};
}

Json test(const std::string& name, const TestSummary& t) {
  Json counters = Json::object();
  for (const auto& [counter, value] : t.counters) counters[counter] = value;
  return Json{{"name", name},
              {"started", t.started},
              {"hits", t.stopped},
              {"successes", t.successes},
              {"failures", t.failures},
              {"errors", t.errors},
              {"skips", t.skips},
              {"cancelled", t.cancelled},
              {"hitTimeUs", latency(t.hitTime)},
              {"counters", std::move(counters)},
              {"dropped", t.dropped}};
}

Json run(const RunInfo& info) {
  Json options = Json::object();
  for (const auto& [key, value] : info.options) options[key] = value;
  return Json{{"library", info.library}, {"tests", info.tests},
              {"options", options},      {"startedUs", info.startedUs},
              {"endedUs", info.endedUs}, {"exitCode", info.exitCode}};
}

Json errors(const Snapshot& snap) {
  Json samples = Json::array();
  for (const ErrorSample& e : snap.errors) {
    samples.push_back(Json{{"kind", e.failure ? "failure" : "error"},
                           {"test", e.test},
                           {"type", e.type},
                           {"message", e.message},
                           {"file", e.file},
                           {"line", e.line},
                           {"count", e.count}});
  }
  return Json{{"samples", std::move(samples)}, {"notSampled", snap.errorsDropped}};
}

Json sockets(const SocketSummary& k, double seconds) {
  return Json{{"opened", k.opened},
              {"closed", k.closed},
              {"failed", k.failed},
              {"messagesSent", k.messagesSent},
              {"messagesReceived", k.messagesReceived},
              {"bytesSent", k.bytesSent},
              {"bytesReceived", k.bytesReceived},
              {"messagesSentPerSecond", static_cast<double>(k.messagesSent) / seconds},
              {"messagesReceivedPerSecond", static_cast<double>(k.messagesReceived) / seconds}};
}

// A second's requests by source: "0", "1", ... and "other" for the sources beyond the cap.
Json bySource(const std::vector<SourceRequests>& entries) {
  Json out = Json::object();
  for (const SourceRequests& e : entries) {
    out[e.source == kOtherSources ? std::string("other") : std::to_string(e.source)] = e.requests;
  }
  return out;
}

Json seconds(const Snapshot& snap) {
  Json series = Json::array();
  for (const SecondSample& s : snap.seconds) {
    series.push_back(Json{{"t", s.second},
                          {"requests", s.requests},
                          {"errors", s.errors},
                          {"testFailures", s.testFailures},
                          {"p50Us", s.p50Us},
                          {"p99Us", s.p99Us},
                          {"p95Us", s.p95Us},  // added after p99Us: fields are only appended
                          {"users", s.users},
                          {"complete", s.complete},
                          {"dropped", s.dropped},
                          {"target", s.target},
                          {"requestsBySource", bySource(s.bySource)}});
  }
  return series;
}

// The caps reached (issue #11): what, the cap, the first names past it, the events
// counted as "(other)", and the sentence every output shows.
Json overflows(const Snapshot& snap) {
  Json out = Json::array();
  for (const NameOverflow& o : snap.overflows) {
    out.push_back(Json{{"what", o.what},
                       {"cap", o.cap},
                       {"firstNames", o.firstNames},
                       {"events", o.events},
                       {"sentence", overflowSentence(o)}});
  }
  return out;
}

}  // namespace

nlohmann::ordered_json jsonReport(const Snapshot& snap, const RunInfo& info) {
  const double duration = runSeconds(snap);
  std::uint64_t hits = 0, failures = 0, errorCount = 0;
  Json tests = Json::array();
  for (const auto& [name, t] : snap.tests) {
    hits += t.stopped;
    failures += t.failures;
    errorCount += t.errors;
    tests.push_back(test(name, t));
  }
  Json requests = Json::array();
  for (const auto& [name, r] : snap.requests) requests.push_back(request(name, r, duration));
  Json counters = Json::object();
  for (const auto& [name, value] : snap.counters) counters[name] = value;
  Json sources = Json::object();
  for (const auto& [source, n] : snap.requestsBySource) sources[std::to_string(source)] = n;

  return Json{{"schema", kJsonReportSchema},
              {"generator", "loads " LOADS_VERSION},
              {"run", run(info)},
              {"summary", Json{{"durationSeconds", duration},
                               {"firstEventUs", snap.firstEventUs},
                               {"lastEventUs", snap.lastEventUs},
                               {"maxUsers", snap.maxUsers},
                               {"hits", hits},
                               {"testFailures", failures},
                               {"testErrors", errorCount},
                               {"requests", snap.allRequests.count},
                               {"requestFailures", snap.allRequests.failures},
                               {"droppedHits", snap.droppedHits},
                               {"plannedRequests", snap.allRequests.planned},
                               {"targetKind", snap.targetKind}}},
              {"allRequests", request("total", snap.allRequests, duration)},
              {"requests", std::move(requests)},
              {"tests", std::move(tests)},
              {"counters", std::move(counters)},
              {"sockets", sockets(snap.sockets, duration)},
              {"errors", errors(snap)},
              {"requestsBySource", std::move(sources)},
              {"seconds", seconds(snap)},
              {"overflows", overflows(snap)}};
}

void writeJsonReport(const Snapshot& snapshot, const RunInfo& run, std::ostream& out) {
  // Error messages come from user code and servers: replace invalid UTF-8, never throw.
  out << jsonReport(snapshot, run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
      << '\n';
}

}  // namespace loads
