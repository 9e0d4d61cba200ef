#include "report/metrics_text.hpp"

#include <cinttypes>
#include <cstdio>

#include "loads/version.hpp"
#include "report/thresholds.hpp"
#include "stats/aggregate_result.hpp"
#include "util/openmetrics.hpp"

namespace loads {
namespace {

constexpr std::array<double, 4> kQuantiles{50, 90, 99, 99.9};
constexpr std::array<const char*, 4> kQuantileLabels{"0.5", "0.9", "0.99", "0.999"};

std::string seconds(std::int64_t us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", static_cast<double>(us) / 1e6);
  return text;
}

using Family = MetricsFamily;

std::string label(std::string_view key, std::string_view value) { return metricsLabel(key, value); }

void runFamilies(std::string& out, const Snapshot& snap, const MetricsRun& run) {
  // Labels known from the start only: a label that changed at the end would start a
  // new series.
  Family(out, "loads_run", "info", "The run: mode, test library, loads version.")
      .sample("_info",
              label("mode", run.mode) + "," + label("library", run.facts.library) + "," +
                  label("version", LOADS_VERSION),
              "1");
  Family(out, "loads_run_finished", "gauge", "1 once the run is over: the values are final.")
      .sample("", "", run.finished ? "1" : "0");
  if (snap.runStartedUs) {
    Family(out, "loads_run_start_time_seconds", "gauge", "When the run started, Unix time.")
        .sample("", "", seconds(snap.runStartedUs));
  }
  if (run.finished) {
    Family(out, "loads_run_exit_code", "gauge", "The master's exit code (0, 1, 2, 3 or 99).")
        .sample("", "", std::to_string(run.facts.exitCode));
    if (!run.facts.thresholds.empty()) {
      Family f(out, "loads_threshold_passed", "gauge", "1 when the --threshold passed.");
      for (const ThresholdResult& t : run.facts.thresholds) {
        f.sample("", label("threshold", t.expression), t.pass ? "1" : "0");
      }
    }
  }
  Family(out, "loads_users_active", "gauge", "Virtual users active now.")
      .sample("", "", std::uint64_t{run.finished ? 0u : snap.currentUsers});
  Family(out, "loads_users_max", "gauge", "The most users active in one second so far.")
      .sample("", "", std::uint64_t{snap.maxUsers});
  Family(out, "loads_dropped_hits", "counter",
         "Open model: planned hits that found no free user (all tests).")
      .sample("_total", "", snap.droppedHits);
}

void testFamilies(std::string& out, const Snapshot& snap) {
  Family hits(out, "loads_hits", "counter", "Test executions completed (setUp, test, tearDown).");
  for (const auto& [name, t] : snap.tests) hits.sample("_total", label("test", name), t.stopped);
  Family outcomes(out, "loads_hit_outcomes", "counter", "Test executions by how they ended.");
  for (const auto& [name, t] : snap.tests) {
    const std::string test = label("test", name);
    const std::pair<const char*, std::uint64_t> rows[] = {{"success", t.successes},
                                                          {"failure", t.failures},
                                                          {"error", t.errors},
                                                          {"skip", t.skips},
                                                          {"cancelled", t.cancelled}};
    for (const auto& [outcome, n] : rows) {
      outcomes.sample("_total", test + "," + label("outcome", outcome), n);
    }
  }
  Family dropped(out, "loads_test_dropped_hits", "counter",
                 "Open model: planned hits of the test that found no free user.");
  for (const auto& [name, t] : snap.tests) dropped.sample("_total", label("test", name), t.dropped);
  Family counters(out, "loads_counter", "gauge", "incrCounter totals (all tests).");
  for (const auto& [name, value] : snap.counters) {
    counters.sample("", label("counter", name), std::to_string(value));
  }
}

// A bucket bound as OpenMetrics writes floats: "0.0005", "1", "300".
std::string bound(std::int64_t us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(us) / 1e6);
  return text;
}

void latencyHistogram(Family& f, const std::string& labels, const Histogram& h) {
  for (std::int64_t le : kLatencyBucketsUs) {
    f.sample("_bucket", labels + ",le=\"" + bound(le) + "\"", h.countAtOrBelow(le));
  }
  f.sample("_bucket", labels + ",le=\"+Inf\"", h.count());
  f.sample("_count", labels, h.count());
  f.sample("_sum", labels, seconds(h.sum()));
}

void quantiles(Family& f, const std::string& labels, const Histogram& h) {
  for (std::size_t i = 0; i < kQuantiles.size(); ++i) {
    const std::string at = "quantile=\"" + std::string(kQuantileLabels[i]) + "\"";
    f.sample("", labels.empty() ? at : labels + "," + at, seconds(h.percentile(kQuantiles[i])));
  }
}

void requestFamilies(std::string& out, const Snapshot& snap) {
  Family requests(out, "loads_requests", "counter", "Requests made (HTTP, WebSocket, measure()).");
  for (const auto& [name, r] : snap.requests)
    requests.sample("_total", label("name", name), r.count);
  Family failures(out, "loads_request_failures", "counter",
                  "Requests that failed: no response, status >= 400, or a failed measure().");
  for (const auto& [name, r] : snap.requests)
    failures.sample("_total", label("name", name), r.failures);
  Family bytes(out, "loads_request_bytes", "counter", "Response bytes received.");
  for (const auto& [name, r] : snap.requests) bytes.sample("_total", label("name", name), r.bytes);
  Family statuses(out, "loads_request_statuses", "counter",
                  "Requests by status code (0: no response; (other): past --max-names' cap).");
  for (const auto& [name, r] : snap.requests) {
    for (const auto& [code, n] : r.statusCodes) {
      const std::string status =
          code == kOtherStatus ? std::string(kOtherName) : std::to_string(code);
      statuses.sample("_total", label("name", name) + "," + label("status", status), n);
    }
  }
  Family kinds(out, "loads_request_errors", "counter", "Requests without a response, by why.");
  for (const auto& [name, r] : snap.requests) {
    for (std::size_t i = 1; i < kErrorKindCount; ++i) {
      if (!r.errorKinds[i]) continue;
      kinds.sample(
          "_total",
          label("name", name) + "," + label("kind", errorKindName(static_cast<ErrorKind>(i))),
          r.errorKinds[i]);
    }
  }
  Family latency(out, "loads_request_duration_seconds", "histogram",
                 "Request latency on the fixed ladder of docs/metrics.md.");
  for (const auto& [name, r] : snap.requests)
    latencyHistogram(latency, label("name", name), r.latency);
  Family exact(out, "loads_request_duration_quantile_seconds", "gauge",
               "Exact latency percentiles of the merged histogram, per request name.");
  for (const auto& [name, r] : snap.requests) quantiles(exact, label("name", name), r.latency);
  Family all(out, "loads_all_requests_duration_quantile_seconds", "gauge",
             "Exact latency percentiles over every request of the run.");
  quantiles(all, "", snap.allRequests.latency);
  Family corrected(out, "loads_request_corrected_duration_quantile_seconds", "gauge",
                   "Open model: latency from the planned start (coordinated omission corrected).");
  for (const auto& [name, r] : snap.requests) {
    if (r.planned) quantiles(corrected, label("name", name), r.latencyCorrected);
  }
  Family phases(out, "loads_request_phase_quantile_seconds", "gauge",
                "HTTP phase timings (dns, connecting, tls, sending, waiting, receiving).");
  for (const auto& [name, r] : snap.requests) {
    if (!r.phased) continue;
    for (std::size_t i = 0; i < kPhaseCount; ++i) {
      quantiles(phases,
                label("name", name) + "," + label("phase", phaseName(static_cast<Phase>(i))),
                r.phases[i]);
    }
  }
}

void socketFamilies(std::string& out, const SocketSummary& s) {
  Family(out, "loads_websockets_opened", "counter", "WebSockets opened.")
      .sample("_total", "", s.opened);
  Family(out, "loads_websockets_failed", "counter", "WebSockets closed without a handshake.")
      .sample("_total", "", s.failed);
  Family(out, "loads_websocket_messages", "counter", "WebSocket messages, by direction.")
      .sample("_total", "direction=\"sent\"", s.messagesSent)
      .sample("_total", "direction=\"received\"", s.messagesReceived);
}

}  // namespace

std::string metricsText(const Snapshot& snap, const MetricsRun& run) {
  std::string out;
  out.reserve(4096 + snap.requests.size() * 4096);
  runFamilies(out, snap, run);
  testFamilies(out, snap);
  requestFamilies(out, snap);
  socketFamilies(out, snap.sockets);
  out += "# EOF\n";
  return out;
}

}  // namespace loads
