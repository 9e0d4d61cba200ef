#!/usr/bin/env bash
# loads-master vs wrk against the same nginx (one worker), same connections, one thread
# each, one after the other, several rounds. Prints both req/s and the ratio.
#   bench/local_vs_wrk.sh [connections=50] [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-50}; secs=${2:-10}; rounds=${3:-3}
[ -x build/master/loads-master ] || scripts/setup.sh
source bench/nginx.sh
report=$(mktemp)
printf '%-6s %12s %12s %8s\n' round wrk_req/s loads_req/s ratio
for r in $(seq "$rounds"); do
  wrk_rps=$(wrk -t1 -c"$conns" -d"${secs}s" "$NGINX_URL/static" | awk '/Requests\/sec/ {print $2}')
  build/master/loads-master build/examples/simple/libsimple.so --test Static -u "$conns" \
    -t 1 -d "${secs}s" --server-url "$NGINX_URL" --quiet --json "$report" >/dev/null
  loads_rps=$(python3 -c "import json,sys; d=json.load(open('$report'))['summary']; \
print('%.0f' % (d['requests'] / d['durationSeconds']))")
  printf '%-6s %12.0f %12s %8.2f\n' "$r" "$wrk_rps" "$loads_rps" \
    "$(echo "$loads_rps / $wrk_rps" | bc -l)"
done
rm -f "$report"
