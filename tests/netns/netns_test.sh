#!/usr/bin/env bash
# Multi-host on one machine: the broker, two agents, the master and the target each in its
# own network namespace, with its own address on a bridge (10.77.0.0/24), so every daemon
# listens on and talks to a non-loopback address as on a real fleet. Mid-run the link of
# agent 2 is cut (ip link set down): the master must name that agent as lost and exit 3,
# and every request the target served must be in the report or missing from that agent.
#   netns_test.sh <build dir>
# Needs root (namespaces, veth); otherwise it exits 77, which CTest shows as Skipped.
set -euo pipefail
build=$(cd "$1" && pwd)

prefix="loads$$"                       # unique per run: parallel runs do not collide
hosts=(brk ag1 ag2 mst tgt)
declare -A addr=([brk]=10.77.0.1 [ag1]=10.77.0.2 [ag2]=10.77.0.3 [mst]=10.77.0.4 [tgt]=10.77.0.5)
work=netns.XXXXXX
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# ---- the daemons, each on its host's address
# Non-loopback addresses: secured with CURVE keys, as a real fleet would be (without keys
# every daemon would refuse to start, rightly).
keys="$work/keys"
"$build/security/loads-keys" --dir "$keys" broker >/dev/null
"$build/security/loads-keys" --dir "$keys/masters" master >/dev/null
"$build/security/loads-keys" --dir "$keys/agents" agent-1 agent-2 >/dev/null
broker_front="tcp://${addr[brk]}:7780"
broker_back="tcp://${addr[brk]}:7781"
in_ns tgt "$build/examples/target/loads-target" --host "${addr[tgt]}" --port 8080 >"$work/target.log" 2>&1 &
pids+=($!)
in_ns brk "$build/broker/loads-broker" --frontend "$broker_front" --backend "$broker_back" \
  --heartbeat 200ms --liveness 5 --key "$keys/broker.key" --allow-masters "$keys/masters" \
  --allow-agents "$keys/agents" >"$work/broker.log" 2>&1 &
pids+=($!)
for i in 1 2; do
  in_ns "ag$i" "$build/agent/loads-agent" --broker "$broker_back" --id "netns-agent-$i" \
    --cache-dir "$work/cache-$i" --stop-grace 3s --key "$keys/agents/agent-$i.key" \
    --broker-key "$keys/broker.pub" >"$work/agent-$i.log" 2>&1 &
  pids+=($!)
done
master_cmd=("$build/master/loads-master" --broker "$broker_front" --key "$keys/masters/master.key"
  --broker-key "$keys/broker.pub")
idle() { [ "$(in_ns mst "${master_cmd[@]}" --ping --agents | grep -c " $1 ")" = "$2" ]; }
wait_for 20 idle idle 2 || fail "the agents did not register with the broker at $broker_back"

# ---- the run: 4 users (2 per agent), 6 s; agent 2 (users 2 and 4) gets cut mid-run
url="http://${addr[tgt]}:8080"
in_ns mst "${master_cmd[@]}" --agents 2 "$build/tests/libs/libtagged.so" -u 4 -d 6s -q \
  --server-url "$url/hit/netns" --results-bind "tcp://${addr[mst]}:5600" \
  --json "$work/report.json" >"$work/master.log" 2>"$work/master.err" &
master=$!
pids+=($master)
wait_for 20 idle busy 2 || fail "the run did not start on both agents"
served_user4() { in_ns tgt curl -s "$url/stats" | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["paths"].get("/hit/netns/4", 0))'; }
agent2_hits() { [ "$(served_user4)" -gt 0 ]; }
wait_for 10 agent2_hits || fail "agent 2 sends no requests"
sleep 1  # let agent 2 run a while before its link is cut (a moment, not synchronisation)
ip -n "$prefix-ag2" link set eth0 down
echo "cut the link of netns-agent-2 (${addr[ag2]}) at $(date +%T.%N)"

deadline=$((SECONDS + 60))
while kill -0 "$master" 2>/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the master did not end within 60 s"
  sleep 0.2
done
set +e; wait "$master"; code=$?; set -e
cat "$work/master.err"
[ "$code" = 3 ] || fail "the master exited $code, expected 3 (an agent was lost)"
grep -q "agent netns-agent-2 on .* lost" "$work/master.err" || fail "the lost agent is not named"

# ---- the accounting: what the target served against the report, per agent. The target
# counts each user's path; users 1 and 3 are agent index 0's, users 2 and 4 index 1's (the
# split of docs/distributed.md: agent i has the run's users k = i, i + n, ..., ids k + 1). The agent that kept its link must match exactly. For the lost
# one, the report has what arrived before the cut; the target also served the requests
# whose results were still queued in its slave (ZeroMQ and the 10s-of-ms batch) when the
# link went down: they can only be counted as missing, and the report has no eventsSent
# for it (its STOP-TEST-RUN never came), so missing = served - reported for that agent.
in_ns tgt curl -s "$url/stats" >"$work/stats.json"
python3 - "$work/report.json" "$work/stats.json" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
paths = json.load(open(sys.argv[2]))["paths"]
agents = {a["index"]: a for a in report["agents"]}
assert len(agents) == 2, report["agents"]
missing = 0
for index, users in ((0, (1, 3)), (1, (2, 4))):
    a = agents[index]
    served = sum(paths.get(f"/hit/netns/{u}", 0) for u in users)
    lost = a["state"] == "lost"
    print(f"{a['id']}: state {a['state']}, target served {served}, report has {a['requests']}, "
          f"events sent {a['eventsSent']}, received {a['eventsReceived']}")
    assert lost == (a["id"] == "netns-agent-2"), f"{a['id']} is {a['state']}"
    assert a["requests"] > 0, f"{a['id']} has no requests in the report"
    if lost:
        assert a["eventsSent"] is None, "a lost agent's slave cannot have said what it sent"
        assert served >= a["requests"], f"the report has requests the target never served"
        missing += served - a["requests"]
        assert any(a["id"] in p for p in report["problems"]), report["problems"]
    else:
        assert served == a["requests"], f"{a['id']}: target served {served}, report {a['requests']}"
        assert a["eventsSent"] == a["eventsReceived"]
total = sum(paths.get(f"/hit/netns/{u}", 0) for u in (1, 2, 3, 4))
assert total == report["summary"]["requests"] + missing
print(f"served {total} = reported {report['summary']['requests']} + {missing} sent by the lost "
      f"agent whose results never arrived")
EOF
passed=1
echo "PASS"
