#!/usr/bin/env bash
# A/B of builds in distributed mode, on one machine at one time: each round runs wrk -t2,
# then for each build directory a broker, 2 agents (-t 1 each) and a master of that build
# against the same nginx (50 connections); even rounds run the builds in reverse order, so
# that no build always has the slot right after wrk. Prints per round and build: loads
# req/s, the
# ratio to that round's wrk -t2, the CPU µs a request of all loads processes (broker,
# agents with their slaves, master; user + system) and of nginx. Then the median ratio
# per build. A build directory needs only what a run uses: `bench/distributed_ab.sh
# --snapshot DIR` copies this tree's into DIR/build (the binaries find their library
# through LD_LIBRARY_PATH, which this script sets).
#   bench/distributed_ab.sh [rounds=6] [seconds=5] BUILD_DIR...
#   bench/distributed_ab.sh --snapshot DIR
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --snapshot ]; then
  d=$2/build
  rm -rf "$d"; mkdir -p "$d"/{master,agent,broker,common,examples/simple}
  cp build/master/loads-master "$d/master/"; cp build/agent/loads-{agent,slave} "$d/agent/"
  cp build/broker/loads-broker "$d/broker/"; cp -a build/common/libloads.so* "$d/common/"
  cp build/examples/simple/libsimple.so "$d/examples/simple/"
  echo "$d"; exit 0
fi
rounds=${1:-6}; secs=${2:-5}; shift 2; builds=("$@")
[ ${#builds[@]} -gt 0 ] || { echo "usage: $0 [rounds] [seconds] BUILD_DIR..." >&2; exit 2; }
source bench/nginx.sh
source bench/rounds.sh
server=$(pgrep -P "$NGINX_PID" | head -1)
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"; }  # own + reaped children
run_build() {  # run_build DIR: prints req/s, loads µs/req, nginx µs/req
  local b=$1 work bp a1 a2 c0 c1 n0 n1
  work=$(mktemp -d)
  export LD_LIBRARY_PATH=$b/common
  local pids=()
  start_cluster 2 "$work" "$b"
  bp=${pids[0]} a1=${pids[1]} a2=${pids[2]}
  c0=$(( $(cpu $bp) + $(cpu $a1) + $(cpu $a2) )); n0=$(cpu "$server")
  /usr/bin/time -f "%U %S" -o "$work/time" "$b/master/loads-master" \
    "$b/examples/simple/libsimple.so" --test Static --agents 2 -t 1 \
    --broker tcp://127.0.0.1:17780 --wait-agents 20s -u 50 -d "${secs}s" \
    --server-url "$NGINX_URL" --quiet --json "$work/loads.json" >"$work/master.log" 2>&1
  for _ in $(seq 100); do  # the slaves' CPU counts once their agents reaped them
    [ -z "$(pgrep -P $a1)$(pgrep -P $a2)" ] && break; sleep 0.1
  done
  c1=$(( $(cpu $bp) + $(cpu $a1) + $(cpu $a2) )); n1=$(cpu "$server")
  python3 - "$work" "$c0" "$c1" "$n0" "$n1" "$tick" <<'PY'
import json, sys
work, c0, c1, n0, n1, tick = sys.argv[1], *map(int, sys.argv[2:])
s = json.load(open(f'{work}/loads.json'))['summary']
u, k = map(float, open(f'{work}/time').read().split()[-2:])
n = s['requests']
print('%.0f %.2f %.2f' % (n / s['durationSeconds'], ((c1 - c0) / tick + u + k) * 1e6 / n,
                          (n1 - n0) / tick * 1e6 / n))
PY
  kill $bp $a1 $a2; wait $bp $a1 $a2 2>/dev/null
  unset LD_LIBRARY_PATH
  rm -rf "$work"
}
declare -A ratios
echo "# $(date -u +%FT%TZ) rounds=$rounds secs=$secs builds: ${builds[*]}"
declare -A results
for r in $(seq "$rounds"); do
  w=$(wrk "${WRK_SAME_REQUEST[@]}" -t2 -c50 -d"${secs}s" "$NGINX_URL/static" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  order=("${builds[@]}")
  if [ $((r % 2)) -eq 0 ]; then
    order=(); for ((i = ${#builds[@]} - 1; i >= 0; i--)); do order+=("${builds[$i]}"); done
  fi
  for b in "${order[@]}"; do
    read -r rate us ngx < <(run_build "$b")
    ratio=$(python3 -c "print('%.3f' % ($rate / $w))")
    ratios[$b]="${ratios[$b]:-} $ratio"
    results[$b]="$b $rate $ratio loads ${us}us nginx ${ngx}us"
  done
  line="round $r  wrk-t2 $w  first ${order[0]}"
  for b in "${builds[@]}"; do line="$line | ${results[$b]}"; done
  echo "$line | load $(cut -d' ' -f1-3 /proc/loadavg)"
done
for b in "${builds[@]}"; do
  python3 -c "import statistics, sys; print('median loads/wrk-t2 of %s: %.3f' % \
(sys.argv[1], statistics.median(map(float, sys.argv[2:]))))" "$b" ${ratios[$b]}
done
