#!/usr/bin/env bash
# The whole fleet in containers on one machine, from deploy/'s own files: the image built
# from deploy/Dockerfile, deploy/kubernetes/*.yaml played with `podman kube play`, CURVE
# keys made by loads-keys and laid out as the Secrets the manifests mount.
#
#   deploy/podman/fleet.sh up [AGENTS]     base image (once), images, keys and Secrets, a
#                                          network, the broker, AGENTS agents (default 3)
#                                          and a target server
#   deploy/podman/fleet.sh run [ARGS...]   one master run, master-job.yaml played as a Pod:
#                                          prints the report, writes report.json to the
#                                          work dir, exits with the master's exit code.
#                                          ARGS replace the Job's own load options, e.g.
#                                          --agents 3 -u 30 -d 10s (the default)
#   deploy/podman/fleet.sh served          what the target server says it served
#   deploy/podman/fleet.sh down            removes the pods, containers and network
#
# Run from a clone of the repository, as root (rootful podman: the pods share a bridge
# network with DNS). LOADS_FLEET_REUSE_IMAGES=1 skips the image build when both exist. Work files go to $LOADS_FLEET_DIR (default /tmp/loads-fleet). Load
# traffic stays on that network, between the fleet's own containers.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${LOADS_FLEET_DIR:-/tmp/loads-fleet}
mkdir -p "$work" && work=$(cd "$work" && pwd)  # podman takes absolute paths only
network=${LOADS_FLEET_NETWORK:-loads-fleet}
image=loads:0.1.0
examples=loads-examples:0.1.0
export CONTAINERS_CONF=${CONTAINERS_CONF:-$src/deploy/podman/containers.conf}
manifests="$src/deploy/kubernetes"
say() { echo "==> $*"; }

build_images() {
  if [ "${LOADS_FLEET_REUSE_IMAGES:-0}" = 1 ] && podman image exists "$image" &&
     podman image exists "$examples"; then
    say "reusing the images $image and $examples (LOADS_FLEET_REUSE_IMAGES=1)"
    return
  fi
  "$src/deploy/podman/base-image.sh"
  say "podman build $image and $examples from deploy/Dockerfile"
  local started=$SECONDS
  podman build --pull=never --quiet -f "$src/deploy/Dockerfile" -t "$image" "$src" >/dev/null
  podman build --pull=never --quiet -f "$src/deploy/Dockerfile" --target examples \
    -t "$examples" "$src" >/dev/null
  say "images built in $((SECONDS - started)) s: $image $(podman image inspect "$image" \
    --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }')"
}

# One pair per role, made by the image's own loads-keys, laid out as the Secrets the
# manifests mount (docs/deploying.md, "Keys").
make_secrets() {
  rm -rf "$work/keys" && mkdir -p "$work/keys"
  podman run --rm --user 0 -v "$work/keys:/keys" "$image" loads-keys --dir /keys broker agent master \
    >/dev/null
  "$src/deploy/podman/secrets.py" "$work/keys" "$work/secrets"
}

# podman kube play, quiet unless it fails (podman 4.3 logs the probes it cannot turn into
# systemd health checks without systemd: harmless here).
play() {  # FILE [podman kube play options]
  local file=$1
  shift
  podman kube play --quiet "$@" "$file" >"$work/play.log" 2>&1 || {
    cat "$work/play.log" >&2
    echo "fleet.sh: podman kube play $file failed" >&2
    exit 1
  }
}

up() {
  local agents=${1:-3}
  mkdir -p "$work"
  build_images
  make_secrets
  podman network exists "$network" || podman network create "$network" >/dev/null
  say "broker (deploy/kubernetes/broker.yaml)"
  "$src/deploy/podman/manifest.py" broker "$manifests/broker.yaml" "$work/secrets" >"$work/broker.yaml"
  play "$work/broker.yaml" --network "$network:alias=loads-broker"
  say "$agents agents (deploy/kubernetes/agents.yaml, replicas: $agents)"
  "$src/deploy/podman/manifest.py" agents "$manifests/agents.yaml" "$work/secrets" "$agents" \
    >"$work/agents.yaml"
  play "$work/agents.yaml" --network "$network"
  say "target server"
  podman run -d --name loads-target --network "$network" --network-alias target "$image" \
    loads-target --host 0.0.0.0 --port 8080 --threads 2 >/dev/null
  say "waiting for $agents idle agents"
  local deadline=$((SECONDS + 60)) idle=0
  while [ $SECONDS -lt $deadline ]; do
    idle=$(ping_broker | grep -c ' idle ' || true)
    [ "$idle" -ge "$agents" ] && break
    sleep 1
  done
  [ "$idle" -ge "$agents" ] || { ping_broker >&2; echo "fleet.sh: only $idle of $agents agents registered" >&2; exit 3; }
  # The slaves resolve the target by name: wait until every agent's container does (a
  # fresh network's DNS can answer "try again" for a while; a run would wait out its
  # timeouts and report errors that are not the target's).
  say "waiting for the agents to resolve the target"
  local pod
  for pod in $(podman pod ps --format '{{.Name}}' | grep -E '^loads-agent-pod-[0-9]+$'); do
    deadline=$((SECONDS + 60))
    until podman exec "$pod-agent" getent hosts target >/dev/null 2>&1; do
      [ $SECONDS -lt $deadline ] || { echo "fleet.sh: $pod cannot resolve the target" >&2; exit 3; }
      sleep 1
    done
  done
  say "fleet up: broker, $agents agents idle, target"
}

# loads-master --ping from a throwaway container on the fleet's network, with the keys.
ping_broker() {
  podman run --rm --network "$network" -v "$work/secrets/loads-master-key:/etc/loads/key:ro" \
    -v "$work/secrets/loads-broker-pub:/etc/loads/broker:ro" "$image" loads-master --ping --agents \
    --broker tcp://loads-broker:7780 --key /etc/loads/key/master.key \
    --broker-key /etc/loads/broker/broker.pub 2>&1 || true
}

run() {
  [ $# -gt 0 ] || set -- --agents 3 -u 30 -d 10s
  rm -rf "$work/reports" && mkdir -p "$work/reports" && chmod 777 "$work/reports"
  "$src/deploy/podman/manifest.py" master "$manifests/master-job.yaml" "$work/secrets" "$examples" \
    "$work/reports" "$@" >"$work/master.yaml"
  podman pod rm -f loads-master >/dev/null 2>&1 || true
  play "$work/master.yaml" --network "$network:alias=loads-master"
  local code
  code=$(podman wait loads-master-master)
  podman logs loads-master-master 2>&1
  [ -f "$work/reports/report.json" ] && cp "$work/reports/report.json" "$work/report.json"
  podman pod rm -f loads-master >/dev/null 2>&1 || true
  return "$code"
}

served() {
  local ip
  ip=$(podman inspect loads-target --format "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}")
  /usr/bin/python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1]))["served"])' "http://$ip:8080/stats"
}

down() {  # every pod and container of a fleet, whichever work dir made it
  local pods
  pods=$(podman pod ps --format '{{.Name}}' | grep -E '^loads-(broker|agent)-pod-[0-9]+$|^loads-master$' || true)
  [ -z "$pods" ] || podman pod rm -f $pods >/dev/null 2>&1  # (it complains of emptyDirs in use)
  podman rm -f loads-target >/dev/null 2>&1 || true
  podman network rm -f "$network" >/dev/null 2>&1 || true
}

command=${1:-}
shift || true
case "$command" in
  up) up "$@" ;;
  run) run "$@" ;;
  served) served ;;
  down) down ;;
  *) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
