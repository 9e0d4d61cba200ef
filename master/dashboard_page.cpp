// The live dashboard's page: one self-contained document (inline CSS and JS, no fonts,
// no network access but its own WebSocket). Everything from the run is written with
// textContent, never as HTML, so names and error messages cannot inject markup.
// The state's fields are produced by LiveDashboard::state() (live_dashboard.cpp).
#include "master/web_dashboard.hpp"

namespace loads::master {
namespace {

constexpr const char* kPage = R"html(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>loads — live</title>
<style>
:root{--fg:#1b1f24;--muted:#5b6470;--bg:#fff;--card:#f4f6f8;--line:#d8dde3;--ok:#1a7f37;--bad:#c62828;--warn:#b26a00}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa4ae;--bg:#14171a;--card:#1e2328;--line:#343b43;--ok:#3fb950;--bad:#f47067;--warn:#d29922}}
*{box-sizing:border-box}
body{margin:0;padding:16px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1200px;margin:0 auto}
header{display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;justify-content:space-between}
h1{font-size:1.4em;margin:0}
h2{font-size:1.1em;margin:24px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.sub{color:var(--muted)}
.overflow{border-left:4px solid var(--warn);background:var(--card);padding:8px 12px;margin:12px 0 0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;color:#fff;font-weight:600;background:var(--muted)}
.badge.running{background:var(--ok)}.badge.stopping{background:var(--warn)}.badge.finished{background:#1f77b4}.badge.offline{background:var(--bad)}
button{font:inherit;font-weight:600;padding:8px 20px;border-radius:8px;border:0;background:var(--bad);color:#fff;cursor:pointer;min-height:44px}
button:disabled{opacity:.5;cursor:default}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px;margin-top:12px}
.card{background:var(--card);border-radius:8px;padding:8px 12px}
.card b{display:block;font-size:1.35em;font-variant-numeric:tabular-nums}
.card span{color:var(--muted);font-size:.85em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,360px),1fr));gap:12px}
figure{margin:0;background:var(--card);border-radius:8px;padding:8px}
figcaption{font-size:.85em;color:var(--muted)}
canvas{width:100%;height:180px;display:block}
.key{margin-right:12px;white-space:nowrap}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.9em;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th{background:var(--card);white-space:nowrap}
th:first-child,td:first-child{text-align:left;overflow-wrap:anywhere}
td.fail{color:var(--bad);font-weight:600}
.empty{color:var(--muted)}
@media (max-width:600px){body{padding:8px;font-size:14px}th,td{padding:3px 5px}}
</style></head>
<body><main>
<header>
 <div><h1>loads — live run</h1>
  <span id="state" class="badge">connecting</span>
  <span class="sub" id="clock"></span></div>
 <button id="stop" type="button" disabled>Stop run</button>
</header>
<section class="cards">
 <div class="card"><b id="users">–</b><span>users</span></div>
 <div class="card"><b id="hits">–</b><span>hits</span></div>
 <div class="card"><b id="requests">–</b><span>requests</span></div>
 <div class="card"><b id="rps">–</b><span id="rps-label">req/s (last second)</span></div>
 <div class="card"><b id="failures">–</b><span>failed requests</span></div>
 <div class="card"><b id="test-errors">–</b><span>test failures + errors</span></div>
 <div class="card"><b id="p50">–</b><span>p50 latency</span></div>
 <div class="card"><b id="p99">–</b><span>p99 latency</span></div>
</section>
<div id="overflows"></div>
<h2>Over time</h2>
<section class="charts">
 <figure><canvas id="chart-rps"></canvas><figcaption><span class="key"><i style="background:#1f77b4"></i>requests/s</span><span class="key"><i style="background:#d62728"></i>errors/s</span></figcaption></figure>
 <figure><canvas id="chart-latency"></canvas><figcaption><span class="key"><i style="background:#2ca02c"></i>p50 ms</span><span class="key"><i style="background:#ff7f0e"></i>p99 ms</span></figcaption></figure>
 <figure><canvas id="chart-users"></canvas><figcaption><span class="key"><i style="background:#9467bd"></i>active users</span></figcaption></figure>
</section>
<section id="agents-section" hidden><h2>Agents</h2><div class="scroll"><table id="agents"><thead><tr><th>agent</th><th>host</th><th>state</th><th>events received</th><th>requests</th></tr></thead><tbody></tbody></table></div></section>
<h2>Requests</h2>
<div class="scroll"><table id="request-table"><thead><tr><th>name</th><th>requests</th><th>failed</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>connect p95</th><th>TLS p95</th><th>waiting p95</th></tr></thead><tbody></tbody></table></div>
<h2>Tests</h2>
<div class="scroll"><table id="test-table"><thead><tr><th>test</th><th>hits</th><th>successes</th><th>failures</th><th>errors</th><th>skips</th><th>p50 ms</th><th>p99 ms</th></tr></thead><tbody></tbody></table></div>
<h2>Counters</h2>
<div class="scroll"><table id="counter-table"><thead><tr><th>counter</th><th>value</th></tr></thead><tbody></tbody></table></div>
<section id="sockets-section" hidden><h2>WebSockets</h2><div class="scroll"><table id="socket-table"><thead><tr><th>opened</th><th>failed</th><th>messages sent</th><th>messages received</th></tr></thead><tbody></tbody></table></div></section>
<h2>Top errors</h2>
<div class="scroll"><table id="error-table"><thead><tr><th>test</th><th>kind</th><th>type</th><th>message</th><th>count</th></tr></thead><tbody></tbody></table></div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const num = new Intl.NumberFormat("en-US");
const fmt = (n) => num.format(n);
const fix = (n, d) => Number(n).toFixed(d);
const msText = (v) => v >= 100 ? fix(v, 0) : v >= 10 ? fix(v, 1) : fix(v, 2);
const clockText = (s) => { s = Math.floor(s); const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(x).padStart(2, "0"); };
let finished = false, socket = null, retry = 1000;

// Sets a number: shown formatted, kept raw in data-value for scripts and tests.
function setNumber(id, value, text) { const el = $(id); el.dataset.value = value; el.textContent = text === undefined ? fmt(value) : text; }

// Replaces a table's rows; cells are text only.
function fillTable(id, rows, cells, emptyText) {
  const body = $(id).tBodies[0], out = document.createDocumentFragment();
  for (const row of rows) {
    const tr = document.createElement("tr");
    for (const [text, cls] of cells(row)) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
    out.appendChild(tr);
  }
  if (!rows.length) { const tr = document.createElement("tr"), td = document.createElement("td");
    td.colSpan = $(id).tHead.rows[0].cells.length; td.className = "empty"; td.textContent = emptyText; tr.appendChild(td); out.appendChild(tr); }
  body.replaceChildren(out);
}

// A line chart on a canvas: lines = [{values, color}], over the same x points.
function drawChart(id, t, lines) {
  const canvas = $(id), ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * ratio; canvas.height = h * ratio;
  const g = canvas.getContext("2d"); g.scale(ratio, ratio); g.clearRect(0, 0, w, h);
  const style = getComputedStyle(document.body);
  const left = 44, bottom = 18, top = 6, right = 6;
  let max = 0; for (const l of lines) for (const v of l.values) max = Math.max(max, v);
  max = max > 0 ? max * 1.1 : 1;
  g.font = "11px system-ui,sans-serif"; g.fillStyle = style.getPropertyValue("--muted"); g.strokeStyle = style.getPropertyValue("--line"); g.lineWidth = 1;
  g.textAlign = "right";
  for (let i = 0; i <= 4; i++) { const y = top + (h - top - bottom) * (1 - i / 4);
    g.beginPath(); g.moveTo(left, y); g.lineTo(w - right, y); g.stroke();
    const v = max * i / 4; g.fillText(v >= 100 ? fix(v, 0) : fix(v, 1), left - 4, y + 4); }
  if (t.length < 1) return;
  const span = Math.max(1, t[t.length - 1] - t[0]);
  const x = (i) => left + (w - left - right) * (t.length === 1 ? 1 : (t[i] - t[0]) / span);
  g.textAlign = "center"; g.fillText(clockText(span) + " shown", (left + w) / 2, h - 4);
  for (const l of lines) { g.strokeStyle = l.color; g.lineWidth = 1.8; g.beginPath();
    l.values.forEach((v, i) => { const y = top + (h - top - bottom) * (1 - v / max); i ? g.lineTo(x(i), y) : g.moveTo(x(i), y); });
    g.stroke(); }
}

function render(s) {
  finished = s.state === "finished";
  const badge = $("state"); badge.textContent = s.state; badge.className = "badge " + s.state;
  $("clock").textContent = (s.mode === "distributed" ? "distributed · " : "local · ") + clockText(s.elapsed) + " elapsed" +
    (s.remaining !== null ? " · " + clockText(s.remaining) + " left" : "");
  setNumber("users", s.users); setNumber("hits", s.hits); setNumber("requests", s.requests);
  setNumber("rps", s.rps, fmt(Math.round(s.rps))); $("rps-label").textContent = finished ? "req/s (whole run)" : "req/s (last second)";
  setNumber("failures", s.requestFailures); setNumber("test-errors", s.testFailures + s.testErrors);
  setNumber("p50", s.p50, msText(s.p50) + " ms"); setNumber("p99", s.p99, msText(s.p99) + " ms");
  const stop = $("stop");
  stop.disabled = s.state !== "running"; stop.textContent = s.state === "running" ? "Stop run" : s.state === "stopping" ? "Stopping…" : "Run over";
  const notes = $("overflows"); notes.replaceChildren();
  for (const text of s.overflows || []) { const p = document.createElement("p"); p.className = "overflow"; p.textContent = "Note: " + text; notes.appendChild(p); }
  const sr = s.series;
  drawChart("chart-rps", sr.t, [{ values: sr.req, color: "#1f77b4" }, { values: sr.err, color: "#d62728" }]);
  drawChart("chart-latency", sr.t, [{ values: sr.p50, color: "#2ca02c" }, { values: sr.p99, color: "#ff7f0e" }]);
  drawChart("chart-users", sr.t, [{ values: sr.users, color: "#9467bd" }]);
  $("agents-section").hidden = !s.agents;
  if (s.agents) fillTable("agents", s.agents, (a) => [[a.id], [a.host], [a.state, a.state === "lost" ? "fail" : ""], [fmt(a.events)], [fmt(a.requests)]], "no agents");
  fillTable("request-table", s.requestRows, (r) => [[r.name], [fmt(r.count)], [fmt(r.failures), r.failures ? "fail" : ""], [fix(r.rps, 1)],
    [msText(r.p50)], [msText(r.p95)], [msText(r.p99)], [msText(r.max)],
    [r.connectP95 == null ? "–" : msText(r.connectP95)], [r.tlsP95 == null ? "–" : msText(r.tlsP95)],
    [r.waitingP95 == null ? "–" : msText(r.waitingP95)]], "no requests yet");
  fillTable("test-table", s.tests, (t) => [[t.name], [fmt(t.hits)], [fmt(t.successes)], [fmt(t.failures), t.failures ? "fail" : ""],
    [fmt(t.errors), t.errors ? "fail" : ""], [fmt(t.skips)], [msText(t.p50)], [msText(t.p99)]], "no hits yet");
  fillTable("counter-table", s.counters, (c) => [[c[0]], [fmt(c[1])]], "no counters");
  const k = s.sockets; $("sockets-section").hidden = !k.opened;
  fillTable("socket-table", k.opened ? [k] : [], (x) => [[fmt(x.opened)], [fmt(x.failed), x.failed ? "fail" : ""], [fmt(x.sent)], [fmt(x.received)]], "");
  fillTable("error-table", s.errors, (e) => [[e.test], [e.kind], [e.type], [e.message], [fmt(e.count)]], "no errors");
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
}

function connect() {
  socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  socket.onopen = () => { retry = 1000; };
  socket.onmessage = (event) => { try { render(JSON.parse(event.data)); } catch (e) { console.error(e); } };
  socket.onclose = () => {
    socket = null; $("stop").disabled = true;
    if (finished) return;
    const badge = $("state"); badge.textContent = "disconnected"; badge.className = "badge offline";
    setTimeout(connect, retry); retry = Math.min(retry * 2, 30000);
  };
}

$("stop").addEventListener("click", () => {
  if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify({ type: "stop" })); $("stop").disabled = true; $("stop").textContent = "Stopping…"; }
});
connect();
</script>
</body></html>
)html";

}  // namespace

const std::string& dashboardPage() {
  static const std::string page(kPage);
  return page;
}

}  // namespace loads::master
