#!/usr/bin/env bash
# deploy/systemd: the units pass `systemd-analyze verify` (no warning at all) against the
# binaries `cmake --install` puts in a temporary prefix, and every option they pass is one
# the installed binary knows. The Dockerfile's runtime stage installs the Debian package
# of every shared library the installed binaries link.
#   systemd_test.sh <build dir> <source dir>
set -euo pipefail
build=$1; src=$2
work="$build/test-output/deploy-systemd"
rm -rf "$work"; mkdir -p "$work/units"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
source "$src/tests/deploy/options_check.sh"

# The units name /usr/local/bin (cmake's default prefix): point them at the test prefix.
for unit in "$src"/deploy/systemd/*.service; do
  name=$(basename "$unit")
  sed "s|/usr/local/bin/|$work/prefix/bin/|" "$unit" > "$work/units/${name/@./@1.}"
done
out=$(cd "$work/units" && systemd-analyze verify ./*.service 2>&1) || { echo "$out"; exit 1; }
[ -z "$out" ] || { echo "systemd-analyze verify warns:"; echo "$out"; exit 1; }
echo "systemd-analyze verify: $(ls "$work/units" | tr '\n' ' ')ok"

# "ExecStart=/path/loads-x --opt ... \" continued lines: one "loads-x --opt" per option.
awk '/^ExecStart=/ {cmd = $0; sub(/^ExecStart=[^ ]*\//, "", cmd); split(cmd, w, " "); bin = w[1]}
     bin != "" { for (i = 1; i <= NF; i++) if ($i ~ /^--[a-z]/) print bin, $i
                 if ($0 !~ /\\$/) bin = "" }' "$src"/deploy/systemd/*.service |
  check_options "$work/prefix"

# Runtime libraries: the Debian package of every library the binaries and libloads need
# directly (their dependencies come with them), minus the base image's C/C++ runtime.
package_of() {  # a shared library's path → its Debian package (usrmerge: try both paths)
  { dpkg -S "$1" 2>/dev/null || dpkg -S "$(realpath "$1")" 2>/dev/null; } | head -n 1 | cut -d: -f1
}
libraries=$(for file in "$work"/prefix/bin/loads-* "$work"/prefix/lib/libloads.so.*.*; do
              direct=" $(objdump -p "$file" | awk '/NEEDED/ {printf "%s ", $2}')"
              LD_LIBRARY_PATH="$work/prefix/lib" ldd "$file" |
                awk -v direct="$direct" 'index(direct, " " $1 " ") && $3 ~ /^\// {print $3}'
            done | grep -v "^$work/" | sort -u)
needed=$(for path in $libraries; do package_of "$path"; done | sort -u)
base=" libc6 libstdc++6 libgcc-s1 "
runtime=$(sed -n '/^FROM debian:12-slim AS runtime$/,$p' "$src/deploy/Dockerfile")
[ -n "$runtime" ] || { echo "FAIL: no 'FROM debian:12-slim AS runtime' stage in deploy/Dockerfile"; exit 1; }
missing=0
for pkg in $needed; do
  [[ $base == *" $pkg "* ]] && continue
  grep -qw -- "$pkg" <<<"$runtime" || { echo "FAIL: the runtime stage lacks $pkg"; missing=1; }
done
echo "Dockerfile runtime stage must hold:" $needed
exit $missing
