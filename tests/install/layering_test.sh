#!/usr/bin/env bash
# libloads.so is what every test library and every slave loads: it must hold the client
# and the runner, never the statistics or the report code (design.md §4). Checks, with
# nm and ldd, that no function defined in common/stats or common/report is defined in
# libloads.so or a test library, that loads-slave has only the histogram and the summary
# builder of them (its --results summary), and that loads-master does have them all (so
# that this test can fail).
#   tests/install/layering_test.sh BUILD_DIR
set -euo pipefail
export LC_ALL=C  # one sort order for sort and comm
build=${1:?usage: layering_test.sh BUILD_DIR}
fail() { echo "FAIL: $*" >&2; exit 1; }

# Functions defined by the stats and report libraries (demangled, text symbols only).
defined() { nm -C --defined-only "$@" 2>/dev/null | awk '$2 ~ /^[TtWw]$/ { $1 = ""; $2 = ""; print substr($0, 3) }' | sort -u; }
private=$(mktemp); trap 'rm -f "$private"' EXIT
defined "$build/common/libloads_stats.a" "$build/common/libloads_report.a" | grep '^loads::' >"$private"
[ "$(wc -l <"$private")" -gt 50 ] || fail "found only $(wc -l <"$private") stats/report functions: is the build complete?"

check_free() {  # FILE: defines none of them, and does not load a library that does
  local file=$1 hits
  hits=$(comm -12 "$private" <({ defined -D "$file"; defined "$file"; } | sort -u) | head -5)
  [ -z "$hits" ] || fail "$file defines stats/report code, e.g.: $hits"
  if ldd "$file" | grep -E 'loads_(stats|report)'; then fail "$file loads a stats/report library"; fi
  echo "ok: $file has none of the $(wc -l <"$private") stats/report functions"
}
check_free "$build/common/libloads.so"
check_free "$build/examples/blog/libblog.so"

# The slave folds its calls into per-interval summaries (--results summary, issue #14): it
# holds the histogram and the summary builder (and the header types they share with the
# aggregate), but none of the aggregate's own code and nothing of the report.
aggregate=$(mktemp); trap 'rm -f "$private" "$aggregate"' EXIT
nm -A -C --defined-only "$build/common/libloads_stats.a" "$build/common/libloads_report.a" 2>/dev/null \
  | grep -vE '(histogram|summary_builder)\.cpp\.o:' \
  | awk '$2 ~ /^[Tt]$/ { $1 = ""; $2 = ""; print substr($0, 3) }' | grep '^loads::' | sort -u >"$aggregate"
[ "$(wc -l <"$aggregate")" -gt 50 ] || fail "found only $(wc -l <"$aggregate") aggregate/report functions"
hits=$(comm -12 "$aggregate" <(defined "$build/agent/loads-slave") | head -5)
[ -z "$hits" ] || fail "loads-slave defines aggregate/report code, e.g.: $hits"
if ldd "$build/agent/loads-slave" | grep -E 'loads_(stats|report)'; then fail "loads-slave loads a stats/report library"; fi
echo "ok: loads-slave has none of the $(wc -l <"$aggregate") aggregate/report functions"

master=$(comm -12 "$private" <(defined "$build/master/loads-master") | wc -l)
[ "$master" -gt 50 ] || fail "loads-master defines only $master stats/report functions: the check is blind"
echo "ok: loads-master defines $master of them"
