#!/usr/bin/env bash
# The cost of CURVE: the same distributed run (broker + 2 agents + master, users on
# libsimple's Static test against nginx) in plain TCP and with keys on every socket, one
# after the other. Prints both req/s and the ratio secured/plain.
#   bench/secured_vs_plain.sh [users=50] [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-50}; secs=${2:-10}
[ -x build/master/loads-master ] || scripts/setup.sh
source bench/nginx.sh
work=$(mktemp -d)
pids=()
# With no pids, a bare `wait` would wait for nginx too, that is forever.
stop_fleet() {
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}
trap 'stop_fleet; rm -rf "$work"; kill $NGINX_PID 2>/dev/null; rm -rf "$NGINX_DIR"' EXIT

build/security/loads-keys --dir "$work/keys" broker >/dev/null
build/security/loads-keys --dir "$work/keys/masters" master >/dev/null
build/security/loads-keys --dir "$work/keys/agents" agent1 agent2 >/dev/null

# run NAME BROKER-ARGS AGENT-ARGS-PREFIX MASTER-ARGS: prints req/s of one run.
run() {
  local name=$1 broker_args=$2 agent_args=$3 master_args=$4
  # shellcheck disable=SC2086
  build/broker/loads-broker --frontend tcp://127.0.0.1:17780 --backend tcp://127.0.0.1:17781 \
    $broker_args >"$work/broker-$name.log" 2>&1 &
  pids+=($!)
  for i in 1 2; do
    # shellcheck disable=SC2086
    build/agent/loads-agent --broker tcp://127.0.0.1:17781 --id "bench-$i" \
      --cache-dir "$work/cache-$name-$i" ${agent_args//AGENT/agent$i} >"$work/agent-$name-$i.log" 2>&1 &
    pids+=($!)
  done
  # shellcheck disable=SC2086
  build/master/loads-master build/examples/simple/libsimple.so --test Static --agents 2 \
    --broker tcp://127.0.0.1:17780 --wait-agents 10s -u "$users" -d "${secs}s" $master_args \
    --server-url "$NGINX_URL" --quiet --json "$work/$name.json" >"$work/master-$name.log"
  stop_fleet
  python3 -c "import json; d=json.load(open('$work/$name.json'))['summary']; \
print('%.0f' % (d['requests'] / d['durationSeconds']))"
}

k=$work/keys
plain=$(run plain "" "" "")
secured=$(run secured "--key $k/broker.key --allow-masters $k/masters --allow-agents $k/agents" \
  "--key $k/agents/AGENT.key --broker-key $k/broker.pub" \
  "--key $k/masters/master.key --broker-key $k/broker.pub")
printf '%-22s %10s\n' run req/s
printf '%-22s %10s\n' "plain TCP" "$plain" "CURVE on every socket" "$secured"
printf 'ratio secured/plain: %.3f\n' "$(echo "$secured / $plain" | bc -l)"
