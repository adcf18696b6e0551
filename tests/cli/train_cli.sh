#!/usr/bin/env bash
# finetune and unlearn as a user runs them, on the demo's tiny model with one retain
# author: the run directory's layout, the reference cache and its key, resume with the
# same losses, and every bad input as one line with the right exit code.
. "$(dirname "$0")/lib.bash"
: "${BALDRO_HOST:?}" "${BALDRO_SOURCE_DIR:?}"
H="$BALDRO_HOST"
unset BALDRO_PLUGIN_PATH BALDRO_LOG
cd "$BALDRO_SOURCE_DIR"
CFG=examples/tofu-tiny.cfg
FAST=(--set run.output_dir="$TMP/runs" --set data.subset_authors=1 --set trainer.epochs=1
      --set finetune.epochs=0)

# fine-tune from random weights: layout and report
expect_rc 0 "$H" finetune --config "$CFG" "${FAST[@]}"
D="$TMP/runs/tofu-tiny/finetune-full"
contains "$OUT" "finetune: wrote $D/model (8 steps" "finetune reports what it wrote"
contains "$ERR" "forget01 answer probability after fine-tuning" "finetune scores the forget split"
for f in model/config.json model/model.safetensors model/tokenizer.json model/optimizer.bin \
         model/trainer_state.json metrics.jsonl; do
  [ -f "$D/$f" ] && ok || bad "missing $D/$f"
done
[ "$(wc -l < "$D/metrics.jsonl")" -eq 8 ] && ok || bad "metrics.jsonl has one line per step"
expect_rc 1 "$H" finetune --config "$CFG" "${FAST[@]}"
contains "$ERR" "holds a previous run" "a second run does not clobber the first"
one_error "$ERR" "previous-run error"

# unlearn with checkpoints, then resume from the first: the same losses
U=(--set model.path="$D/model" --set model.tokenizer= --set trainer.save_every=2
   --set trainer.epochs=2 --set trainer.per_device_batch=4)
expect_rc 0 "$H" unlearn --config "$CFG" "${FAST[@]}" "${U[@]}"
R="$TMP/runs/tofu-tiny/unlearn"
contains "$ERR" "forget log-probs computed with the model before unlearning and cached" "the reference is computed once"
[ -f "$R/ref_logp_forget.bin" ] && [ -d "$R/checkpoint-2" ] && [ -f "$R/dro.jsonl" ] && ok || bad "unlearn run layout"
[ "$(wc -l < "$R/dro.jsonl")" -eq 80 ] && ok || bad "dro.jsonl: 40 forget samples x 2 epochs"
cut -d, -f1-5 "$R/metrics.jsonl" > "$TMP/first.txt"
expect_rc 0 "$H" unlearn --config "$CFG" "${FAST[@]}" "${U[@]}" --resume "$R/checkpoint-2"
contains "$ERR" "read from $R/ref_logp_forget.bin (cached" "resume reads the cached reference"
cut -d, -f1-5 "$R/metrics.jsonl" > "$TMP/resumed.txt"
cmp -s "$TMP/first.txt" "$TMP/resumed.txt" && ok || bad "resumed losses differ: $(diff "$TMP/first.txt" "$TMP/resumed.txt" | head -4)"
# a reference cache from another model is refused
expect_rc 1 "$H" unlearn --config "$CFG" "${FAST[@]}" "${U[@]}" --set model.path="$R/checkpoint-2" --overwrite
contains "$ERR" "ref_logp_forget.bin: built for model" "another model's cache is refused"
one_error "$ERR" "cache key error"

# eval: the fine-tuned model against itself as the retain model: forget quality 1
E=(--set eval.max_new_tokens=8 --set eval.batch_size=16 --set eval.max_items=12)
expect_rc 0 "$H" eval --config "$CFG" "${FAST[@]}" "${E[@]}" --model "$D/model" --out "$TMP/ev1"
for f in TOFU_EVAL.json TOFU_SUMMARY.json; do [ -f "$TMP/ev1/$f" ] && ok || bad "eval wrote no $f"; done
contains "$OUT" "model_utility" "eval prints model utility"
contains "$OUT" "no retain logs" "eval says why forget quality is missing"
grep -q '"generation"' "$TMP/ev1/TOFU_EVAL.json" && grep -q '"forget_Q_A_ROUGE"' "$TMP/ev1/TOFU_EVAL.json" && ok || bad "TOFU_EVAL.json content"
expect_rc 0 "$H" eval --config "$CFG" "${FAST[@]}" "${E[@]}" --model "$D/model" --out "$TMP/ev2" \
  --retain-logs "$TMP/ev1/TOFU_EVAL.json"
