#!/usr/bin/env bash
# Histogram record and merge cost, before and after a change, and bytes per histogram.
#   bench/histogram.sh [before=75908ac] [ops=20000000]
# Builds bench/histogram_bench.cpp twice with the same flags: against the working tree's
# common/stats/histogram.* and against the histogram of git revision `before` (75908ac:
# the full-size histogram). Prints wall-clock ns/op (noisy on a loaded machine) and
# callgrind instructions per op (independent of load): each mode runs at N and 2N ops,
# the difference over N is the cost per op without the set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-75908ac}
ops=${2:-20000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old/stats"
git show "$before:common/stats/histogram.hpp" >"$work/old/stats/histogram.hpp"
git show "$before:common/stats/histogram.cpp" >"$work/old/stats/histogram.cpp"
flags=(-std=c++20 -O3 -DNDEBUG)
g++ "${flags[@]}" -I"$work/old" bench/histogram_bench.cpp "$work/old/stats/histogram.cpp" -o "$work/before"
g++ "${flags[@]}" -Icommon bench/histogram_bench.cpp common/stats/histogram.cpp -o "$work/after"
echo "uptime: $(uptime)"
for v in before after; do
  echo "== $v (wall clock)"
  "$work/$v" all "$ops"
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
  done
fi
