#!/usr/bin/env bash
# Events per second one master decodes and aggregates on one core, fed by synthetic
# slaves: pre-built batches queued on loopback TCP, then drained by the real receiver.
#   bench/master_ingest.sh [agents=20] [batches per agent=200]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/bench/loads-ingest-bench ] || scripts/setup.sh
build/bench/loads-ingest-bench "${1:-20}" "${2:-200}"
