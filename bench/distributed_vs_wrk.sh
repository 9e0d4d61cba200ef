#!/usr/bin/env bash
# loads distributed (broker + 2 agents + master, every hit sent to and recorded by the
# master) vs wrk -t2 against the same nginx, same connections, the same request bytes (wrk
# is given loads' User-Agent line), in alternating rounds
# (odd rounds wrk first, even rounds loads first). The broker and agents stay up across
# rounds; each round is one loads-master run. Prints each round (with the load average)
# and the median ratio. Each agent's slave runs one runner thread (-t 1): two threads in
# all, as wrk -t2 has (with the default, one per core, loads would have four threads and
# take a larger share of a busy machine's CPU).
#   bench/distributed_vs_wrk.sh [users=50] [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-50}; secs=${2:-10}; rounds=${3:-3}
[ -x build/master/loads-master ] || scripts/setup.sh
source bench/nginx.sh
source bench/rounds.sh
work=$(mktemp -d)
pids=()
cleanup_all() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap 'cleanup_all; kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf "$NGINX_DIR"' EXIT

start_cluster 2 "$work"

run_peer() { wrk "${WRK_SAME_REQUEST[@]}" -t2 -c"$users" -d"${secs}s" "$NGINX_URL/static" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
run_loads() {
  build/master/loads-master build/examples/simple/libsimple.so --test Static --agents 2 -t 1 \
    --broker tcp://127.0.0.1:17780 --wait-agents 20s -u "$users" -d "${secs}s" \
    --server-url "$NGINX_URL" --quiet --json "$work/loads.json" >>"$work/master.log" 2>&1
  loads_rate "$work/loads.json"
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null) users=$users secs=$secs"
alternate_rounds "$rounds" wrk-t2
