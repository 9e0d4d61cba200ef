#include "report/html_report.hpp"

#include <cstdio>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "report/console_output.hpp"
#include "report/report_json.hpp"
#include "report/svg_chart.hpp"
#include "report/thresholds.hpp"

namespace loads {
namespace {

using report::arrayField;
using report::count;
using report::field;
using report::fixed;
using report::htmlEscape;
using report::integer;
using report::Json;
using report::number;
using report::objectField;
using report::text;

// Readable on a phone: cards wrap, wide tables scroll sideways inside their box, charts
// scale with the viewport. Colours work in light and dark mode.
constexpr const char* kStyle = R"css(
:root{--fg:#1b1f24;--muted:#5b6470;--bg:#fff;--card:#f4f6f8;--line:#d8dde3;--ok:#1a7f37;--bad:#c62828}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa4ae;--bg:#14171a;--card:#1e2328;--line:#343b43;--ok:#3fb950;--bad:#f47067}}
*{box-sizing:border-box}
body{margin:0;padding:16px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1200px;margin:0 auto}
h1{font-size:1.5em;margin:0 0 4px;overflow-wrap:anywhere}
h2{font-size:1.15em;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:.95em;margin:0 0 4px;color:var(--muted);font-weight:600}
.sub{color:var(--muted);margin:0 0 12px}
.overflow{border-left:4px solid var(--bad);background:var(--card);padding:8px 12px;overflow-wrap:anywhere}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px}
.card{background:var(--card);border-radius:8px;padding:8px 12px}
.card b{display:block;font-size:1.35em;font-variant-numeric:tabular-nums}
.card span{color:var(--muted);font-size:.85em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,480px),1fr));gap:12px}
.chart{margin:0;background:var(--card);border-radius:8px;padding:8px}
.chart svg{width:100%;height:auto;display:block}
.chart path{fill:none;stroke-width:1.8;stroke-linejoin:round}
.chart rect{fill:#1f77b4}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart text{fill:var(--muted);font-size:11px}
.chart .ylab,.chart .blab{text-anchor:end}.chart .xlab{text-anchor:middle}
figcaption{font-size:.85em;color:var(--muted)}
.key{margin-right:12px;white-space:nowrap}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9em;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th{background:var(--card);white-space:nowrap}
th:first-child,td:first-child,td.text{text-align:left}
td.text{overflow-wrap:anywhere;min-width:12em}
td.pass{color:var(--ok);font-weight:600}td.fail{color:var(--bad);font-weight:600}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
@media (max-width:600px){body{padding:8px;font-size:14px}th,td{padding:3px 5px}}
)css";

// One table cell: text (escaped when written) and an optional class.
struct Cell {
  Cell(std::string t, std::string c = "") : text(std::move(t)), cls(std::move(c)) {}
  Cell(const char* t) : text(t) {}
  std::string text;
  std::string cls;
};
using Row = std::vector<Cell>;

void table(std::string& out, const std::vector<std::string>& header, const std::vector<Row>& rows) {
  out += "<div class=\"scroll\"><table><thead><tr>";
  for (const auto& h : header) out += "<th>" + htmlEscape(h) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const auto& cell : row) {
      out += cell.cls.empty() ? "<td>" : "<td class=\"" + cell.cls + "\">";
      out += htmlEscape(cell.text) + "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div>\n";
}

std::string ms(const Json& latency, std::string_view key) {
  return count(latency, "count") ? formatMs(integer(latency, key)) : "-";
}

std::string mapText(const Json& object) {
  std::string out;
  for (const auto& [key, value] : object.items()) {
    out += (out.empty() ? "" : ", ") + key + ": " + report::scalarText(value);
  }
  return out;
}

void header(std::string& out, const Json& r) {
  const Json& run = objectField(r, "run");
  const std::int64_t code = integer(run, "exitCode");
  std::string library = text(run, "library");
  out += "<header><h1>loads report" + (library.empty() ? "" : ": " + htmlEscape(library)) + "</h1>";
  out += "<p class=\"sub\"><span class=\"badge " + std::string(code == 0 ? "ok" : "bad") +
         "\">exit " + std::to_string(code) + ": " + htmlEscape(report::exitCodeMeaning(code)) +
         "</span> " + htmlEscape(report::utcTime(integer(run, "startedUs"))) + " to " +
         htmlEscape(report::utcTime(integer(run, "endedUs"))) + "</p></header>\n";
}

