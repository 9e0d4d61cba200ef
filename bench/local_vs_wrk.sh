#!/usr/bin/env bash
# loads-master (local mode, every hit recorded) vs wrk against the same nginx (one
# worker), same connections, one thread each, the same request bytes (wrk is given loads'
# User-Agent line), in alternating rounds: odd rounds run wrk
# first, even rounds loads first, so that neither tool always gets the warmer or the
# quieter slot. Prints each round (with the load average) and the median ratio.
#   bench/local_vs_wrk.sh [connections=50] [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-50}; secs=${2:-10}; rounds=${3:-3}
[ -x build/master/loads-master ] || scripts/setup.sh
source bench/nginx.sh
source bench/rounds.sh
report=$(mktemp)

run_peer() { wrk "${WRK_SAME_REQUEST[@]}" -t1 -c"$conns" -d"${secs}s" "$NGINX_URL/static" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
run_loads() {
  build/master/loads-master build/examples/simple/libsimple.so --test Static -u "$conns" \
    -t 1 -d "${secs}s" --server-url "$NGINX_URL" --quiet --json "$report" >/dev/null
  loads_rate "$report"
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null) conns=$conns secs=$secs"
alternate_rounds "$rounds" wrk
rm -f "$report"
