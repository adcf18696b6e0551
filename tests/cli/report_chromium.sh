#!/usr/bin/env bash
# report.html as a browser shows it: Debian's chromium renders the fixture experiment's page
# headless to a PNG. The page must log no error and its own "rendered 11 plots" line, and
# the screenshot (decoded by tests/tools/png_probe, libpng) must hold every plot's colours,
# enough of each, in the page's order: the forget-quality scatter (target and retain
# markers, a point per run), then run 1's training curves, weight bands and truth-ratio
# histograms. Without chromium or png_probe: skipped (exit 77), or failed when CI=true
# (./scripts/install-deps.sh --test installs both).
. "$(dirname "$0")/lib.bash"
: "${BALDRO_HOST:?}" "${BALDRO_SOURCE_DIR:?}" "${BALDRO_BINARY_DIR:?}"
H="$BALDRO_HOST"
unset BALDRO_PLUGIN_PATH BALDRO_LOG
PROBE="$BALDRO_BINARY_DIR/tests/png_probe"
CHROME=$(command -v chromium || command -v chromium-browser || true)

missing() {
  if [ "${CI:-}" = "true" ]; then echo "FAIL: $1 (required when CI=true)" >&2; exit 1; fi
  echo "SKIP: $1"
  exit 77
}
[ -n "$CHROME" ] || missing "chromium is not installed (./scripts/install-deps.sh --test)"
[ -x "$PROBE" ] || missing "png_probe was not built (libpng-dev missing at configure time)"

cp -r "$BALDRO_SOURCE_DIR/tests/fixtures/report/exp" "$TMP/exp"
expect_rc 0 "$H" report "$TMP/exp"
PAGE="$TMP/exp/report.html"

# Headless chromium can be slow to start: bounded. --no-sandbox: CI runs as root.
timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --no-default-browser-check --user-data-dir="$TMP/profile" --enable-logging=stderr --v=0 \
  --window-size=1200,4800 --screenshot="$TMP/page.png" "file://$PAGE" \
  >"$TMP/chrome.out" 2>"$TMP/chrome.err"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "chromium exit $rc: $(tail -3 "$TMP/chrome.err")"
[ -s "$TMP/page.png" ] || { bad "no screenshot"; finish; exit; }

# (b) The console: our line, and nothing at warning or error level, no uncaught exception,
# no resource that failed to load (there are none to load).
LOG=$(cat "$TMP/chrome.err")
contains "$LOG" '"baldro-report: rendered 11 plots"' "the page's console line"
if grep -E 'ERROR:CONSOLE|WARNING:CONSOLE|Uncaught|Failed to load resource|Refused to' \
     "$TMP/chrome.err" >&2; then bad "the page logged errors"; else ok; fi

# (a) The pixels. Each line: RRGGBB COUNT X0 Y0 X1 Y1 (rows with 3+ pixels of the colour).
"$PROBE" "$TMP/page.png" 8e0152 31a354 4e79a7 f28e2b d62728 1f77b4 9467bd 6baed6 08519c \
  a1d99b d94801 >"$TMP/probe" 2>&1 && ok || bad "png_probe: $(cat "$TMP/probe")"
cat "$TMP/probe"
# at_least COLOUR N LABEL: COUNT >= N
at_least() {
  local c
  c=$(awk -v k="$1" '$1 == k {print $2}' "$TMP/probe")
  [ -n "$c" ] && [ "$c" -ge "$2" ] && ok || bad "$3: ${c:-no} pixels of #$1, wanted >= $2"
}
top() { awk -v k="$1" '$1 == k {print $4}' "$TMP/probe"; }
at_least 8e0152 150 "scatter: target marker and its legend key"
at_least 31a354 150 "scatter: retain marker and its legend key"
at_least 4e79a7 150 "run 1: point and swatches"
at_least f28e2b 150 "run 2: point and swatches"
at_least d62728 400 "forget-loss curves"
at_least 1f77b4 400 "retain-loss curves"
at_least 9467bd 300 "forget-set log-prob curves"
at_least 6baed6 2000 "BalDRO weight quartile band"
at_least 08519c 300 "BalDRO weight median"
at_least a1d99b 1000 "retain-model truth-ratio bars"
at_least d94801 300 "unlearned truth-ratio outline"
# Down the page in section order.
t_scatter=$(top 8e0152) t_curves=$(top d62728) t_weights=$(top 6baed6) t_hist=$(top a1d99b)
[ "$t_scatter" -ge 0 ] && [ "$t_scatter" -lt "$t_curves" ] && [ "$t_curves" -lt "$t_weights" ] \
  && [ "$t_weights" -lt "$t_hist" ] && ok \
  || bad "plots out of order: scatter $t_scatter, curves $t_curves, weights $t_weights, histogram $t_hist"
finish
