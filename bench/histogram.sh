#!/usr/bin/env bash
# Histogram record and merge cost, before and after a change, and bytes per histogram;
# and AggregateResult::addHit, the hot path that records into them.
#   bench/histogram.sh [before=75908ac] [ops=20000000]
# Builds bench/histogram_bench.cpp and bench/aggregate_bench.cpp twice with the same
# flags: against the working tree's common/stats and against the common/stats of git
# revision `before` (75908ac: full-size histograms, no caps). Prints wall-clock ns/op (noisy on a loaded machine) and
# callgrind instructions per op (independent of load): each mode runs at N and 2N ops,
# the difference over N is the cost per op without the set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-75908ac}
ops=${2:-20000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old/stats"
for f in histogram.hpp histogram.cpp aggregate_result.hpp aggregate_result.cpp; do
  git show "$before:common/stats/$f" >"$work/old/stats/$f"
done
[ -f build/common/libloads.so ] || scripts/setup.sh
flags=(-std=c++20 -O3 -DNDEBUG -Icommon/include -Ibuild/common/include)
libloads=(-Lbuild/common -lloads -Wl,-rpath,"$PWD/build/common")
g++ "${flags[@]}" -I"$work/old" bench/histogram_bench.cpp "$work/old/stats/histogram.cpp" -o "$work/before"
g++ "${flags[@]}" -Icommon bench/histogram_bench.cpp common/stats/histogram.cpp -o "$work/after"
g++ "${flags[@]}" -I"$work/old" bench/aggregate_bench.cpp "$work/old/stats/"*.cpp "${libloads[@]}" -o "$work/before-aggregate"
g++ "${flags[@]}" -Icommon bench/aggregate_bench.cpp common/stats/histogram.cpp common/stats/aggregate_result.cpp "${libloads[@]}" -o "$work/after-aggregate"
echo "uptime: $(uptime)"
for v in before after; do
  echo "== $v (wall clock)"
  "$work/$v" all "$ops"
  "$work/$v-aggregate" 2000000
done
instructions() {  # binary mode ops -> total instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" "$3" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
if command -v valgrind >/dev/null; then
  n=2000000
  for v in before after; do
    for mode in record merge; do
      per=$(( n / $([ "$mode" = merge ] && echo 100 || echo 1) ))
      a=$(instructions "$work/$v" "$mode" "$n")
      b=$(instructions "$work/$v" "$mode" $((2 * n)))
      echo "callgrind $v $mode: $(( (b - a) / per )) instructions/op"
    done
    a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$work/$v-aggregate" 1000000 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$work/$v-aggregate" 2000000 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    echo "callgrind $v addHit: $(( (b - a) / 1000000 )) instructions/op"
  done
fi
