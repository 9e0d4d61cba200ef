# Sourced by the benchmarks: installs nginx and wrk from Debian if missing and starts
# nginx with one worker on 127.0.0.1:$NGINX_PORT serving a small static file.
# Sets NGINX_URL; stops nginx on exit.
NGINX_PORT=${NGINX_PORT:-18080}
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
fi
NGINX_DIR=$(mktemp -d)
chmod 755 "$NGINX_DIR"; mkdir -p "$NGINX_DIR/www"
printf 'hello from nginx, a small static file for benchmarks\n' > "$NGINX_DIR/www/static"
cat > "$NGINX_DIR/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    root $NGINX_DIR/www;
  }
}
CONF
ulimit -n "$(ulimit -Hn)"
nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" &
NGINX_PID=$!
trap 'kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf "$NGINX_DIR"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/static" >/dev/null && break; sleep 0.1; done
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
# wrk sends the request line and Host as loads does, but no User-Agent: given loads' own,
# both tools send the same bytes and cost nginx the same a request.
WRK_SAME_REQUEST=(-H "User-Agent: loads/$(sed -n 's/^project(loads VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)")
