#!/usr/bin/env bash
# Events per second one master decodes and aggregates on one core, fed by synthetic
# slaves pushing pre-built batches over loopback TCP as fast as it takes them.
#   bench/master_ingest.sh [agents=20] [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bench/loads-ingest-bench ] || scripts/setup.sh
build/bench/loads-ingest-bench "${1:-20}" "${2:-10}"
