#!/usr/bin/env bash
# The first quick-start command: set up, build, then run a real distributed load test on
# this machine — a loads-broker, two loads-agents and loads-master against the bundled
# target server — and print the report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh

out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; rm -rf "$out"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for FILE PATTERN: until the daemon logged PATTERN (10 s at most)
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "demo: $1 never said '$2':" >&2; cat "$1" >&2; exit 3
}

build/examples/target/loads-target --port 0 >"$out/target.log" &
pids+=($!)
wait_for "$out/target.log" listening
url=$(sed -n 's/^listening on //p' "$out/target.log")

frontend=tcp://127.0.0.1:$(free_port)
backend=tcp://127.0.0.1:$(free_port)
build/broker/loads-broker --frontend "$frontend" --backend "$backend" >"$out/broker.log" 2>&1 &
pids+=($!)
for i in 1 2; do
  build/agent/loads-agent --broker "$backend" --id "demo-agent-$i" --cache-dir "$out/cache-$i" \
    >"$out/agent-$i.log" 2>&1 &
  pids+=($!)
done

echo "==> loads-master --broker $frontend --agents 2 --wait-agents 10s build/examples/blog/libblog.so -u 20 -d 5s --server-url $url"
build/master/loads-master --broker "$frontend" --agents 2 --wait-agents 10s \
  build/examples/blog/libblog.so -u 20 -d 5s --server-url "$url" --json "$out/report.json"
echo "==> the target served $(curl -s "$url/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["served"])') requests"
