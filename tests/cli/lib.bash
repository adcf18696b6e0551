# tests/cli/lib.bash: tiny assertion helpers for the shell-level tests (sourced).
set -u
FAILS=0
PASSES=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ok() { PASSES=$((PASSES + 1)); }
bad() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }

# expect_rc WANT CMD...: run CMD, capture stdout/stderr in $OUT/$ERR, compare exit code.
expect_rc() {
  local want=$1; shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
  if [ "$rc" -eq "$want" ]; then ok; else bad "exit $rc, wanted $want: $*"; echo "  stdout: $OUT" >&2; echo "  stderr: $ERR" >&2; fi
}
# contains HAYSTACK NEEDLE LABEL
contains() { case "$1" in *"$2"*) ok ;; *) bad "$3: '$2' not found in: $1" ;; esac; }
not_contains() { case "$1" in *"$2"*) bad "$3: '$2' unexpectedly found in: $1" ;; *) ok ;; esac; }
# one_error STDERR LABEL: exactly one error line (progress and info lines aside).
one_error() {
  local n
  n=$(printf '%s\n' "$1" | grep '^baldro-host: ' | grep -cvE '^baldro-host: (info|warn|debug):')
  [ "$n" -eq 1 ] && ok || bad "$2: expected one error line, got: $1"
}
one_line() { [ "$(printf '%s' "$1" | wc -l)" -eq 0 ] && ok || bad "$2: expected one line, got: $1"; }

finish() {
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}
