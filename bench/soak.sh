#!/usr/bin/env bash
# Soak: one long local run of loads-master against the bundled target at a fixed open-model
# rate, with the master's RSS (VmRSS) sampled every 10 s into a CSV. Prints the RSS at the
# start, after the warm-up and at the end, and the slope after the warm-up (least squares).
#   bench/soak.sh [duration=30m] [rate=300] [max_users=50]
# The binaries are copied first (to $SOAK_DIR, default a new /tmp/soak.XXXXXX), so that a
# rebuild of build/ during the run does not disturb it. BUILD picks another build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-30m}; rate=${2:-300}; max_users=${3:-50}
build=${BUILD:-build}
dir=${SOAK_DIR:-$(mktemp -d /tmp/soak.XXXXXX)}
mkdir -p "$dir"

seconds() {  # 90 / 90s / 30m / 2h -> seconds
  case $1 in *h) echo $(( ${1%h} * 3600 ));; *m) echo $(( ${1%m} * 60 ));;
             *s) echo "${1%s}";; *) echo "$1";; esac
}
total=$(seconds "$duration")
warmup=$(( total / 10 < 120 ? total / 10 : 120 ))

cp "$build/master/loads-master" "$build/examples/target/loads-target" \
   "$build/examples/simple/libsimple.so" "$build"/common/libloads.so* "$dir/"
export LD_LIBRARY_PATH=$dir  # searched before the binaries' RUNPATH into $build

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true' EXIT
"$dir/loads-target" --port 0 >"$dir/target.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$dir/target.log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$dir/target.log")
[ -n "$url" ] || { echo "soak: the target did not start" >&2; cat "$dir/target.log" >&2; exit 3; }

"$dir/loads-master" "$dir/libsimple.so" --test Static --rate "$rate" --max-users "$max_users" \
  -d "${total}s" --server-url "$url" --quiet --json "$dir/report.json" >"$dir/master.log" 2>&1 &
master=$!
pids+=($master)
echo "soak: ${total}s at ${rate}/s (max ${max_users} users), master pid $master, files in $dir"

csv=$dir/rss.csv
echo "seconds,rss_kib" >"$csv"
start=$SECONDS
while rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$master/status" 2>/dev/null) && [ -n "$rss" ]; do
  echo "$(( SECONDS - start )),$rss" >>"$csv"
  sleep 10
done
set +e; wait "$master"; status=$?; set -e
pids=("${pids[0]}")
served=$(curl -s "$url/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["served"])')

python3 - "$csv" "$warmup" "$dir/report.json" "$served" "$status" <<'EOF'
import csv, json, sys
rows = [(int(r["seconds"]), int(r["rss_kib"])) for r in csv.DictReader(open(sys.argv[1]))]
warmup = int(sys.argv[2])
after = [r for r in rows if r[0] >= warmup] or rows
n = len(after)
mx = sum(t for t, _ in after) / n
my = sum(v for _, v in after) / n
var = sum((t - mx) ** 2 for t, _ in after)
slope = sum((t - mx) * (v - my) for t, v in after) / var * 60 if var else 0.0
hits = json.load(open(sys.argv[3]))["summary"]["hits"]
print(f"rss_start_kib={rows[0][1]} rss_after_warmup_kib={after[0][1]} (at {after[0][0]}s)"
      f" rss_end_kib={rows[-1][1]} (at {rows[-1][0]}s) rss_max_kib={max(v for _, v in rows)}")
print(f"slope_after_warmup_kib_per_min={slope:.2f} samples={len(rows)}")
print(f"hits={hits} served={sys.argv[4]} master_exit={sys.argv[5]}")
EOF