void summary(std::string& out, const Json& r) {
  const Json& s = objectField(r, "summary");
  const Json& all = objectField(r, "allRequests");
  const Json& latency = objectField(all, "latencyUs");
  const std::uint64_t requests = count(s, "requests");
  const double failedShare = requests ? 100.0 * count(s, "requestFailures") / requests : 0;
  const std::vector<std::pair<std::string, std::string>> cards = {
      {"duration", fixed(number(s, "durationSeconds"), 1) + " s"},
      {"requests", formatCount(requests)},
      {"req/s", fixed(number(all, "ratePerSecond"), 1)},
      {"failed requests",
       formatCount(count(s, "requestFailures")) + " (" + fixed(failedShare, 2) + "%)"},
      {"hits", formatCount(count(s, "hits"))},
      {"test failures", formatCount(count(s, "testFailures"))},
      {"test errors", formatCount(count(s, "testErrors"))},
      {"max users", formatCount(count(s, "maxUsers"))},
      {"p50 ms", ms(latency, "p50")},
      {"p95 ms", ms(latency, "p95")},
      {"p99 ms", ms(latency, "p99")},
      {"max ms", ms(latency, "max")},
  };
  out += "<section><h2>Summary</h2><div class=\"cards\">";
  for (const auto& [label, value] : cards) {
    out += "<div class=\"card\"><b>" + htmlEscape(value) + "</b><span>" + label + "</span></div>";
  }
  out += "</div></section>\n";
}

void thresholds(std::string& out, const Json& r) {
  const Json& list = arrayField(r, "thresholds");
  if (list.empty()) return;
  std::vector<Row> rows;
  for (const auto& t : list) {
    const bool pass = report::flag(t, "pass");
    const Json& observed = field(t, "observed");
    auto unit = unitFromName(text(t, "unit")).value_or(ThresholdUnit::kCount);
    std::optional<double> value;
    if (observed.is_number()) value = observed.get<double>();
    rows.push_back({Cell(text(t, "expression"), "text"), Cell(formatObserved(value, unit)),
                    Cell(pass ? "pass" : "FAIL", pass ? "pass" : "fail"),
                    Cell(report::flag(t, "abortedRun") ? "aborted the run" : "")});
  }
  out += "<section><h2>Thresholds</h2>";
  table(out, {"threshold", "observed", "result", ""}, rows);
  out += "</section>\n";
}

// The per-second series, gaps filled with zero counts so rates drop to 0 where nothing
// happened (latency and users stay gaps).
struct Series {
  std::vector<double> x;
  std::vector<std::optional<double>> requests, errors, testErrors, p50, p95, p99, users;
  bool hasP95 = false;
  bool hasSources = false;  // seconds carry requestsBySource (older reports do not)
  // Requests per second by source key ("0", "1", ..., "other"), one value per x.
  std::map<std::string, std::vector<std::optional<double>>> bySource;
};

// Fills s.bySource for the point just added: every source known so far gets a value (0
// when it had no requests), a source seen first here gets zeros before it.
void addSourcePoint(Series& s, const Json* second) {
  if (second && field(*second, "requestsBySource").is_object()) {
    s.hasSources = true;
    for (const auto& [key, n] : field(*second, "requestsBySource").items()) {
      auto& values = s.bySource[key];
      values.resize(s.x.size() - 1, 0.0);
      values.push_back(n.is_number() ? n.get<double>() : 0.0);
    }
  }
  for (auto& [key, values] : s.bySource) values.resize(s.x.size(), 0.0);
}

