#!/usr/bin/env bash
# Installs what loads needs from Debian 12's packages (only what is missing), then
# configures and builds it in ./build. Sourced by demo.sh and test.sh; safe to rerun.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(g++ cmake ninja-build pkg-config libboost-dev libboost-context-dev
          libboost-coroutine-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libspdlog-dev
          catch2 libssl-dev openssl nlohmann-json3-dev libcli11-dev
          libtomlplusplus-dev  # toml++: loads-master --config FILE (master/config_file.cpp)
          libxml2-utils  # xmllint: the JUnit report tests validate against tests/report/junit.xsd
          websocketd     # a WebSocket server nobody here wrote, for tests/e2e/websocket_test
          chromium       # tests/web: the live dashboard in headless Chromium
          tcpdump        # tests/e2e/security_test: no plaintext on the wire of a secured run
          iproute2 curl  # tests/netns (ip netns, veth, bridge) and bench/soak.sh
          python3        # bench/soak.sh and the tests' scripts read JSON with it
          python3-zmq python3-msgpack  # tests/conformance: a peer built from PROTOCOL.md alone; examples/python_runner
          clang libclang-rt-14-dev  # tests/fuzz: libFuzzer, ASan and UBSan
          systemd        # systemd-analyze verify: tests/deploy checks deploy/systemd
          prometheus     # tests/metrics: a real Prometheus scrapes loads-master's and loads-broker's /metrics
          redis-server libhiredis-dev  # examples/redis (measure() over hiredis) and its test against a real Redis
          ccache         # rebuilds (and git worktrees of one clone) reuse compiled objects
          clang-format   # tests/install/format_test.sh: the tree follows .clang-format
          linux-perf strace valgrind  # bench/profile_local.sh: perf record/stat, syscalls and instructions per request
          # tests/deploy/containers_test.sh: deploy/ built and run with podman
          # (deploy/podman/fleet.sh): runc (crun fails to set RLIMIT_NOFILE in some VMs),
          # netavark + iptables (bridge network), aardvark-dns (names), catatonit (pods'
          # pause image), debootstrap (the base image, no registry needed)
          podman runc netavark aardvark-dns iptables catatonit debootstrap python3-yaml)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# playwright-core (pinned by tests/web/package-lock.json) drives Debian's chromium; it
# never downloads a browser.
if ! command -v npm >/dev/null; then  # Node.js and npm: Debian's, unless already here
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm
fi
if [ ! -d tests/web/node_modules/playwright-core ]; then
  echo "==> npm ci in tests/web"
  (cd tests/web && npm ci --no-audit --no-fund)
fi
# tests/deploy validates deploy/ offline: kubernetes-models (the Kubernetes JSON schemas),
# yaml, dockerfile-utils (a Dockerfile linter); pinned by tests/deploy/package-lock.json.
if [ ! -d tests/deploy/node_modules/kubernetes-models ]; then
  echo "==> npm ci in tests/deploy"
  (cd tests/deploy && npm ci --no-audit --no-fund)
fi

jobs=${LOADS_JOBS:-2}
echo "==> building in ./build (-j$jobs)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
