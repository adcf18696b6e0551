#!/usr/bin/env bash
# baldro-host report: the page from the fixture experiment (tests/fixtures/report), written
# where it belongs (EXP/report.html for one experiment, else ./report.html, or --out) and
# atomically, its path printed; warnings for malformed files with the page still written;
# one-line errors (exit 2) for an input that is neither an experiment nor a run, exit 1
# when the page cannot be written; the same bytes twice.
. "$(dirname "$0")/lib.bash"
: "${BALDRO_HOST:?}" "${BALDRO_SOURCE_DIR:?}"
H="$BALDRO_HOST"
unset BALDRO_PLUGIN_PATH BALDRO_LOG
FIX="$BALDRO_SOURCE_DIR/tests/fixtures/report"
cp -r "$FIX/exp" "$TMP/exp"

# One experiment: EXP/report.html, path on stdout, nothing else said.
expect_rc 0 "$H" report "$TMP/exp"
[ "$OUT" = "$TMP/exp/report.html" ] && ok || bad "path printed: $OUT"
[ -z "$ERR" ] && ok || bad "no warnings for the good fixture: $ERR"
[ -s "$TMP/exp/report.html" ] && ok || bad "EXP/report.html written"
P=$(cat "$TMP/exp/report.html")
contains "$P" '<h2 id="tradeoff">' "scatter section"
[ "$(grep -o '<svg class="plot"' "$TMP/exp/report.html" | wc -l)" -eq 11 ] && ok || bad "11 plots"
grep -qi 'http' "$TMP/exp/report.html" && bad "a URL in the page" || ok
ls "$TMP/exp" | grep -q 'report.html.' && bad "temporary file left behind" || ok
# Again: the same bytes.
cp "$TMP/exp/report.html" "$TMP/first.html"
expect_rc 0 "$H" report "$TMP/exp"
cmp -s "$TMP/first.html" "$TMP/exp/report.html" && ok || bad "same inputs, same bytes"

# Two inputs (an experiment and a run): ./report.html in the working directory.
mkdir -p "$TMP/cwd"
(cd "$TMP/cwd" && "$H" report "$TMP/exp" "$TMP/exp/npo" >"$TMP/out2" 2>"$TMP/err2")
rc=$?
[ "$rc" -eq 0 ] && [ "$(cat "$TMP/out2")" = "report.html" ] && ok || bad "./report.html for several inputs (exit $rc)"
[ -s "$TMP/cwd/report.html" ] && ok || bad "./report.html written"
grep -q '3 runs from' "$TMP/cwd/report.html" && ok || bad "3 runs reported"
# --out
expect_rc 0 "$H" report --out "$TMP/o.html" "$TMP/exp/npo-baldro"
[ "$OUT" = "$TMP/o.html" ] && [ -s "$TMP/o.html" ] && ok || bad "--out"

# Malformed files: one warning line each, naming file and field; the page is written.
expect_rc 0 "$H" report --out "$TMP/bad.html" "$FIX/bad"
n=$(printf '%s\n' "$ERR" | grep -c '^baldro-host: warning: report: ')
[ "$n" -eq 7 ] && ok || bad "7 warnings, got $n: $ERR"
contains "$ERR" "r-malformed/unlearn/dro.jsonl:2: weight: expected a number" "dro.jsonl field"
contains "$ERR" "eval-unlearn/TOFU_SUMMARY.json: forget_quality: expected a number" "summary field"
grep -q 'Malformed: ' "$TMP/bad.html" && ok || bad "sections marked"
expect_rc 0 "$H" report --out "$TMP/lone.html" "$FIX/lone"
contains "$ERR" "lone/run.json: JSON" "run.json that is not JSON"

# Errors: one line, exit 2 (usage) or 1 (cannot write).
expect_rc 2 "$H" report "$FIX"
one_error "$ERR" "neither pipeline.json nor run.json"
contains "$ERR" "neither pipeline.json (an experiment) nor run.json (a run)" "names both files"
[ ! -e "$FIX/report.html" ] && ok || bad "nothing written for a bad input"
expect_rc 2 "$H" report "$TMP/exp" "$TMP/nope"
one_error "$ERR" "missing directory"
contains "$ERR" "$TMP/nope: not a directory" "names the directory"
expect_rc 2 "$H" report
one_error "$ERR" "no RUN_DIR"
expect_rc 2 "$H" report --bogus "$TMP/exp"
one_error "$ERR" "unknown option"
expect_rc 1 "$H" report --out "$TMP/no/such/dir/r.html" "$TMP/exp"
one_error "$ERR" "cannot write"
expect_rc 0 "$H" report --help
contains "$OUT" "RUN_DIR..." "help names the arguments"
finish
