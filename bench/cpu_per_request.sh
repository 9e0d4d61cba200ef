#!/usr/bin/env bash
# CPU time per request, per thread, of loads-master (local mode, one runner thread, every
# hit recorded), of wrk -t1 and of nginx, against the same nginx in alternating rounds:
# figures that depend far less on how busy the machine is than req/s (bench/thread_cpu.py
# samples /proc/PID/task/*/stat). With more build directories, each one's loads-master
# runs in turn too (A/B of two builds on one machine at one time).
#   bench/cpu_per_request.sh [connections=50] [seconds=10] [rounds=2] [build-dir...]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-50}; secs=${2:-10}; rounds=${3:-2}; shift $(( $# < 3 ? $# : 3 ))
builds=("build" "$@")
source bench/nginx.sh
server=$(pgrep -P "$NGINX_PID" | head -1)
report=$(mktemp)
trap 'rm -f "$report"; kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf "$NGINX_DIR"' EXIT

run_loads() {  # run_loads(build-dir)
  echo "## loads-master of $1 ($(git -C "$(dirname "$1")" rev-parse --short HEAD 2>/dev/null || echo '?'))," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
  LOADS_SLAVE_BINARY="$1/agent/loads-slave" python3 bench/thread_cpu.py "$report" --server "$server" -- \
    "$1/master/loads-master" "$1/examples/simple/libsimple.so" --test Static -u "$conns" -t 1 \
    -d "${secs}s" --server-url "$NGINX_URL" --quiet --json "$report"
}
run_wrk() {
  echo "## wrk -t1, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 bench/thread_cpu.py wrk --server "$server" -- \
    wrk "${WRK_SAME_REQUEST[@]}" -t1 -c"$conns" -d"${secs}s" "$NGINX_URL/static"
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) conns=$conns secs=$secs"
for r in $(seq "$rounds"); do
  run_wrk
  for b in "${builds[@]}"; do run_loads "$b"; done
done