Series series(const Json& r) {
  std::map<std::int64_t, const Json*> byT;
  for (const auto& s : arrayField(r, "seconds")) byT[integer(s, "t")] = &s;
  Series out;
  if (byT.empty()) return out;
  const std::int64_t first = byT.begin()->first, last = byT.rbegin()->first;
  const bool dense = last - first < 100'000;
  auto add = [&](std::int64_t t, const Json* s) {
    out.x.push_back(static_cast<double>(t - first));
    auto value = [&](std::string_view key) -> std::optional<double> {
      return s ? std::optional<double>(number(*s, key)) : 0.0;
    };
    out.requests.push_back(value("requests"));
    out.errors.push_back(value("errors"));
    out.testErrors.push_back(value("testFailures"));
    const bool any = s && count(*s, "requests") > 0;
    if (s && !field(*s, "p95Us").is_null()) out.hasP95 = true;
    auto latency = [&](std::string_view key) -> std::optional<double> {
      if (!any) return std::nullopt;
      return number(*s, key) / 1000.0;
    };
    out.p50.push_back(latency("p50Us"));
    out.p95.push_back(latency("p95Us"));
    out.p99.push_back(latency("p99Us"));
    out.users.push_back(s ? std::optional<double>(number(*s, "users")) : std::nullopt);
    addSourcePoint(out, s);
  };
  if (dense) {
    for (std::int64_t t = first; t <= last; ++t) {
      auto it = byT.find(t);
      add(t, it == byT.end() ? nullptr : it->second);
    }
  } else {
    for (const auto& [t, s] : byT) add(t, s);
  }
  return out;
}

// "req/s per agent": one line per source over time ("other" for agents beyond the cap).
void perAgentLines(std::string& out, const Json& r, const Series& s) {
  static constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                            "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79"};
  if (s.bySource.size() < 2) return;
  std::vector<report::ChartSeries> lines;
  for (const std::string& key : report::secondSourceKeys(r)) {
    const bool other = key == "other";
    lines.push_back({other ? "other agents" : "agent " + key,
                     other ? "#7f7f7f" : kColors[lines.size() % std::size(kColors)],
                     s.bySource.at(key)});
  }
  out += report::svgLineChart({"req/s per agent", "", s.x, std::move(lines)});
}

// A report older than the per-second breakdown: each agent's average as a bar.
void perAgentAverages(std::string& out, const Json& r) {
  const Json& sources = objectField(r, "requestsBySource");
  if (sources.size() < 2) return;
  const double seconds = number(objectField(r, "summary"), "durationSeconds");
  std::vector<report::Bar> bars;
  for (const auto& [source, n] : sources.items()) {
    double requests = n.is_number() ? n.get<double>() : 0;
    bars.push_back({"agent " + source, seconds > 0 ? requests / seconds : 0});
  }
  out += report::svgBarChart("req/s per agent (run average)", bars, "req/s");
}

void charts(std::string& out, const Json& r) {
  Series s = series(r);
  out += "<section><h2>Over time</h2>";
  if (s.x.empty()) {
    out += "<p class=\"sub\">No per-second data.</p></section>\n";
    return;
  }
  out += "<div class=\"charts\">\n";
  out +=
      report::svgLineChart({"Requests per second", "", s.x, {{"requests", "#1f77b4", s.requests}}});
  out += report::svgLineChart({"Errors per second",
                               "",
                               s.x,
                               {{"failed requests", "#d62728", s.errors},
                                {"test failures and errors", "#ff7f0e", s.testErrors}}});
  std::vector<report::ChartSeries> latency{{"p50", "#2ca02c", s.p50}};
  if (s.hasP95) latency.push_back({"p95", "#ff7f0e", s.p95});
  latency.push_back({"p99", "#d62728", s.p99});
  out += report::svgLineChart({"Latency", "ms", s.x, latency});
  out += report::svgLineChart({"Active users", "", s.x, {{"users", "#9467bd", s.users}}});
  if (s.hasSources) {
    perAgentLines(out, r, s);
  } else {
    perAgentAverages(out, r);
  }
  out += "</div></section>\n";
}

std::string statusText(const Json& request) {
  std::string out;
  for (const auto& [code, n] : objectField(request, "statusCodes").items()) {
    out += (out.empty() ? "" : " ") + (code == "0" ? std::string("none") : code) + "×" +
           report::scalarText(n);
  }
  for (const auto& [kind, n] : objectField(request, "errorKinds").items()) {
    out += " " + kind + "×" + report::scalarText(n);
  }
  return out;
}

