# Sourced by the benchmarks that put loads beside a peer tool: alternating rounds with the
# median ratio, loads' rate from its JSON report, and a local broker with its agents.

# loads_rate REPORT: requests a second from a loads JSON report.
loads_rate() {
  python3 -c "import json, sys; d = json.load(open(sys.argv[1]))['summary']; \
print('%.0f' % (d['requests'] / d['durationSeconds']))" "$1"
}

# alternate_rounds ROUNDS PEER: runs run_peer and run_loads (the caller's, each printing
# requests a second) ROUNDS times, odd rounds the peer first and even rounds loads first,
# so that neither tool always gets the warmer or the quieter slot. Prints each round with
# the load average, then the median ratio loads/PEER.
alternate_rounds() {
  local rounds=$1 peer=$2 r first peer_rps loads_rps ratio ratios=()
  printf '%-6s %-6s %12s %12s %8s  %s\n' round first "${peer}_req/s" loads_req/s ratio load_average
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then
      first=$peer; peer_rps=$(run_peer); loads_rps=$(run_loads)
    else
      first=loads; loads_rps=$(run_loads); peer_rps=$(run_peer)
    fi
    ratio=$(python3 -c "print('%.3f' % ($loads_rps / $peer_rps))")
    ratios+=("$ratio")
    printf '%-6s %-6s %12s %12s %8s  %s\n' "$r" "$first" "$peer_rps" "$loads_rps" "$ratio" \
      "$(cut -d' ' -f1-3 /proc/loadavg)"
  done
  python3 -c "import statistics, sys; print('median loads/%s over %d rounds: %.3f' % \
(sys.argv[1], len(sys.argv) - 2, statistics.median(map(float, sys.argv[2:]))))" "$peer" "${ratios[@]}"
}

# start_cluster AGENTS DIR [BUILD=build]: a loads-broker on 127.0.0.1:17780/17781 and
# AGENTS agents (bench-1 ...) of BUILD, logs and caches in DIR; their pids are added to the
# caller's `pids` (the broker's first).
start_cluster() {
  local agents=$1 dir=$2 b=${3:-build} i
  "$b/broker/loads-broker" --frontend tcp://127.0.0.1:17780 --backend tcp://127.0.0.1:17781 \
    >"$dir/broker.log" 2>&1 &
  pids+=($!)
  for i in $(seq "$agents"); do
    "$b/agent/loads-agent" --broker tcp://127.0.0.1:17781 --id "bench-$i" \
      --cache-dir "$dir/cache$i" >"$dir/agent$i.log" 2>&1 &
    pids+=($!)
  done
}
