#!/usr/bin/env bash
# Peak RSS per virtual user: N users (default 10000), each holding an open keep-alive
# connection to nginx and sleeping 1 s between hits, for a fixed time.
#   bench/memory_per_user.sh [users=10000] [seconds=20]
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-10000}; secs=${2:-20}
[ -x build/master/loads-master ] || scripts/setup.sh
source bench/nginx.sh
ulimit -n "$(ulimit -Hn)"
baseline=$( { /usr/bin/time -f '%M' build/master/loads-master build/examples/simple/libsimple.so \
  --test Idle -u 1 -d 2s --server-url "$NGINX_URL" --quiet >/dev/null; } 2>&1 | tail -1)
peak=$( { /usr/bin/time -f '%M' build/master/loads-master build/examples/simple/libsimple.so \
  --test Idle -u "$users" --ramp 5s -d "${secs}s" --server-url "$NGINX_URL" --quiet \
  --json /tmp/loads-memory.json >/dev/null; } 2>&1 | tail -1)
hits=$(python3 -c "import json; print(json.load(open('/tmp/loads-memory.json'))['summary']['hits'])")
echo "users=$users hits=$hits peak_rss_kib=$peak baseline_rss_kib=$baseline" \
     "per_user_kib=$(( (peak - baseline) / users ))"
