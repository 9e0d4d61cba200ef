#!/usr/bin/env bash
# Slow and broken links (issue 12.7): the broker, one agent, the master and the target each
# in its own network namespace; the link towards the agent is limited to 20 Mbit/s (tc tbf)
# and a 32 MiB test library (libblog.so with 32 MiB of random bytes appended, which the
# dynamic loader ignores) must reach it.
#   A. 20 Mbit/s: the run must start and end exact, and the agent must never drop the broker
#      for silence (before: the JOB carrying the library held the heartbeats behind it for
#      ~14 s, the agent dropped the broker after 5 s, and the run failed).
#   B. the same, with the agent's TCP connection to the broker killed twice mid-transfer
#      (ss -K): the part in flight and the request it answered are lost with the old
#      connection, while the broker keeps the agent (it is back within a second). Before,
#      an agent waiting for a lost answer to NEED-LIBRARY waited for ever; now it asks
#      again, and the run must start and end exact within the bound.
#   C. 20 Mbit/s and 10 % of the agent's packets dropped each way (iptables statistic; the
#      kernel here has no netem): the run must start and end exact within the bound.
#   D. the agent's link dead (every packet dropped) mid-transfer: the master ends within
#      60 s with exit 3 and names the lost agent; with the link back, the next run is exact.
#   slow_link_test.sh <build dir>
# Needs root (namespaces, veth, tc, ss -K, iptables); otherwise it exits 77 (CTest: Skipped).
set -euo pipefail
build=$(cd "$1" && pwd)

prefix="lslow$$"
hosts=(brk ag1 mst tgt)
declare -A addr=([brk]=10.78.0.1 [ag1]=10.78.0.2 [mst]=10.78.0.4 [tgt]=10.78.0.5)
work=slowlink.XXXXXX
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# Everything towards the agent (the bridge port's egress) at 20 Mbit/s.
ip netns exec "$prefix-br" tc qdisc add dev v-ag1 root tbf rate 20mbit burst 32kbit latency 400ms

keys="$work/keys"
"$build/security/loads-keys" --dir "$keys" broker >/dev/null
"$build/security/loads-keys" --dir "$keys/masters" master >/dev/null
"$build/security/loads-keys" --dir "$keys/agents" agent-1 >/dev/null
broker_front="tcp://${addr[brk]}:7780"
broker_back="tcp://${addr[brk]}:7781"
in_ns tgt "$build/examples/target/loads-target" --host "${addr[tgt]}" --port 8080 >"$work/target.log" 2>&1 &
pids+=($!)
# The defaults: heartbeat 1 s, liveness 5, so silence of 5 s drops a peer.
in_ns brk "$build/broker/loads-broker" --frontend "$broker_front" --backend "$broker_back" \
  --key "$keys/broker.key" --allow-masters "$keys/masters" --allow-agents "$keys/agents" \
  >"$work/broker.log" 2>&1 &
pids+=($!)
in_ns ag1 "$build/agent/loads-agent" --broker "$broker_back" --id slow-agent \
  --cache-dir "$work/cache" --stop-grace 3s --key "$keys/agents/agent-1.key" \
  --broker-key "$keys/broker.pub" >"$work/agent.log" 2>&1 &
pids+=($!)
master_cmd=("$build/master/loads-master" --broker "$broker_front" --key "$keys/masters/master.key"
  --broker-key "$keys/broker.pub")
idle() { [ "$(in_ns mst "${master_cmd[@]}" --ping --agents | grep -c " idle ")" = 1 ]; }
wait_for 30 idle || fail "the agent did not register with the broker at $broker_back"

url="http://${addr[tgt]}:8080"
served() { in_ns tgt curl -s "$url/stats" | python3 -c \
  'import json,sys; print(sum(v for k, v in json.load(sys.stdin)["paths"].items() if k in ("/", "/comments")))'; }
big_library() {  # big_library FILE [MiB]: libblog.so + 32 MiB (or MiB) of random bytes (a new sha256 each time)
  cp "$build/examples/blog/libblog.so" "$1"
  head -c $((${2:-32} << 20)) /dev/urandom >>"$1"
}

