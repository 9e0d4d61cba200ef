#!/usr/bin/env bash
# loads distributed (broker + 2 agents + master) vs Locust 2.12 from Debian (master + 2
# workers, FastHttpUser) against the same nginx, same users, same duration, one after
# the other. Prints both req/s and the ratio.
#   bench/distributed_vs_locust.sh [users=50] [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-50}; secs=${2:-10}
[ -x build/master/loads-master ] || scripts/setup.sh
command -v /usr/bin/locust >/dev/null || {
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q python3-locust
}
source bench/nginx.sh
source bench/rounds.sh
work=$(mktemp -d)
pids=()
cleanup_all() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap 'cleanup_all; kill $NGINX_PID 2>/dev/null; rm -rf "$NGINX_DIR"' EXIT

# --- Locust: master + 2 workers --------------------------------------------------------
cat > "$work/locustfile.py" <<'PY'
import locust, locust.runners
# Debian's build reports an empty version, which its distributed mode refuses.
locust.__version__ = locust.runners.__version__ = "2.12.1"
from locust import FastHttpUser, task, constant

class Static(FastHttpUser):
    wait_time = constant(0)
    @task
    def static(self):
        self.client.get("/static")
PY
for i in 1 2; do
  /usr/bin/python3 /usr/bin/locust -f "$work/locustfile.py" --worker --master-port 15557 \
    >"$work/worker$i.log" 2>&1 &
  pids+=($!)
done
/usr/bin/python3 /usr/bin/locust -f "$work/locustfile.py" --master --master-bind-port 15557 \
  --headless --expect-workers 2 -u "$users" -r "$users" -t "${secs}s" -H "$NGINX_URL" \
  --csv "$work/locust" --only-summary >"$work/locust.log" 2>&1 || true
locust_rps=$(python3 - "$work/locust_stats.csv" "$secs" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["Name"] == "Aggregated"]
print("%.0f" % float(rows[0]["Requests/s"]))
PY
)
kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=()

# --- loads: broker + 2 agents + master ---------------------------------------------------
start_cluster 2 "$work"
build/master/loads-master build/examples/simple/libsimple.so --test Static --agents 2 \
  --broker tcp://127.0.0.1:17780 --wait-agents 10s -u "$users" -d "${secs}s" \
  --server-url "$NGINX_URL" --quiet --json "$work/loads.json" >"$work/master.log"
loads_rps=$(loads_rate "$work/loads.json")

# The ceiling on this machine: wrk alone, 2 threads, same connections and time.
wrk_rps=$(wrk "${WRK_SAME_REQUEST[@]}" -t2 -c"$users" -d"${secs}s" "$NGINX_URL/static" | awk '/Requests\/sec/ {printf "%.0f", $2}')

printf '%-22s %10s\n' tool req/s
printf "%-22s %10s\n" "locust (2 workers)" "$locust_rps" "loads (2 agents)" "$loads_rps"
printf '%-22s %10s\n' "wrk -t2 (ceiling)" "$wrk_rps"
printf 'ratio loads/locust: %.1f   wrk/locust: %.1f   loads/wrk: %.2f\n' \
  "$(echo "$loads_rps / $locust_rps" | bc -l)" "$(echo "$wrk_rps / $locust_rps" | bc -l)" \
  "$(echo "$loads_rps / $wrk_rps" | bc -l)"
