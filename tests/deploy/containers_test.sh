#!/usr/bin/env bash
# deploy/ for real (issue #18): the image built from deploy/Dockerfile, the Kubernetes
# manifests played with podman (deploy/podman/fleet.sh: a broker, 3 agent replicas with
# CURVE keys from the manifests' Secrets, a target server, a master Pod from
# master-job.yaml). Checks that
#   1. a run over the 3 agents reports exactly what the target served, and exits 0;
#   2. an agent container killed mid-run makes the master exit 3 naming that agent;
#   3. the next run, on the 2 survivors, is exact again.
# Fails (never skips) when podman is missing: scripts/setup.sh installs it.
#   tests/deploy/containers_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=${1:?usage: containers_test.sh BUILD_DIR SOURCE_DIR}
src=${2:?usage: containers_test.sh BUILD_DIR SOURCE_DIR}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v podman >/dev/null || fail "podman is not installed: run scripts/setup.sh"
[ "$(id -u)" -eq 0 ] || fail "the fleet runs rootful podman (a bridge network with DNS): run as root"

export LOADS_FLEET_DIR="$build/test-output/fleet" LOADS_FLEET_NETWORK=loads-fleet-test
fleet="$src/deploy/podman/fleet.sh"
"$fleet" down
trap '"$fleet" down' EXIT
started=$SECONDS
"$fleet" up 3

# The slaves reach the target by its address: podman's DNS on a loaded machine answered
# "try again" and stalled lookups of "target" for 30 s (2 runs of 5), which turned into
# request errors that are not the target's. The broker is still found by name.
target_ip=$(podman inspect loads-target --format "{{(index .NetworkSettings.Networks \"$LOADS_FLEET_NETWORK\").IPAddress}}")
[ -n "$target_ip" ] || fail "the target container has no address on $LOADS_FLEET_NETWORK"
target_url="http://$target_ip:8080"

report() { /usr/bin/python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
             "$LOADS_FLEET_DIR/report.json" "$1"; }

# 1. Exact over three agents.
before=$("$fleet" served)
code=0
"$fleet" run --agents 3 -u 30 --hits 20 --server-url "$target_url" >"$LOADS_FLEET_DIR/run1.log" 2>&1 || code=$?
[ "$code" -eq 0 ] || { cat "$LOADS_FLEET_DIR/run1.log"; fail "the first run exited $code"; }
served=$(( $("$fleet" served) - before ))
requests=$(report 'r["summary"]["requests"]')
echo "run 1: target served $served, report has $requests requests over $(report 'len(r["agents"])') agents"
[ "$served" -gt 0 ] && [ "$served" -eq "$requests" ] || fail "run 1: served $served, reported $requests"

# 2. An agent container killed mid-run: exit 3, the agent named.
victim=loads-agent-pod-1
"$fleet" run --agents 3 -u 30 -d 60s --server-url "$target_url" >"$LOADS_FLEET_DIR/run2.log" 2>&1 &
master=$!
# Mid-run: once the target has served a few hundred of this run's requests.
before=$("$fleet" served)
deadline=$((SECONDS + 90))
until [ $(( $("$fleet" served) - before )) -ge 300 ]; do
  [ $SECONDS -lt $deadline ] || { kill "$master"; fail "run 2 never got going"; }
  sleep 0.5
done
podman kill "$victim-agent" >/dev/null
code=0
wait "$master" || code=$?
cat "$LOADS_FLEET_DIR/run2.log"
[ "$code" -eq 3 ] || fail "run 2: the master exited $code, not 3, after $victim was killed"
grep -q "agent $victim" "$LOADS_FLEET_DIR/run2.log" || fail "run 2: the master did not name $victim"
echo "run 2: exit 3, $victim named"

# 3. The survivors run an exact run.
before=$("$fleet" served)
code=0
"$fleet" run --agents 2 -u 20 --hits 20 --server-url "$target_url" >"$LOADS_FLEET_DIR/run3.log" 2>&1 || code=$?
[ "$code" -eq 0 ] || { cat "$LOADS_FLEET_DIR/run3.log"; fail "the run on the survivors exited $code"; }
served=$(( $("$fleet" served) - before ))
requests=$(report 'r["summary"]["requests"]')
echo "run 3: target served $served, report has $requests requests"
[ "$served" -gt 0 ] && [ "$served" -eq "$requests" ] || fail "run 3: served $served, reported $requests"
echo "ok: containers test in $((SECONDS - started)) s; image $(podman image inspect loads:0.1.0 --format '{{.Size}}') bytes"
