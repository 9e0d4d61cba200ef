#!/usr/bin/env bash
# A real Prometheus (Debian's) scrapes a running loads-master (--metrics) and loads-broker
# (--metrics) on loopback; once the run is over its HTTP API must give the values of the
# JSON report, and the target's own count. Every wait is bounded.
# Usage: prometheus_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
command -v prometheus >/dev/null || { echo "FAIL: prometheus is not installed (scripts/setup.sh)"; exit 1; }
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL: up to 20 s for it to answer
  for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "FAIL: $1 never answered"; exit 1
}

target_port=$(free_port); front=$(free_port); back=$(free_port)
broker_metrics=$(free_port); master_metrics=$(free_port); prom_port=$(free_port)
"$build/examples/target/loads-target" --port "$target_port" >"$dir/target.log" 2>&1 & pids+=($!)
"$build/broker/loads-broker" --frontend "tcp://127.0.0.1:$front" --backend "tcp://127.0.0.1:$back" \
  --heartbeat 200ms --metrics "127.0.0.1:$broker_metrics" >"$dir/broker.log" 2>&1 & pids+=($!)
for i in 1 2 3; do
  "$build/agent/loads-agent" --broker "tcp://127.0.0.1:$back" --id "agent-$i" \
    --cache-dir "$dir/cache-$i" >"$dir/agent-$i.log" 2>&1 & pids+=($!)
done
wait_http "http://127.0.0.1:$target_port/stats"
wait_http "http://127.0.0.1:$broker_metrics/metrics"

cat >"$dir/prometheus.yml" <<CONF
global: { scrape_interval: 1s, scrape_timeout: 1s }  # generous: a loaded machine is slow to answer
scrape_configs:
  - job_name: loads-master
    static_configs: [ { targets: ['127.0.0.1:$master_metrics'] } ]
  - job_name: loads-broker
    static_configs: [ { targets: ['127.0.0.1:$broker_metrics'] } ]
CONF
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$prom_port/-/ready"
# Prometheus takes up its targets some seconds after it is ready: wait for both, so that
# it scrapes the master during the run too.
for _ in $(seq 200); do
  n=$(curl -sf "http://127.0.0.1:$prom_port/api/v1/targets" |
      python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["activeTargets"]))' || echo 0)
  [ "$n" = 2 ] && break; sleep 0.1
done
[ "$n" = 2 ] || { echo "FAIL: Prometheus never took up its 2 targets"; exit 1; }

# Three agents, 7 users, 3 hits each of a GET and a 1 s think time (Idle.test_idle): odd
# numbers so a wrong split shows, and long enough for scrapes during the run. --linger
# ends as soon as a scrape read the end.
"$build/master/loads-master" "$build/examples/simple/libsimple.so" --test Idle.test_idle \
  --agents 3 --broker "tcp://127.0.0.1:$front" --wait-agents 20s -u 7 --hits 3 \
  --server-url "http://127.0.0.1:$target_port" --metrics "127.0.0.1:$master_metrics" \
  --linger 20s --json "$dir/report.json" -q >"$dir/master.log" 2>&1 || {
  echo "FAIL: loads-master exited $?"; cat "$dir/master.log"; exit 1; }

python3 - "$dir/report.json" "$prom_port" "$target_port" <<'PY'
import json, sys, time, urllib.parse, urllib.request
report = json.load(open(sys.argv[1]))
prom, target = sys.argv[2], sys.argv[3]
served = json.load(urllib.request.urlopen(f"http://127.0.0.1:{target}/stats"))["served"]
def query(expr):
    url = f"http://127.0.0.1:{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    data = json.load(urllib.request.urlopen(url, timeout=5))
    assert data["status"] == "success", data
    return {json.dumps(r["metric"], sort_keys=True): float(r["value"][1]) for r in data["data"]["result"]}
def one(expr):
    values = query(expr)
    return next(iter(values.values())) if len(values) == 1 else None
request = report["requests"][0]
test = report["tests"][0]
lat = request["latencyUs"]
expected = {
    'loads_run_finished{job="loads-master"}': 1,
    f'loads_requests_total{{name="{request["name"]}"}}': request["requests"],
    f'loads_request_failures_total{{name="{request["name"]}"}}': request["failures"],
    f'loads_request_bytes_total{{name="{request["name"]}"}}': request["bytes"],
    f'loads_hits_total{{test="{test["name"]}"}}': test["hits"],
    f'loads_hit_outcomes_total{{test="{test["name"]}",outcome="success"}}': test["successes"],
    f'loads_request_duration_seconds_count{{name="{request["name"]}"}}': lat["count"],
    f'loads_request_duration_quantile_seconds{{name="{request["name"]}",quantile="0.99"}}': lat["p99"] / 1e6,
    f'loads_request_duration_quantile_seconds{{name="{request["name"]}",quantile="0.5"}}': lat["p50"] / 1e6,
    'loads_run_exit_code': report["run"]["exitCode"],
    'loads_broker_runs_accepted_total': 1,
    'loads_broker_agents{state="idle"}': 3,
    'loads_broker_malformed_messages_total{socket="backend"}': 0,
}
assert request["requests"] == served == 7 * 3, (request["requests"], served)
deadline = time.time() + 30
while True:
    got = {expr: one(expr) for expr in expected}
    wrong = {e: (got[e], v) for e, v in expected.items() if got[e] is None or abs(got[e] - v) > 1e-6}
    if not wrong:
        break
    if time.time() > deadline:
        print("FAIL: Prometheus disagrees with the JSON report (got, expected):")
        for e, (g, v) in wrong.items(): print(f"  {e}: {g} != {v}")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{prom}/api/v1/targets"))
        for t in targets["data"]["activeTargets"]:
            print(f"  target {t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}")
        sys.exit(1)
    time.sleep(0.25)
# Live during the run: some scrape saw it unfinished, with users active.
assert one('min_over_time(loads_run_finished{job="loads-master"}[10m])') == 0, "no live scrape"
assert one('max_over_time(loads_users_active[10m])') > 0, "no live users"
front = one('loads_broker_messages_total{socket="frontend"}')
assert front and front > 0, front
print(f"ok: Prometheus read {request['requests']} requests (the target served {served}), "
      f"live scrapes during the run, "
      f"p99 {lat['p99']} µs, and the broker's counters")
PY
