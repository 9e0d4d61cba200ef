#!/usr/bin/env bash
# Coordinated-omission accuracy: loads --rate against loads-target stalling every PERIOD
# seconds for STALL ms. With hits planned uniformly and every reply held until the stall
# ends, a hit planned t ms before the stall's end waits t ms: the latency from the planned
# start exceeds x with probability (STALL - x) / PERIOD, so the wrk2-style expectation is
#   p99 = STALL - 0.01 * PERIOD,  p99.9 = STALL - 0.001 * PERIOD   (plus the service time).
# Printed: that expectation, loads' corrected (from planned start) and uncorrected (from
# actual start) p99/p99.9, for a pool large enough to drop nothing and for a small pool.
#   bench/co_accuracy.sh [rate=1000] [seconds=20] [period_s=1] [stall_ms=100] [build=build]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-1000}; secs=${2:-20}; period=${3:-1}; stall=${4:-100}; build=${5:-build}
report=$(mktemp)
"$build/examples/target/loads-target" --port 0 --stall-every "$period" --stall-for "$stall" \
  >"$report.target" 2>&1 &
target=$!
trap 'kill $target 2>/dev/null; rm -f "$report" "$report.target"' EXIT
for _ in $(seq 50); do grep -q 'http://' "$report.target" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$report.target" | head -1)
python3 -c "p=$period*1000; s=$stall; print('expected (wrk2-style): p99 %.1f ms, p99.9 %.1f ms' % (s-0.01*p, s-0.001*p))"
printf '%-10s %10s %10s %12s %12s %10s %10s\n' max-users requests dropped corr_p99 corr_p99.9 unc_p99 unc_p99.9
for users in $((rate * stall / 1000 * 2 + 10)) $((rate * stall / 4000 + 1)); do
  "$build/master/loads-master" "$build/examples/simple/libsimple.so" --test Static \
    --rate "$rate" -d "${secs}s" --max-users "$users" --server-url "$url" --quiet \
    --json "$report" >/dev/null
  python3 bench/co_row.py "$report" "$users"
done
# The closed model (as wrk or any closed-loop tool): 10 users, no plan, so only the
# uncorrected figures exist: the coordinated-omission victim.
"$build/master/loads-master" "$build/examples/simple/libsimple.so" --test Static -u 10 \
  -d "${secs}s" --server-url "$url" --quiet --json "$report" >/dev/null
python3 bench/co_row.py "$report" "closed -u10"
