#!/usr/bin/env bash
# Peak RSS of loads-master when every hit asks for another path (issue #11), against
# loads-target, which counts what it served: the report must count the same.
#   bench/distinct_paths.sh [hits=20000] [users=10] [extra loads-master options...]
set -euo pipefail
cd "$(dirname "$0")/.."
hits=${1:-20000}; users=${2:-10}; shift $(( $# < 2 ? $# : 2 ))
[ -x build/master/loads-master ] && [ -f build/bench/libdistinct_paths.so ] || scripts/setup.sh
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/examples/target/loads-target --host 127.0.0.1 --port "$port" --threads 1 >/dev/null &
target=$!
trap 'kill $target 2>/dev/null; wait $target 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/static" >/dev/null && break; sleep 0.1; done
curl -sf -X POST "http://127.0.0.1:$port/stats/reset" >/dev/null  # the probe is not counted
report=$(mktemp --suffix=.json)
start=$(date +%s)
peak=$( { /usr/bin/time -f '%M' build/master/loads-master build/bench/libdistinct_paths.so \
  -u "$users" --hits $(( hits / users )) -t 1 --server-url "http://127.0.0.1:$port" --quiet \
  --json "$report" "$@" >/dev/null; } 2>&1 | tail -1)
secs=$(( $(date +%s) - start ))
served=$(curl -sf "http://127.0.0.1:$port/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["served"])')
python3 - "$report" "$served" "$peak" "$secs" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); served = int(sys.argv[2]); peak = int(sys.argv[3])
n = r["summary"]["requests"]
other = next((q["requests"] for q in r["requests"] if q["name"] == "(other)"), 0)
print(f"requests={n} served={served} counted_exactly={'yes' if n == served else 'NO'} "
      f"names={len(r['requests'])} other={other} peak_rss_mib={peak / 1024:.0f} seconds={sys.argv[4]}")
for o in r.get("overflows", []): print("sentence:", o["sentence"])
PY
rm -f "$report"
