#!/usr/bin/env bash
# A fleet of simulated agents (loads-fleet-sim) against the real loads-broker and
# loads-master on loopback (issue #14, bench/RESULTS.md "1,000 agents"):
#   1. N agents register; they stay idle for SOAK seconds: the broker's CPU over that time
#      (utime + stime from /proc/PID/stat) and the agents lost (PING) are printed;
#   2. a run asks for all N (-u N -d RUN): the time from the master's start to the last
#      JOB an agent received, the master's CPU (GNU time) and the broker's over the run,
#      and whether the report counts exactly the hits the simulated slaves sent.
#   bench/fleet.sh [agents=1000] [soak=600] [rate=10000] [run=30] [results=summary]
# The binaries are copied first (to $FLEET_DIR, default a new /tmp/fleet.XXXXXX) so that
# a rebuild of build/ does not disturb a long soak. BUILD picks another build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-1000}; soak=${2:-600}; rate=${3:-10000}; run=${4:-30}; results=${5:-summary}
build=${BUILD:-build}
dir=${FLEET_DIR:-$(mktemp -d /tmp/fleet.XXXXXX)}
mkdir -p "$dir"
cp "$build/broker/loads-broker" "$build/master/loads-master" "$build/bench/loads-fleet-sim" \
   "$build/examples/blog/libblog.so" "$build"/common/libloads.so* "$dir/"
export LD_LIBRARY_PATH=$dir
frontend=tcp://127.0.0.1:${FRONTEND_PORT:-27780}
backend=tcp://127.0.0.1:${BACKEND_PORT:-27781}
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of a pid, in ticks
pct() { awk -v t="$1" -v s="$2" -v hz="$hz" 'BEGIN { printf "%.1f", 100 * t / hz / s }'; }

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true' EXIT
ulimit -n "$(ulimit -Hn)"
"$dir/loads-broker" --frontend "$frontend" --backend "$backend" >"$dir/broker.log" 2>&1 &
broker=$!; pids+=($broker)
"$dir/loads-fleet-sim" --broker "$backend" --agents "$agents" --library "$dir/libblog.so" \
  --rate "$rate" --results "$results" --exit-after-jobs "$agents" >"$dir/sim.log" 2>&1 &
sim=$!; pids+=($sim)
for _ in $(seq 600); do grep -q "agents welcomed" "$dir/sim.log" && break; sleep 0.1; done
grep -q "agents welcomed" "$dir/sim.log" || { echo "the agents did not all register"; exit 3; }
echo "uptime: $(uptime)"
echo "registered: $agents agents"

t0=$(ticks "$broker"); s0=$(date +%s.%N)
sleep "$soak"
t1=$(ticks "$broker"); s1=$(date +%s.%N)
span=$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')
echo "soak: ${soak} s idle, broker CPU $(pct $((t1 - t0)) "$span") % of a core; uptime: $(uptime)"
echo "agents lost during the soak: $(grep -c 'lost$' "$dir/broker.log" || true)"
"$dir/loads-master" --broker "$frontend" --ping | sed -n '1,3p'

start_us=$(date +%s%6N); t0=$(ticks "$broker"); s0=$(date +%s.%N)
/usr/bin/time -f "master: %U s user, %S s system, %e s elapsed, %M KiB max RSS" \
  "$dir/loads-master" --broker "$frontend" --agents "$agents" "$dir/libblog.so" -u "$agents" \
  -d "${run}s" --results "$results" --json "$dir/report.json" -q >"$dir/master.log" 2>"$dir/master.err" \
  || { echo "master failed: $(tail -3 "$dir/master.err")"; }
t1=$(ticks "$broker"); s1=$(date +%s.%N)
grep "^master:" "$dir/master.err"
echo "run: broker CPU $(pct $((t1 - t0)) "$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')") % of a core; uptime: $(uptime)"
wait "$sim" || true
line=$(grep "jobs=" "$dir/sim.log")
echo "$line"
last=$(sed -E 's/.*last-job-us=([0-9]+).*/\1/' <<<"$line")
hits=$(sed -E 's/.* hits=([0-9]+).*/\1/' <<<"$line")
echo "last JOB $(( (last - start_us) / 1000 )) ms after the master started"
python3 - "$dir/report.json" "$hits" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
got, sent = r["summary"]["requests"], int(sys.argv[2])
agents = r["agents"]
gaps = sum(1 for a in agents if a.get("eventsSent") != a["eventsReceived"])
print(f"report: {got} requests, the simulated slaves sent {sent}: "
      f"{'exact' if got == sent else 'DIFFERENT'}; {len(agents)} agents, {gaps} with a gap, "
      f"{len(r['problems'])} problems")
PY
echo "files in $dir"
