#!/usr/bin/env bash
# The second quick-start command: set up, build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
echo "==> running the test suite"
cd build && ctest --output-on-failure -j "${LOADS_JOBS:-2}" "$@"