contains "$OUT" "forget_quality             1" "a model against its own logs has forget quality 1"
cmp -s <(grep -v -E "forget_quality|privleak" "$TMP/ev1/TOFU_SUMMARY.json" | sed 's/,$//') \
       <(grep -v -E "forget_quality|privleak" "$TMP/ev2/TOFU_SUMMARY.json" | sed 's/,$//') && ok || bad "eval is deterministic"
# the log alone gives the same summary, to the last bit (privleak 0: the same AUC)
expect_rc 0 "$H" eval --aggregate "$TMP/ev2/TOFU_EVAL.json" --retain-logs "$TMP/ev1/TOFU_EVAL.json" \
  --out "$TMP/agg2"
python3 - "$TMP/ev2/TOFU_SUMMARY.json" "$TMP/agg2/TOFU_SUMMARY.json" <<'PY' && ok || bad "eval --aggregate of our own log"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert a == b, [(k, a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)]
assert abs(a["privleak"]) < 1e-6 and a["forget_quality"] == 1.0, a
assert "extraction_strength" in a and "forget_degeneration" in a and "mia_min_k" in a, a
PY
# the gibberish classifier (a random tiny DistilBERT saved by transformers) over the
# forget generations; a classifier directory that is not one is named
expect_rc 0 "$H" eval --config "$CFG" "${FAST[@]}" "${E[@]}" --model "$D/model" --out "$TMP/evg" \
  --classifier "$BALDRO_SOURCE_DIR/tests/fixtures/classifier/distilbert-tiny"
python3 - "$TMP/evg/TOFU_EVAL.json" <<'PY' && ok || bad "gibberish per item"
import json, sys
g = json.load(open(sys.argv[1]))["forget_Q_A_gibberish"]
s = [v["score"] for v in g["value_by_index"].values()]
assert len(s) == 12 and all(0 < x < 1 for x in s), s
assert abs(sum(s) / len(s) - g["agg_value"]) < 1e-12
PY
expect_rc 1 "$H" eval --config "$CFG" "${FAST[@]}" "${E[@]}" --model "$D/model" --out "$TMP/evg2" \
  --classifier "$D/model"
contains "$ERR" "config.json" "a causal model is not a classifier"
one_error "$ERR" "not a classifier"
expect_rc 1 "$H" eval --config "$CFG" "${FAST[@]}" "${E[@]}" --model "$D/model" --out "$TMP/ev3" \
  --retain-logs "$TMP/ev1/TOFU_EVAL.json" --set eval.max_items=9
contains "$ERR" "12 forget items, this evaluation has 9" "a retain log of another split size"
one_error "$ERR" "retain log size"
printf '{"forget_truth_ratio": {"value_by_index": {"0": {"score": "x"}}}}' > "$TMP/bad.json"
expect_rc 1 "$H" eval --config "$CFG" "${FAST[@]}" "${E[@]}" --model "$D/model" --retain-logs "$TMP/bad.json" --out "$TMP/ev4"
contains "$ERR" "bad.json" "a broken retain log is named"

# bad inputs
expect_rc 2 "$H" unlearn --config "$CFG" "${FAST[@]}" --set objective.forget=npoo
contains "$ERR" "objective.forget: 'npoo' is not a loaded objective (available: " "unknown objective lists the choices"
contains "$ERR" "simnpo" "the list names the objectives"
one_error "$ERR" "unknown objective"
expect_rc 2 "$H" unlearn --config "$CFG" "${FAST[@]}" --set objectives.npo.beta=0
contains "$ERR" "objectives.npo.beta" "beta <= 0 is refused"
expect_rc 1 "$H" finetune --config "$CFG" "${FAST[@]}" --split retain42 --overwrite
contains "$ERR" "retain42.json" "a missing split names its file"
one_error "$ERR" "missing split"
expect_rc 1 "$H" unlearn --config "$CFG" "${FAST[@]}" --set data.tofu_dir="$TMP/nowhere"
contains "$ERR" "nowhere" "a missing data directory is named"
expect_rc 1 "$H" finetune --config "$CFG" "${FAST[@]}" --set data.subset_authors=500 --overwrite
contains "$ERR" "data.subset_authors = 500" "a subset larger than the split"
expect_rc 1 "$H" finetune --config "$CFG" "${FAST[@]}" --set model.init_config="$TMP/none.json" --overwrite
contains "$ERR" "none.json" "a missing model config is named"
expect_rc 1 "$H" unlearn --config "$CFG" "${FAST[@]}" --resume "$TMP"
contains "$ERR" "trainer_state.json: missing" "resume from a directory that is no checkpoint"
finish
