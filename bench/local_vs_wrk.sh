#!/usr/bin/env bash
# loads-master (local mode, every hit recorded) vs wrk against the same nginx (one
# worker), same connections, one thread each, in alternating rounds: odd rounds run wrk
# first, even rounds loads first, so that neither tool always gets the warmer or the
# quieter slot. Prints each round (with the load average) and the median ratio.
#   bench/local_vs_wrk.sh [connections=50] [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-50}; secs=${2:-10}; rounds=${3:-3}
[ -x build/master/loads-master ] || scripts/setup.sh
source bench/nginx.sh
report=$(mktemp)
ratios=()

run_wrk() { wrk -t1 -c"$conns" -d"${secs}s" "$NGINX_URL/static" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
run_loads() {
  build/master/loads-master build/examples/simple/libsimple.so --test Static -u "$conns" \
    -t 1 -d "${secs}s" --server-url "$NGINX_URL" --quiet --json "$report" >/dev/null
  python3 -c "import json; d=json.load(open('$report'))['summary']; \
print('%.0f' % (d['requests'] / d['durationSeconds']))"
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null) conns=$conns secs=$secs"
printf '%-6s %-6s %12s %12s %8s  %s\n' round first wrk_req/s loads_req/s ratio load_average
for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then
    first=wrk; wrk_rps=$(run_wrk); loads_rps=$(run_loads)
  else
    first=loads; loads_rps=$(run_loads); wrk_rps=$(run_wrk)
  fi
  ratio=$(python3 -c "print('%.3f' % ($loads_rps / $wrk_rps))")
  ratios+=("$ratio")
  printf '%-6s %-6s %12s %12s %8s  %s\n' "$r" "$first" "$wrk_rps" "$loads_rps" "$ratio" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
done
rm -f "$report"
python3 -c "import statistics, sys; print('median loads/wrk over %d rounds: %.3f' % \
(len(sys.argv) - 1, statistics.median(map(float, sys.argv[1:]))))" "${ratios[@]}"
