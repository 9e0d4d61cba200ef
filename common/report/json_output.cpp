#include "report/json_output.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "loads/version.hpp"
#include "report/console_output.hpp"
#include "report/thresholds.hpp"
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

// HTTP phase timings, each a latency object; counts are 0 for names without them.
Json phases(const RequestSummary& r) {
  Json out = Json::object();
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    out[std::string(phaseName(static_cast<Phase>(i)))] = latency(r.phases[i]);
  }
  return out;
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
              {"latencyCorrectedUs", latency(r.latencyCorrected)},
              {"phased", r.phased},
              {"phasesUs", phases(r)}};
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

// Option values keep their types: numbers as numbers, cycles as arrays of numbers.
Json options(const ReportOptions& o) {
  Json out{{"users", o.users}};
  if (!o.hits.empty()) out["hits"] = o.hits;
  if (o.durationMs) out["durationMs"] = *o.durationMs;
  out["rampMs"] = o.rampMs;
  out["threads"] = o.threads;
  if (o.maxNames) out["maxNames"] = o.maxNames;
  out["stopTimeoutMs"] = o.stopTimeoutMs;
  out["serverUrl"] = o.serverUrl;
  out["insecure"] = o.insecure;
  out["timeoutMs"] = o.timeoutMs;
  if (o.rateStart) out["rateStart"] = *o.rateStart;
  if (!o.rateStages.empty()) out["rateStages"] = o.rateStages;
  if (o.maxUsers) out["maxUsers"] = *o.maxUsers;
  if (!o.stages.empty()) out["stages"] = o.stages;
  if (o.agents) out["agents"] = *o.agents;
  if (!o.broker.empty()) out["broker"] = o.broker;
  if (!o.params.empty()) out["params"] = o.params;
  if (!o.include.empty()) {
    Json files = Json::array();
    for (const auto& f : o.include) {
      files.push_back(Json{{"name", f.name}, {"bytes", f.bytes}, {"sha256", f.sha256}});
    }
    out["include"] = std::move(files);
  }
  return out;
}

Json run(const RunFacts& info) {
  Json out{{"library", info.library},          {"tests", info.tests},
           {"options", options(info.options)}, {"startedUs", info.startedUs},
           {"endedUs", info.endedUs},          {"exitCode", info.exitCode}};
  if (info.distributed) out["runId"] = info.distributed->runId;
  return out;
}

Json thresholds(const std::vector<ThresholdResult>& results) {
  Json out = Json::array();
  for (const ThresholdResult& r : results) {
    out.push_back(Json{{"expression", r.expression},
                       {"pass", r.pass},
                       {"observed", r.observed ? Json(*r.observed) : Json(nullptr)},
                       {"unit", unitName(r.unit)},
                       {"abortedRun", r.abortedRun}});
  }
  return out;
}

Json agents(const std::vector<AgentFacts>& list) {
  Json out = Json::array();
  for (const AgentFacts& a : list) {
    out.push_back(Json{{"id", a.id},
                       {"host", a.host},
                       {"index", a.index},
                       {"state", a.state},
                       {"exitCode", a.exitCode},
                       {"signal", a.signal},
                       {"reason", a.reason},
                       {"eventsSent", a.eventsSent ? Json(*a.eventsSent) : Json(nullptr)},
                       {"eventsReceived", a.eventsReceived},
                       {"requests", a.requests}});
    if (a.cycle) out.back()["cycle"] = *a.cycle;
  }
  return out;
}

Json cycles(const std::vector<CycleFacts>& list) {
  Json out = Json::array();
  for (const CycleFacts& c : list) {
    out.push_back(Json{{"cycle", c.index + 1},
                       {"users", c.users},
                       {"hitsPerUser", c.hitsPerUser ? Json(c.hitsPerUser) : Json(nullptr)},
                       {"hits", c.hits},
                       {"successes", c.successes},
                       {"failures", c.failures},
                       {"errors", c.errors},
                       {"skips", c.skips},
                       {"requests", c.requests},
                       {"requestFailures", c.requestFailures},
                       {"seconds", static_cast<double>(c.tookMs) / 1000}});
  }
  return out;
}

Json crashes(const std::vector<CrashFacts>& list) {
  Json out = Json::array();
  for (const CrashFacts& c : list) {
    Json frames = Json::array();
    for (const auto& f : c.frames) {
      frames.push_back(Json{{"module", f.module}, {"offset", f.offset}, {"function", f.function}});
    }
    out.push_back(Json{{"agent", c.agent.empty() ? Json(nullptr) : Json(c.agent)},
                       {"signal", c.signal},
                       {"signalName", c.signalName},
                       {"description", c.description},
                       {"test", c.test},
                       {"user", c.user},
                       {"hit", c.hit},
                       {"frames", std::move(frames)}});
  }
  return out;
}

Json rebalances(const std::vector<RebalanceFacts>& events) {
  Json out = Json::array();
  for (const RebalanceFacts& e : events) {
    Json shares = Json::array();
    for (const auto& s : e.shares) {
      shares.push_back(
          Json{{"id", s.agentId}, {"host", s.host}, {"index", s.index}, {"users", s.users}});
    }
    Json feeds = Json::array();
    for (const auto& f : e.rows) feeds.push_back(Json{{"feed", f.feed}, {"dealt", f.dealt}});
    Json rows{{"feeds", std::move(feeds)},
              {"final", e.rowsFinal},
              {"moved", e.rowsMoved},
              {"movedAtMs", e.rowsMovedAtMs ? Json(*e.rowsMovedAtMs) : Json(nullptr)}};
    out.push_back(Json{{"atMs", e.atMs},
                       {"lost", e.lostId},
                       {"lostHost", e.lostHost},
                       {"reason", e.reason},
                       {"fromMs", e.fromMs},
                       {"appliesAtUs", e.appliesAtUs},
                       {"firstArrival", e.firstArrival ? Json(*e.firstArrival) : Json(nullptr)},
                       {"count", e.count},
                       {"shares", std::move(shares)},
                       {"rows", std::move(rows)}});
  }
  return out;
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

nlohmann::ordered_json jsonReport(const Snapshot& snap, const RunFacts& info) {
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

  Json report{{"schema", kJsonReportSchema},
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
              {"thresholds", thresholds(info.thresholds)},
              {"overflows", overflows(snap)}};
  if (!info.cycles.empty()) report["cycles"] = cycles(info.cycles);
  if (!info.crashes.empty()) report["crashes"] = crashes(info.crashes);
  if (const auto& d = info.distributed) {
    report["agents"] = agents(d->agents);
    report["problems"] = d->problems;
    if (d->rebalances) report["rebalances"] = rebalances(*d->rebalances);
    report["malformedResults"] = d->malformedResults;
    if (const auto& r = d->rejectedResults) {
      report["rejectedResults"] = {{"otherRun", r->otherRun},
                                   {"unknownAgent", r->unknownAgent},
                                   {"outOfSequence", r->outOfSequence},
                                   {"afterFinal", r->afterFinal}};
    }
  }
  return report;
}

void writeJsonReport(const Snapshot& snapshot, const RunFacts& run, std::ostream& out) {
  // Error messages come from user code and servers: replace invalid UTF-8, never throw.
  out << jsonReport(snapshot, run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
      << '\n';
}

}  // namespace loads