void requests(std::string& out, const Json& r) {
  std::vector<Row> rows;
  auto add = [&](const Json& q) {
    const Json& l = objectField(q, "latencyUs");
    rows.push_back({Cell(text(q, "name"), "text"), formatCount(count(q, "requests")),
                    formatCount(count(q, "failures")), fixed(number(q, "ratePerSecond"), 1),
                    ms(l, "min"), ms(l, "p50"), ms(l, "p90"), ms(l, "p95"), ms(l, "p99"),
                    ms(l, "p99.9"), ms(l, "max"),
                    count(l, "count") ? formatMs(std::llround(number(l, "mean"))) : "-",
                    Cell(statusText(q), "text")});
  };
  for (const auto& q : arrayField(r, "requests")) add(q);
  if (arrayField(r, "requests").size() != 1 && field(r, "allRequests").is_object()) {
    add(field(r, "allRequests"));
  }
  out += "<section><h2>Requests <small>(latencies in ms)</small></h2>";
  table(out,
        {"request", "requests", "failures", "req/s", "min", "p50", "p90", "p95", "p99", "p99.9",
         "max", "mean", "status"},
        rows);
  out += "</section>\n";
}

// HTTP phase timings (phasesUs): mean and p95 of each phase, for the names that have them.
void phases(std::string& out, const Json& r) {
  std::vector<Row> rows;
  for (const auto& q : arrayField(r, "requests")) {
    if (!count(q, "phased")) continue;
    Row row{Cell(text(q, "name"), "text"), formatCount(count(q, "phased"))};
    const Json& p = objectField(q, "phasesUs");
    for (const char* phase : {"dns", "connecting", "tls", "sending", "waiting", "receiving"}) {
      const Json& l = objectField(p, phase);
      row.push_back(count(l, "count") ? formatMs(std::llround(number(l, "mean"))) : "-");
      row.push_back(ms(l, "p95"));
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return;
  out += "<section><h2>HTTP phases <small>(mean and p95 in ms)</small></h2>";
  table(out,
        {"request", "timed", "dns", "dns p95", "connecting", "connecting p95", "tls", "tls p95",
         "sending", "sending p95", "waiting", "waiting p95", "receiving", "receiving p95"},
        rows);
  out += "</section>\n";
}

void tests(std::string& out, const Json& r) {
  std::vector<Row> rows;
  for (const auto& t : arrayField(r, "tests")) {
    const Json& h = objectField(t, "hitTimeUs");
    rows.push_back({Cell(text(t, "name"), "text"), formatCount(count(t, "hits")),
                    formatCount(count(t, "successes")), formatCount(count(t, "failures")),
                    formatCount(count(t, "errors")), formatCount(count(t, "skips")),
                    formatCount(count(t, "cancelled")), ms(h, "p50"), ms(h, "p95"), ms(h, "p99"),
                    ms(h, "max"), Cell(mapText(objectField(t, "counters")), "text")});
  }
  out += "<section><h2>Tests <small>(hit time in ms)</small></h2>";
  table(out,
        {"test", "hits", "successes", "failures", "errors", "skips", "cancelled", "p50", "p95",
         "p99", "max", "counters"},
        rows);
  out += "</section>\n";
}

void countersAndSockets(std::string& out, const Json& r) {
  const Json& counters = objectField(r, "counters");
  if (!counters.empty()) {
    std::vector<Row> rows;
    for (const auto& [name, value] : counters.items()) {
      rows.push_back({Cell(name, "text"), report::scalarText(value)});
    }
    out += "<section><h2>Counters</h2>";
    table(out, {"counter", "total"}, rows);
    out += "</section>\n";
  }
  const Json& ws = objectField(r, "sockets");
  if (count(ws, "opened") || count(ws, "closed") || count(ws, "messagesSent") ||
      count(ws, "messagesReceived")) {
    out += "<section><h2>WebSockets</h2>";
    table(out,
          {"opened", "closed", "failed", "messages sent", "messages received", "bytes sent",
           "bytes received"},
          {{formatCount(count(ws, "opened")), formatCount(count(ws, "closed")),
            formatCount(count(ws, "failed")), formatCount(count(ws, "messagesSent")),
            formatCount(count(ws, "messagesReceived")), formatCount(count(ws, "bytesSent")),
            formatCount(count(ws, "bytesReceived"))}});
    out += "</section>\n";
  }
}

void errors(std::string& out, const Json& r) {
  const Json& e = objectField(r, "errors");
  const Json& samples = arrayField(e, "samples");
  if (samples.empty() && count(e, "notSampled") == 0) return;
  std::vector<Row> rows;
  for (const auto& s : samples) {
    std::string where = text(s, "file");
    if (!where.empty()) where.append(":").append(text(s, "line"));
    rows.push_back({formatCount(count(s, "count")), Cell(text(s, "kind"), "text"),
                    Cell(text(s, "test"), "text"), Cell(text(s, "type"), "text"),
                    Cell(text(s, "message"), "text"), Cell(where, "text")});
  }
  out += "<section><h2>Top errors</h2>";
  table(out, {"count", "kind", "test", "type", "message", "where"}, rows);
  if (count(e, "notSampled")) {
    out += "<p class=\"sub\">" + formatCount(count(e, "notSampled")) +
           " further occurrences of other errors were not sampled.</p>";
  }
  out += "</section>\n";
}

// Caps on distinct names that were reached (issue #11): the report's own sentence each.
void overflows(std::string& out, const Json& r) {
  for (const auto& o : arrayField(r, "overflows")) {
    out += "<p class=\"overflow\"><b>Note:</b> " + htmlEscape(text(o, "sentence")) + "</p>\n";
  }
}

// --rebalance: when an agent left, and how the run was split over the others.
void rebalances(std::string& out, const Json& r) {
  std::vector<Row> rows;
  for (const auto& e : arrayField(r, "rebalances")) {
    std::string shares;
    for (const auto& s : arrayField(e, "shares")) {
      shares += (shares.empty() ? "" : ", ") + text(s, "id") + " #" +
                std::to_string(integer(s, "index") + 1) + " (" + formatCount(count(s, "users")) +
                " users)";
    }
    std::string dealt;
    const Json& rowFacts = field(e, "rows");
    for (const auto& f : arrayField(rowFacts, "feeds")) {
      dealt += (dealt.empty() ? "" : ", ") + text(f, "feed") + " " + formatCount(count(f, "dealt"));
    }
    if (!dealt.empty()) {
      const bool moved =
          field(rowFacts, "moved").is_boolean() && field(rowFacts, "moved").get<bool>();
      dealt += moved ? "; the rest went to the others" : "; the rest stayed unused";
    }
    rows.push_back({Cell(report::utcTime(integer(e, "appliesAtUs")), "text"),
                    Cell(text(e, "lost"), "text"), Cell(text(e, "reason"), "text"),
                    formatCount(count(e, "count")), Cell(shares, "text"),
                    Cell(dealt.empty() ? "-" : dealt, "text")});
  }
  if (rows.empty()) return;
  out += "<h3>Rebalanced</h3>";
  table(out, {"new split from", "agent lost", "why", "agents", "new shares", "unique rows dealt"},
        rows);
}

// Load cycles (-u 10:20 --hits 5:10): one row per cycle, when there are several.
void cycles(std::string& out, const Json& r) {
  const Json& list = arrayField(r, "cycles");
  if (list.size() < 2) return;
  std::vector<Row> rows;
  for (const auto& c : list) {
    const Json& perUser = field(c, "hitsPerUser");
    rows.push_back({formatCount(count(c, "cycle")), formatCount(count(c, "users")),
                    perUser.is_number() ? formatCount(count(c, "hitsPerUser")) : "-",
                    formatCount(count(c, "hits")), formatCount(count(c, "successes")),
                    formatCount(count(c, "failures")), formatCount(count(c, "errors")),
                    formatCount(count(c, "skips")), formatCount(count(c, "requests")),
                    Cell(text(c, "seconds"), "text")});
  }
  out += "<section><h2>Cycles</h2>";
  table(out,
        {"cycle", "users", "hits/user", "hits", "ok", "failed", "errors", "skipped", "requests",
         "seconds"},
        rows);
  out += "</section>\n";
}

// Distributed runs add "agents" and "problems": how each agent ended, what it sent.
void agents(std::string& out, const Json& r) {
  const Json& list = arrayField(r, "agents");
  const Json& problems = arrayField(r, "problems");
  if (list.empty() && problems.empty() && arrayField(r, "rebalances").empty()) return;
  out += "<section><h2>Agents</h2>";
  if (!list.empty()) {
    std::vector<Row> rows;
    for (const auto& a : list) {
      const Json& sent = field(a, "eventsSent");
      rows.push_back({Cell(text(a, "id"), "text"), Cell(text(a, "host"), "text"),
                      Cell(text(a, "state"), text(a, "state") == "lost" ? "fail" : ""),
                      Cell(text(a, "reason"), "text"), text(a, "exitCode"), text(a, "signal"),
                      sent.is_number() ? formatCount(count(a, "eventsSent")) : "?",
                      formatCount(count(a, "eventsReceived")), formatCount(count(a, "requests"))});
    }
    table(out,
          {"agent", "host", "state", "reason", "exit code", "signal", "events sent",
           "events received", "requests"},
          rows);
  }
  if (count(r, "malformedResults") > 0) {
    out += "<p class=\"sub\">" + formatCount(count(r, "malformedResults")) +
           " malformed messages on the results port were dropped.</p>";
  }
  for (const auto& p : problems)
    out += "<p class=\"sub\">" + htmlEscape(report::scalarText(p)) + "</p>";
  rebalances(out, r);
  out += "</section>\n";
}

// Slaves the test code crashed: the sentence, then the crashing thread's stack.
void crashes(std::string& out, const Json& r) {
  const Json& list = arrayField(r, "crashes");
  if (list.empty()) return;
  out += "<section><h2>Crashes</h2>";
  for (const auto& c : list) {
    const std::string agent = text(c, "agent");
    out +=
        "<p class=\"overflow\"><b>" +
        htmlEscape(agent.empty() || agent == "null" ? "The slave" : "The slave of agent " + agent) +
        "</b> was " + htmlEscape(text(c, "description")) + "</p>";
    std::vector<Row> rows;
    std::size_t i = 0;
    for (const auto& f : arrayField(c, "frames")) {
      char offset[32];
      std::snprintf(offset, sizeof offset, "0x%llx",
                    static_cast<unsigned long long>(count(f, "offset")));
      rows.push_back({formatCount(i++), Cell(text(f, "module"), "text"),
                      Cell(text(f, "function"), "text"), Cell(offset, "text")});
    }
    if (!rows.empty()) table(out, {"#", "file", "function", "offset"}, rows);
  }
  out += "</section>\n";
}

void runInfo(std::string& out, const Json& r) {
  const Json& run = objectField(r, "run");
  std::vector<Row> rows{{"library", Cell(text(run, "library"), "text")}};
  std::string testList;
  for (const auto& t : arrayField(run, "tests")) {
    testList += (testList.empty() ? "" : ", ") + report::scalarText(t);
  }
  rows.push_back({"tests", Cell(testList, "text")});
  for (const auto& [key, value] : objectField(run, "options").items()) {
    rows.push_back({Cell(key), Cell(report::optionText(value), "text")});
  }
  if (!text(run, "runId").empty()) rows.push_back({"run id", Cell(text(run, "runId"), "text")});
  rows.push_back({"started", Cell(report::utcTime(integer(run, "startedUs")), "text")});
  rows.push_back({"ended", Cell(report::utcTime(integer(run, "endedUs")), "text")});
  rows.push_back({"exit code", Cell(text(run, "exitCode"), "text")});
  rows.push_back(
      {"generator", Cell(text(r, "generator") + ", JSON schema " + text(r, "schema"), "text")});
  out += "<section><h2>Run</h2>";
  table(out, {"", "value"}, rows);
  out += "</section>\n";
}

}  // namespace

void writeHtmlReport(const Json& r, std::ostream& os) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n";
  out +=
      "<title>loads report: " + htmlEscape(text(objectField(r, "run"), "library")) + "</title>\n";
  out += "<style>" + std::string(kStyle) + "</style></head>\n<body><main>\n";
  header(out, r);
  summary(out, r);
  overflows(out, r);
  thresholds(out, r);
  charts(out, r);
  requests(out, r);
  phases(out, r);
  tests(out, r);
  cycles(out, r);
  countersAndSockets(out, r);
  errors(out, r);
  crashes(out, r);
  agents(out, r);
  runInfo(out, r);
  out += "</main></body></html>\n";
  os << out;
}

}  // namespace loads