# run_master NAME: a 3-hit run of a 32 MiB library in the background; sets $master
run_master() {
  in_ns mst "${master_cmd[@]}" --agents 1 "$work/$1.so" -u 1 --hits 3 -q --server-url "$url" \
    --results-bind "tcp://${addr[mst]}:5600" --json "$work/$1.json" >"$work/$1.out" 2>"$work/$1.err" &
  master=$!
  pids+=($master)
}
# end_master NAME BOUND: the master ends within BOUND s; sets $code and shows its stderr
end_master() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$master" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$1: the master did not end within $2 s"
    sleep 0.2
  done
  set +e; wait "$master"; code=$?; set -e
  cat "$work/$1.err"
}
# finish_master NAME BOUND SERVED_BEFORE: the master ends within BOUND s; exit 0 and exact
finish_master() {
  end_master "$1" "$2"
  [ "$code" = 0 ] || fail "$1: the master exited $code, expected 0 (the run must start and end)"
  local now; now=$(served)
  [ "$((now - $3))" = 3 ] || fail "$1: the target served $((now - $3)) requests, expected 3"
}

# ---- A. 20 Mbit/s
big_library "$work/a.so"
before=$(served)
t0=$SECONDS
run_master a
finish_master a 120 "$before"
echo "A: a 32 MiB library over 20 Mbit/s: run started and ended exact in $((SECONDS - t0)) s"
if grep -q "no word from the broker" "$work/agent.log"; then
  fail "A: the agent dropped the broker for silence during the transfer"
fi

# ---- B. 20 Mbit/s, and the agent's connection killed twice mid-transfer
big_library "$work/b.so"
before=$(served)
t0=$SECONDS
run_master b
asked() { [ "$(grep -c "not cached, asking the broker" "$work/agent.log")" -ge 2 ]; }
wait_for 30 asked || fail "B: the agent never asked for the second library"
for moment in 2 4; do  # moments into the transfer (not synchronisation: any will do)
  sleep "$moment"
  in_ns ag1 ss -K dst "${addr[brk]}" dport = 7781 >/dev/null 2>&1
  echo "B: killed the agent's connection to the broker at $(date +%T.%N)"
done
finish_master b 150 "$before"
echo "B: 32 MiB over 20 Mbit/s, connection killed twice: run started and ended exact in $((SECONDS - t0)) s"
repeated=$(grep -c "did not come within\|asking again for the library part" "$work/agent.log" || true)
[ "$repeated" -ge 1 ] || fail "B: the agent never had to ask again: the test did not hit the transfer"
echo "B: library part requests repeated: $repeated"

# ---- C. 20 Mbit/s and 10 % of the agent's packets lost each way (iptables statistic: this
# kernel has no netem), heartbeats and library parts alike: TCP retransmits, and the run
# must still start and end exact within the bound.
loss() {  # loss -A|-D P: add or delete a random drop of P (0..1) in the agent's namespace
  in_ns ag1 iptables "$1" INPUT -m statistic --mode random --probability "$2" -j DROP
  in_ns ag1 iptables "$1" OUTPUT -m statistic --mode random --probability "$2" -j DROP
}
big_library "$work/c.so"
before=$(served)
t0=$SECONDS
loss -A 0.1
run_master c
finish_master c 180 "$before"
dropped=$(in_ns ag1 iptables -L -v -x -n | awk '/statistic/ {n += $1} END {print n + 0}')
loss -D 0.1
[ "$dropped" -gt 0 ] || fail "C: no packet was dropped: the test did not hit the link"
echo "C: a 32 MiB library over 20 Mbit/s with 10 % loss each way ($dropped packets dropped): run started and ended exact in $((SECONDS - t0)) s"

# ---- D. the agent's link goes dead (every packet dropped) once the transfer has begun:
# the run cannot start; the master must end within the bound, exit 3, and say in one
# sentence which agent was lost. Then the link comes back and the agent serves again.
big_library "$work/d.so"
run_master d
t0=$SECONDS
asked_d() { [ "$(grep -c "not cached, asking the broker" "$work/agent.log")" -ge 4 ]; }
wait_for 30 asked_d || fail "D: the agent never asked for the fourth library"
loss -A 1
end_master d 60
loss -D 1
[ "$code" = 3 ] || fail "D: the master exited $code, expected 3 (the agent is lost)"
grep -q "agent slow-agent on .*lost\|slow-agent.*no heartbeat" "$work/d.err" ||
  fail "D: the master did not say that slow-agent was lost"
echo "D: link dead mid-transfer: the master ended with exit 3 in $((SECONDS - t0)) s, naming the agent"
wait_for 60 idle || fail "D: the agent did not come back once the link did"
big_library "$work/e.so" 1
before=$(served)
run_master e
finish_master e 60 "$before"
echo "D: the link back: the next run started and ended exact"

passed=1
echo "PASS"
