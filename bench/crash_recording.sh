#!/usr/bin/env bash
# The cost of running the test code in a child loads-slave that records every event into
# the shared-memory event ring (issue #19) against today's in-process runner: the same
# loads-master, the same nginx, one runner thread, rounds alternating between the two
# (the machine is shared: compare rounds side by side). Prints req/s of each and the ratio.
#   bench/crash_recording.sh [connections=50] [seconds=5] [rounds=4] [other-master]
# other-master: also run this loads-master binary (e.g. main's build) in-process each round.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-50}; secs=${2:-5}; rounds=${3:-4}; other=${4:-}
[ -x build/master/loads-master ] || scripts/setup.sh
NGINX_PORT=${NGINX_PORT:-18191} source bench/nginx.sh
report=$(mktemp)
rps() {  # loads-master binary, extra options...
  local master=$1; shift
  "$master" build/examples/simple/libsimple.so --test Static -u "$conns" -t 1 -d "${secs}s" \
    --server-url "$NGINX_URL" --quiet --json "$report" "$@" >/dev/null || true
  python3 -c "import json; d=json.load(open('$report'))['summary']; \
print('%.0f' % (d['requests'] / d['durationSeconds']))"
}
uptime
printf '%-6s %14s %14s %8s %14s\n' round in-process child ratio other
for r in $(seq "$rounds"); do
  inproc=$(rps build/master/loads-master --in-process)
  child=$(rps build/master/loads-master)
  o=-; [ -n "$other" ] && o=$(rps "$other")
  printf '%-6s %14s %14s %8.3f %14s\n' "$r" "$inproc" "$child" "$(echo "$child / $inproc" | bc -l)" "$o"
done
uptime
rm -f "$report"
