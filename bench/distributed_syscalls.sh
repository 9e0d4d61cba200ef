#!/usr/bin/env bash
# System calls and context switches per request, by thread name, of wrk -t2 and of a
# distributed loads run (broker + 2 agents with -t 1 + master, 50 connections) against
# the same nginx: `perf record -a -e raw_syscalls:sys_enter -e context-switches` for a
# few seconds in the middle of each run. Requests are counted as nginx's writev calls
# (one per response). Needs linux-perf (scripts/setup.sh installs it) and root.
#   bench/distributed_syscalls.sh [seconds=8] [record=2]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-8}; rec=${2:-2}
source bench/nginx.sh
source bench/rounds.sh
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; rm -rf "$work"; kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf "$NGINX_DIR"' EXIT
record() {  # record NAME: perf-records the whole machine for $rec s, $rec s from now
  sleep "$rec"
  perf record -q -a -e raw_syscalls:sys_enter -e context-switches -o "$work/$1.data" \
    -- sleep "$rec" >/dev/null 2>&1
}
table() {  # table NAME: syscalls (by name) and switches a request, per thread name
  perf script -i "$work/$1.data" -F comm,event,trace 2>/dev/null | python3 -c '
import collections, re, sys
names = {0: "read", 1: "write", 3: "close", 7: "poll", 17: "pread64", 20: "writev",
         23: "select", 45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 202: "futex",
         232: "epoll_wait", 233: "epoll_ctl", 257: "openat", 262: "newfstatat", 281: "epoll_pwait"}
n = collections.Counter()
for line in sys.stdin:
    f = line.split()
    if not f: continue
    m = re.search(r"NR (\d+)", line)
    key = names.get(int(m.group(1)), "nr%s" % m.group(1)) if m else "switches"
    n[(f[0], key)] += 1
requests = n[("nginx", "writev")]
print("%s: %d requests in the window" % (sys.argv[1], requests))
for (comm, key), c in sorted(n.items(), key=lambda kv: -kv[1]):
    if comm in ("perf", "sleep") or c < requests / 200: continue
    print("  %-14s %-12s %6.3f" % (comm, key, c / requests))
' "$1"
}

record wrk & r=$!
wrk "${WRK_SAME_REQUEST[@]}" -t2 -c50 -d"${secs}s" "$NGINX_URL/static" >/dev/null
wait $r
start_cluster 2 "$work"
record loads & r=$!
build/master/loads-master build/examples/simple/libsimple.so --test Static --agents 2 -t 1 \
  --broker tcp://127.0.0.1:17780 --wait-agents 20s -u 50 -d "${secs}s" \
  --server-url "$NGINX_URL" --quiet --json "$work/loads.json" >"$work/master.log" 2>&1
wait $r
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) per request, whole machine"
table wrk
table loads
