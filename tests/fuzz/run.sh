#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang in a sub-build and runs each one for SECONDS
# from the committed seed corpus (tests/fuzz/corpus, left untouched: new inputs go to a
# working copy). Exits non-zero on the first finding; its input is kept in the work dir.
#   tests/fuzz/run.sh SECONDS [WORK_DIR]      (default WORK_DIR: build/fuzz)
# The suite runs it for a few seconds (ctest -R fuzz); docs/reliability.md has long runs.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:?usage: tests/fuzz/run.sh SECONDS [WORK_DIR]}
work=$(mkdir -p "${2:-$src/build/fuzz}" && cd "${2:-$src/build/fuzz}" && pwd)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache)")
cmake -S "$src/tests/fuzz" -B "$work/build" -G Ninja -DCMAKE_CXX_COMPILER="$(command -v clang++)" \
      "${launcher[@]}" >/dev/null
cmake --build "$work/build" -j "${LOADS_JOBS:-2}" --target messages_fuzzer results_fuzzer frames_fuzzer >/dev/null
for fuzzer in messages results frames; do
  corpus="$work/corpus/$fuzzer"
  mkdir -p "$corpus" "$work/findings/$fuzzer"
  cp "$src/tests/fuzz/corpus/$fuzzer"/* "$corpus/"
  echo "==> ${fuzzer}_fuzzer for ${seconds}s"
  "$work/build/${fuzzer}_fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$work/findings/$fuzzer/" "$corpus" 2>"$work/$fuzzer.log" || {
    tail -n 60 "$work/$fuzzer.log"; echo "${fuzzer}_fuzzer found a bug: see $work/findings/$fuzzer"
    exit 1
  }
  grep -E 'DONE|^stat::' "$work/$fuzzer.log" || true
  echo "corpus: $(ls "$corpus" | wc -l) inputs"
done
