#!/usr/bin/env bash
# Cost per request of loads-master (local mode, one runner thread, every hit recorded)
# and of wrk -t1, under the same load against the same nginx: figures that do not depend
# on how busy the machine is, unlike req/s.
#   bench/profile_local.sh [connections=50] [seconds=8] [record=perf.data]
# Prints per tool: requests, CPU µs per request (task-clock), system calls and context
# switches per request (perf stat), and user-space instructions per request (callgrind:
# the difference between a run of 2·s and one of s seconds, so start-up is excluded; the
# local master's child loads-slave included, as perf stat includes it).
# With a third argument, also records loads-master with `perf record` into that file
# (read it with `perf report -i FILE --no-children --sort dso,symbol`).
# Needs linux-perf and valgrind (scripts/setup.sh installs them). This VM's perf has no
# hardware counters (cycles, instructions: <not supported>), hence callgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-50}; secs=${2:-8}; record=${3:-}
source bench/nginx.sh
report=$(mktemp); stat=$(mktemp); tmp=$(mktemp -d)
trap 'rm -rf "$report" "$stat" "$tmp"; kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf "$NGINX_DIR"' EXIT

loads() {  # loads(seconds, wrapper...): runs loads-master, prints its request count
  local s=$1; shift
  "$@" build/master/loads-master build/examples/simple/libsimple.so --test Static -u "$conns" \
    -t 1 -d "${s}s" --server-url "$NGINX_URL" --quiet --json "$report" >/dev/null
  python3 -c "import json; print(json.load(open('$report'))['summary']['requests'])"
}
wrk1() {  # wrk1(seconds, wrapper...): runs wrk -t1, prints its request count
  local s=$1; shift
  "$@" wrk "${WRK_SAME_REQUEST[@]}" -t1 -c"$conns" -d"${s}s" "$NGINX_URL/static" | awk '/requests in/ {print $1}'
}
perfstat() {  # perfstat(tool): one perf-stat'ed run, prints the per-request row
  local n
  n=$($1 "$secs" perf stat -x, -o "$stat" -e task-clock,raw_syscalls:sys_enter,context-switches)
  python3 - "$1" "$n" "$stat" <<'PY'
import sys
tool, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
v = {}
for line in open(path):
    f = line.strip().split(',')
    if len(f) > 2 and f[0] and not line.startswith('#'):
        v[f[2]] = float(f[0])
print(f"{tool:6} {n:10d} {v['task-clock'] * 1000 / n:12.2f} "
      f"{v['raw_syscalls:sys_enter'] / n:12.2f} {v['context-switches'] / n:10.3f}", end='')
PY
}
callgrind() {  # callgrind(tool): user-space instructions per request, child processes included
  local a b ia ib
  a=$($1 "$secs" valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file="$tmp/a.%p" 2>"$tmp/a.err")
  b=$($1 "$((2 * secs))" valgrind --tool=callgrind --trace-children=yes \
    --callgrind-out-file="$tmp/b.%p" 2>"$tmp/b.err")
  ia=$(awk '/Collected/ {gsub(",", "", $4); n += $4} END {print n}' "$tmp/a.err")
  ib=$(awk '/Collected/ {gsub(",", "", $4); n += $4} END {print n}' "$tmp/b.err")
  python3 -c "print(' %12.0f' % (($ib - $ia) / ($b - $a)))"
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) uptime:$(uptime | sed 's/.*load/ load/')"
printf '%-6s %10s %12s %12s %10s %12s\n' tool requests cpu_us/req syscalls/req cswitch/req instr/req
for tool in loads wrk1; do
  perfstat "$tool"
  callgrind "$tool"
done
if [ -n "$record" ]; then
  loads "$secs" perf record -q -F 2000 -o "$record" >/dev/null
  echo "perf record of loads-master: $record"
fi
