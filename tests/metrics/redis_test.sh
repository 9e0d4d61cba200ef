#!/usr/bin/env bash
# TestCase::measure() against a real Redis (Debian's redis-server) on loopback: the
# example library (examples/redis) INCRs and GETs a key; Redis's own count of INCR and GET
# calls (INFO commandstats) and the key's value must equal the report's requests, in the
# JSON, the CSV and /metrics. Every wait is bounded.
# Usage: redis_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
command -v redis-server >/dev/null || { echo "FAIL: redis-server is not installed (scripts/setup.sh)"; exit 1; }
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port); metrics=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
  >"$dir/redis.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
redis-cli -p "$port" ping | grep -q PONG || { echo "FAIL: redis-server did not start"; cat "$dir/redis.log"; exit 1; }

# 5 users x 37 hits on 3 threads: odd numbers, more users than threads.
LOADS_REDIS="127.0.0.1:$port" "$build/master/loads-master" "$build/examples/redis/libredis_example.so" -u 5 --hits 37 -t 3 \
  --json "$dir/report.json" --csv "$dir/run" \
  --metrics "127.0.0.1:$metrics" --linger 0s -q >"$dir/master.log" 2>&1 || {
  echo "FAIL: loads-master exited $?"; cat "$dir/master.log"; exit 1; }

stats=$(redis-cli -p "$port" info commandstats)
value=$(redis-cli -p "$port" get loads:example:hits)
python3 - "$dir/report.json" "$dir/run_requests.csv" "$value" "$stats" <<'PY'
import csv, json, re, sys
report = json.load(open(sys.argv[1]))
rows = {r["name"]: r for r in csv.DictReader(open(sys.argv[2]))}
value, stats = int(sys.argv[3]), sys.argv[4]
calls = {m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", stats)}
requests = {r["name"]: r for r in report["requests"]}
incr, get = requests["redis INCR"], requests["redis GET"]
expected = 5 * 37
problems = []
def check(what, got, want):
    if got != want: problems.append(f"{what}: {got} != {want}")
check("report INCR requests", incr["requests"], expected)
check("Redis's INCR calls", calls.get("incr"), incr["requests"])
check("Redis's GET calls", calls.get("get"), get["requests"])
check("the key's value", value, incr["requests"])
check("INCR failures", incr["failures"], 0)
check("INCR statusCodes", incr["statusCodes"], {})
check("INCR phased", incr["phased"], 0)
check("CSV INCR requests", int(rows["redis INCR"]["requests"]), incr["requests"])
check("latency count", incr["latencyUs"]["count"], incr["requests"])
check("tests' successes", report["tests"][0]["successes"], expected)
if problems:
    print("FAIL:\n  " + "\n  ".join(problems)); sys.exit(1)
print(f"closed model ok: {incr['requests']} INCR and {get['requests']} GET measured; Redis counted "
      f"{calls['incr']} and {calls['get']}; p99 {incr['latencyUs']['p99']} µs")
PY

# The open model: the first measure() of each hit is timed from its planned start, and a
# threshold on a measured name judges it like an HTTP request.
redis-cli -p "$port" config resetstat >/dev/null
redis-cli -p "$port" del loads:example:hits >/dev/null
code=0
LOADS_REDIS="127.0.0.1:$port" "$build/master/loads-master" "$build/examples/redis/libredis_example.so" \
  --rate 150 -d 2s --max-users 4 -t 2 --json "$dir/open.json" -q \
  --threshold 'http_reqs{name:redis INCR}:count>1000000' >"$dir/open.log" 2>&1 || code=$?
[ "$code" = 99 ] || { echo "FAIL: the unreachable threshold should exit 99, got $code"; cat "$dir/open.log"; exit 1; }
stats=$(redis-cli -p "$port" info commandstats)
python3 - "$dir/open.json" "$stats" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
calls = {m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", sys.argv[2])}
requests = {r["name"]: r for r in report["requests"]}
incr, get = requests["redis INCR"], requests["redis GET"]
assert incr["requests"] == calls["incr"] > 0, (incr["requests"], calls)
assert get["requests"] == calls["get"], (get["requests"], calls)
assert incr["planned"] == incr["requests"], incr["planned"]   # the first call of each hit
assert get["planned"] == 0, get["planned"]
assert incr["latencyCorrectedUs"]["count"] == incr["requests"]
assert report["thresholds"][0]["pass"] is False
print(f"open model ok: {incr['requests']} INCR planned and corrected; Redis counted {calls['incr']}")
PY
