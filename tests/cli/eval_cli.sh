#!/usr/bin/env bash
# eval --aggregate on the original TOFU code's per-item logs: the formula sheet's figures
# (llama2-7b: model utility 0.6227 and 0.6137, forget quality 1.83e-21; phi-1.5: 0.5221,
# 2.19e-16) through the metric plugins, and bad logs named in one line.
. "$(dirname "$0")/lib.bash"
: "${BALDRO_HOST:?}" "${BALDRO_SOURCE_DIR:?}"
H="$BALDRO_HOST"
unset BALDRO_PLUGIN_PATH BALDRO_LOG
L="$BALDRO_SOURCE_DIR/../shared/data/tofu/reference_eval_logs"
F="$L/ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json"
R="$L/ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01__eval_log_aggregated.json"

expect_rc 0 "$H" eval --aggregate "$F" --retain-logs "$R" --out "$TMP/agg"
contains "$OUT" "model_utility              0.6226773637" "llama2-7b full model utility"
contains "$OUT" "forget_quality             1.834066411e-21" "forget quality full vs retain90"
contains "$OUT" "forget_Q_A_ROUGE           0.9854496939" "forget ROUGE-L recomputed from generations"
grep -q '"model_utility" : 0.62267' "$TMP/agg/TOFU_SUMMARY.json" && ok || bad "TOFU_SUMMARY.json written"
expect_rc 0 "$H" eval --aggregate "$R"
contains "$OUT" "model_utility              0.613744995" "llama2-7b retain90 model utility"
expect_rc 0 "$H" eval --aggregate "$L/ft_epoch5_lr2e-05_phi_full_wd0.01__eval_log_aggregated.json" \
  --retain-logs "$L/ft_epoch5_lr2e-05_phi_retain90_wd0.01__eval_log_aggregated.json"
contains "$OUT" "model_utility              0.5220737" "phi-1.5 full model utility"
contains "$OUT" "forget_quality             2.19427" "phi-1.5 forget quality"

# open-unlearning's TOFU_EVAL.json (tests/oracle/ou_log_oracle.py: 40 items per split of
# the same logs): every figure as the oracle computed it; truth ratios and model utility
# without open-unlearning's 1e-10 guards (the formula), the rest as logged
X="$BALDRO_SOURCE_DIR/tests/fixtures/eval_logs"
expect_rc 0 "$H" eval --aggregate "$X/ou_full_40.json" --retain-logs "$X/ou_retain90_40.json" \
  --out "$TMP/ou"
python3 - "$X/expected.json" "$TMP/ou/TOFU_SUMMARY.json" <<'PY' && ok || bad "open-unlearning log figures"
import json, sys
e = json.load(open(sys.argv[1])); got = json.load(open(sys.argv[2]))
want = dict(e["formula"]["ou_full_40.json"])
for k in ("mia_min_k", "privleak", "extraction_strength", "forget_Q_A_gibberish"):
    want[k] = e["agg"]["ou_full_40.json"][k]
bad = [(k, v, got.get(k)) for k, v in want.items()
       if got.get(k) is None or abs(got[k] - v) > 1e-12 * max(1.0, abs(v))]
print(bad or "all %d figures within 1e-12" % len(want))
sys.exit(1 if bad else 0)
PY

# bad logs
echo '{"x": 1}' > "$TMP/other.json"
expect_rc 2 "$H" eval --aggregate "$TMP/other.json"
contains "$ERR" "other.json: not a per-item evaluation log" "an unknown log format"
one_error "$ERR" "unknown format"
python3 - "$F" "$TMP/broken.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
del d["eval_log.json"]["avg_gt_loss"]["7"]
d["eval_log_forget.json"]["average_perturb_loss"]["3"][1] = "x"
json.dump(d, open(sys.argv[2], "w"))
PY
expect_rc 1 "$H" eval --aggregate "$TMP/broken.json"
contains "$ERR" "broken.json: eval_log_forget.json.average_perturb_loss.3[1]: not a finite number" "a broken item is named"
one_error "$ERR" "broken item"
expect_rc 1 "$H" eval --aggregate "$F" --retain-logs "$TMP/other.json"
contains "$ERR" "forget_truth_ratio and mia_min_k: both missing" "a retain log without truth ratios"
expect_rc 1 "$H" eval --aggregate "$TMP/none.json"
contains "$ERR" "none.json: cannot read" "a missing log"
finish
