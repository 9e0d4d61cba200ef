#!/usr/bin/env bash
# Every C++ file of the tree is formatted by the checked-in .clang-format (style.md: one
# naming and layout style, enforced). Fails listing the files clang-format would change;
# fix them with: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
#   tests/install/format_test.sh SOURCE_DIR
set -euo pipefail
cd "${1:?usage: format_test.sh SOURCE_DIR}"
command -v clang-format >/dev/null || { echo "FAIL: clang-format is not installed (scripts/setup.sh)" >&2; exit 1; }
unformatted=()
while IFS= read -r file; do
  clang-format --dry-run --Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
done < <(git ls-files '*.cpp' '*.hpp')
checked=$(git ls-files '*.cpp' '*.hpp' | wc -l)
[ "$checked" -gt 100 ] || { echo "FAIL: only $checked files found: is this the source tree?" >&2; exit 1; }
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "FAIL: ${#unformatted[@]} of $checked files are not clang-formatted:" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  exit 1
fi
echo "ok: all $checked C++ files are clang-formatted"
