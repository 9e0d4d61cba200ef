#!/usr/bin/env bash
# HTTP phase timings against nginx over TLS (Debian's nginx, a self-signed certificate):
# each user's first request connects and handshakes, its kept-alive requests report 0
# connect and TLS time; the phases add up to the latency; nginx's access log counts the
# requests the report shows; thresholds with k6's phase names judge the phases.
# Usage: nginx_tls_phases_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
command -v nginx >/dev/null || { echo "FAIL: nginx is not installed (scripts/setup.sh)"; exit 1; }
dir=$(mktemp -d)
chmod 755 "$dir"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$dir/www"
printf 'hello over TLS\n' >"$dir/www/static"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
  access_log $dir/access.log;
  keepalive_requests 100000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    root $dir/www;
  }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir" & pids+=($!)
for _ in $(seq 100); do curl -skf -o /dev/null "https://127.0.0.1:$port/static" && break; sleep 0.1; done
curl -skf -o /dev/null "https://127.0.0.1:$port/static" || { echo "FAIL: nginx did not start"; cat "$dir/error.log"; exit 1; }
: >"$dir/access.log"  # the readiness probes are not the run's

# 3 users x 41 hits: 3 handshakes, 120 kept-alive requests.
code=0
"$build/master/loads-master" "$build/examples/simple/libsimple.so" --test Static.test_static \
  -u 3 --hits 41 -t 1 -k --server-url "https://127.0.0.1:$port" --json "$dir/report.json" \
  --csv "$dir/run" -q \
  --threshold 'http_req_connecting:p(90)==0' --threshold 'http_req_tls_handshaking:max>0' \
  --threshold 'http_req_waiting:max>59m' >"$dir/master.log" 2>&1 || code=$?
[ "$code" = 99 ] || { echo "FAIL: expected exit 99 (the last threshold fails), got $code"; cat "$dir/master.log"; exit 1; }
python3 - "$dir/report.json" "$dir/access.log" "$dir/run_requests.csv" <<'PY'
import csv, json, sys
report = json.load(open(sys.argv[1]))
served = sum(1 for line in open(sys.argv[2]) if '"GET /static' in line)
row = next(r for r in csv.DictReader(open(sys.argv[3])) if r["name"] == "GET /static")
r = report["requests"][0]
p = r["phasesUs"]
problems = []
def check(what, ok):
    if not ok: problems.append(what)
check(f"requests {r['requests']} == nginx's {served} == 123", r["requests"] == served == 3 * 41)
check(f"phased {r['phased']} == requests", r["phased"] == r["requests"])
for phase in ("dns", "connecting", "tls", "sending", "waiting", "receiving"):
    check(f"{phase} count", p[phase]["count"] == r["requests"])
# 3 of 123 requests open a connection: p90 of connect and TLS is 0, their max is not.
check(f"connecting p90 {p['connecting']['p90']} == 0", p["connecting"]["p90"] == 0)
check(f"tls p90 {p['tls']['p90']} == 0", p["tls"]["p90"] == 0)
check(f"tls max {p['tls']['max']} > 0", p["tls"]["max"] > 0)
check(f"waiting max {p['waiting']['max']} > 0", p["waiting"]["max"] > 0)
total = sum(p[x]["mean"] for x in p)
check(f"the phases' means add up to the latency's ({total} vs {r['latencyUs']['mean']})",
      abs(total - r["latencyUs"]["mean"]) <= 6)
verdicts = [t["pass"] for t in report["thresholds"]]
check(f"threshold verdicts {verdicts} == [True, True, False]", verdicts == [True, True, False])
check(f"CSV tls p95 {row['tls_p95_us']} == 0", row["tls_p95_us"] == "0")
if problems:
    print("FAIL:\n  " + "\n  ".join(problems)); sys.exit(1)
print(f"ok: {r['requests']} requests over TLS (nginx logged {served}); TLS handshakes max "
      f"{p['tls']['max']} µs, waiting p50 {p['waiting']['p50']} µs, kept-alive connect 0")
PY
