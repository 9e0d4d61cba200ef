#!/usr/bin/env bash
# Events per second one master decodes and aggregates on one core, fed by synthetic
# slaves: pre-built batches sent over loopback TCP, then drained by the real receiver.
# Runs the benchmark `runs` times (a fresh process each) and prints min/median/max.
#   bench/master_ingest.sh [agents=20] [batches per agent=200] [runs=5]
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-20}; batches=${2:-200}; runs=${3:-5}
[ -x build/bench/loads-ingest-bench ] || scripts/setup.sh
echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null) agents=$agents batches=$batches"
rates=()
for r in $(seq "$runs"); do
  line=$(build/bench/loads-ingest-bench "$agents" "$batches" | tail -1)
  echo "run $r: $line  load_average $(cut -d' ' -f1-3 /proc/loadavg)"
  case "$line" in *exact*) ;; *) echo "run $r: the aggregate does not match what was sent" >&2; exit 1 ;; esac
  rates+=("$(sed 's/.*events\/s=\([0-9]*\).*/\1/' <<<"$line")")
done
python3 -c "import statistics, sys; v = sorted(map(float, sys.argv[1:])); \
print('events/s over %d runs: min %.0f  median %.0f  max %.0f' % (len(v), v[0], statistics.median(v), v[-1]))" "${rates[@]}"
