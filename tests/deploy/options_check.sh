# Sourced by the deploy tests. check_options PREFIX reads "binary option" lines on stdin
# and fails for an option the installed binary's --help does not list.
check_options() {
  local prefix=$1 binary option bad=0
  while read -r binary option; do
    # The whole help is read (no grep -q): under pipefail, grep leaving early would make
    # the binary die of SIGPIPE and the check fail at random.
    if LD_LIBRARY_PATH="$prefix/lib" "$prefix/bin/$binary" --help </dev/null 2>&1 |
      grep -E -- "(^|[ ,])$option([ =,]|$)" >/dev/null; then continue; fi
    echo "FAIL: $binary has no option $option"; bad=1
  done
  return $bad
}
