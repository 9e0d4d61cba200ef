# What the network-namespace tests share (sourced by netns_test.sh and slow_link_test.sh):
# the root check, one namespace per host on a bridge, clean-up, and small helpers.
# The caller sets, before sourcing: build (the build dir), prefix (unique per run), hosts
# (an array of host names) and addr (host -> address on a /24), and a `work` directory
# name template (mktemp -d); it sets passed=1 once its checks hold.
# Needs root (namespaces, veth); otherwise the caller exits 77 (CTest: Skipped).

if [ "$(id -u)" != 0 ] || ! ip netns add "loads-probe-$$" 2>/dev/null; then
  echo "SKIP: needs root and 'ip netns' (network namespaces) to build the hosts"
  exit 77
fi
ip netns del "loads-probe-$$"

mkdir -p "$build/test-output"
work=$(mktemp -d "$build/test-output/$work")
pids=()
passed=0

cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # A slave is the agent's child: whatever still runs inside our namespaces is ours.
  for h in "${hosts[@]}"; do
    for pid in $(ip netns pids "$prefix-$h" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  for h in "${hosts[@]}" br; do ip netns del "$prefix-$h" 2>/dev/null || true; done
  [ "$passed" = 1 ] && rm -rf "$work"  # kept for a look when the test failed
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log "$work"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -25 "$f" >&2; }; done
  exit 1
}
in_ns() { local h=$1; shift; ip netns exec "$prefix-$h" "$@"; }
wait_for() {  # wait_for SECONDS COMMAND...: until the command succeeds (polled every 0.1 s)
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# The network: one bridge namespace, one veth pair per host, eth0 in the host's namespace.
ip netns add "$prefix-br"
ip -n "$prefix-br" link add br0 type bridge
ip -n "$prefix-br" link set br0 up
for h in "${hosts[@]}"; do
  ip netns add "$prefix-$h"
  ip link add eth0 netns "$prefix-$h" type veth peer name "v-$h" netns "$prefix-br"
  ip -n "$prefix-br" link set "v-$h" master br0 up
  ip -n "$prefix-$h" addr add "${addr[$h]}/24" dev eth0
  ip -n "$prefix-$h" link set eth0 up
  ip -n "$prefix-$h" link set lo up
done
