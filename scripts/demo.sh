#!/usr/bin/env bash
# The first quick-start command: set up, build, then run a real load test against the
# bundled target server and print the report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh

out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
build/examples/target/loads-target --port 0 >"$out/target.log" &
for _ in $(seq 100); do grep -q listening "$out/target.log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$out/target.log")
[ -n "$url" ] || { echo "demo: the target server did not start" >&2; exit 3; }

echo "==> loads-master build/examples/blog/libblog.so -u 20 -d 5s --server-url $url"
build/master/loads-master build/examples/blog/libblog.so -u 20 -d 5s --server-url "$url" \
  --json "$out/report.json"
