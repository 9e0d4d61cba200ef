#!/usr/bin/env bash
# ctest wrapper of the browser tests in tests/web (headless Debian chromium driven by
# playwright-core). Usage: browser_test.sh SCRIPT.mjs BUILD_DIR [ARGS...], e.g.
# browser_test.sh dashboard.mjs build --distributed. Fails (never skips) when chromium
# or the npm packages are missing: scripts/setup.sh installs both.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
script="${1:?usage: browser_test.sh SCRIPT.mjs BUILD_DIR [ARGS...]}"
build="${2:?usage: browser_test.sh SCRIPT.mjs BUILD_DIR [ARGS...]}"
shift 2
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "FAIL: playwright-core is not installed: run scripts/setup.sh (npm ci in tests/web)" >&2
  exit 1
fi
exec node "$here/$script" "$build" "$@"
