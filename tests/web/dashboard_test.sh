#!/usr/bin/env bash
# ctest wrapper of dashboard.mjs: the live dashboard in headless Debian chromium.
# Usage: dashboard_test.sh BUILD_DIR. Fails (never skips) when chromium or the npm
# packages are missing: scripts/setup.sh installs both.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:?usage: dashboard_test.sh BUILD_DIR}"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "FAIL: playwright-core is not installed: run scripts/setup.sh (npm ci in tests/web)" >&2
  exit 1
fi
exec node "$here/dashboard.mjs" "$build"
