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
FAST=(--set run.output_dir="$TMP/runs" --set data.subset_authors=1 --set trainer.epochs=1)

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
