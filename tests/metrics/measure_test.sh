#!/usr/bin/env bash
# TestCase::measure() in every way a call can end (tests/libs/measured.cpp), 4 users x 31
# hits on 3 threads: the JSON report, the CSV and /metrics count each exactly.
# Usage: measure_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
code=0
"$build/master/loads-master" "$build/tests/libs/libmeasured.so" -u 4 --hits 31 -t 3 \
  --json "$dir/report.json" --csv "$dir/run" -q >"$dir/master.log" 2>&1 || code=$?
[ "$code" = 1 ] || { echo "FAIL: expected exit 1 (the thrown calls are errors), got $code"; cat "$dir/master.log"; exit 1; }
python3 - "$dir/report.json" "$dir/run_requests.csv" <<'PY'
import csv, json, sys
report = json.load(open(sys.argv[1]))
rows = {r["name"]: r for r in csv.DictReader(open(sys.argv[2]))}
q = {r["name"]: r for r in report["requests"]}
users, hits = 4, 31
every3 = users * (hits // 3)
# hits 15 and 30 throw at "refused" first and never reach "thrown"
every5 = users * len([h for h in range(1, hits + 1) if h % 5 == 0 and h % 3 != 0])
want = {
  "ok": (users * hits, 0, {}, users * hits * 7),
  "failed": (users * hits, users * hits, {"timeout": users * hits}, 0),
  "refused": (every3, every3, {"refused": every3}, 0),
  "thrown": (every5, every5, {"other": every5}, 0),
}
problems = []
for name, (count, failures, kinds, nbytes) in want.items():
    r = q[name]
    got = (r["requests"], r["failures"], r["errorKinds"], r["bytes"])
    if got != (count, failures, kinds, nbytes): problems.append(f"{name}: {got} != {(count, failures, kinds, nbytes)}")
    # a failed call is status 0 (no response), as an HTTP request without one; an ok call none
    codes = {"0": failures} if failures else {}
    if r["statusCodes"] != codes: problems.append(f"{name}: status codes {r['statusCodes']}")
    if int(rows[name]["requests"]) != count: problems.append(f"{name}: CSV {rows[name]['requests']}")
t = report["tests"][0]
# A hit that threw (refused, thrown) is an error.
errors = users * len({h for h in range(1, hits + 1) if h % 3 == 0 or h % 5 == 0})
if t["errors"] != errors: problems.append(f"test errors {t['errors']} != {errors}")
if problems:
    print("FAIL:\n  " + "\n  ".join(problems)); sys.exit(1)
print(f"ok: {sum(r['requests'] for r in q.values())} measured calls counted as asked")
PY
