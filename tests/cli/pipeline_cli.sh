#!/usr/bin/env bash
# `baldro-host pipeline` as a user runs it, on the demo's tiny model with one retain
# author and one epoch everywhere: the layout, the summary tables, steps skipped when
# their inputs are unchanged (and only those re-run whose inputs changed), shared steps
# across a sweep, resume of an interrupted training step, and bad sweeps as one line.
. "$(dirname "$0")/lib.bash"
: "${BALDRO_HOST:?}" "${BALDRO_SOURCE_DIR:?}"
H="$BALDRO_HOST"
unset BALDRO_PLUGIN_PATH BALDRO_LOG
cd "$BALDRO_SOURCE_DIR"
CFG=examples/tofu-tiny.cfg
X="$TMP/runs/tofu-tiny"
FAST=(--set run.output_dir="$TMP/runs" --set data.subset_authors=1 --set trainer.epochs=1
      --set finetune.epochs=1 --set eval.max_new_tokens=8 --set eval.max_items=4
      --set trainer.save_every=2)

# the dry run names every step once, shared ones at the experiment's top level
expect_rc 0 "$H" pipeline --config "$CFG" "${FAST[@]}" --dry-run
contains "$OUT" "experiment  $X: 2 runs" "the sweep in the demo config has two points"
contains "$OUT" "finetune-full    $X/finetune-full" "the target is shared by the sweep"
contains "$OUT" "unlearn          $X/mode-none/unlearn" "unlearning is per run"
[ ! -e "$X" ] && ok || bad "a dry run writes nothing"

# the whole loop
expect_rc 0 "$H" pipeline --config "$CFG" "${FAST[@]}"
for f in pipeline.json summary.csv summary.md summary.json finetune-full/step.json \
         finetune-full/model/config.json finetune-retain99/model/config.json \
         eval-retain/TOFU_SUMMARY.json eval-target/TOFU_SUMMARY.json \
         mode-none/run.json mode-none/config.resolved.cfg mode-none/unlearn/dro.jsonl \
         mode-dv/eval-unlearn/TOFU_EVAL.json; do
  [ -f "$X/$f" ] && ok || bad "missing $X/$f"
done
[ "$(grep -c '"status" : "done"' "$X/mode-dv/run.json")" -eq 1 ] && ok || bad "run.json says done"
grep -q '"eval-retain" : "../eval-retain"' "$X/mode-dv/run.json" && ok || bad "run.json paths are relative: $(cat "$X/mode-dv/run.json")"
# summary: a header, the two runs and the two reference models
[ "$(wc -l < "$X/summary.csv")" -eq 5 ] && ok || bad "summary.csv rows: $(cat "$X/summary.csv")"
head -1 "$X/summary.csv" | grep -q '^run,baldro.mode,status,forget_quality,model_utility,forget_truth_ratio,forget_prob,' && ok || bad "summary.csv header: $(head -1 "$X/summary.csv")"
grep -q '^mode-dv,dv,done,[0-9]' "$X/summary.csv" && ok || bad "summary.csv has the dv run's figures"
grep -q '^retain,,reference,1,' "$X/summary.csv" && ok || bad "the retain model is the forget-quality reference"
contains "$OUT" "| mode-none | none | done |" "the Markdown table is printed"
contains "$OUT" "pipeline: 2 runs, 0 failed" "closing line"
contains "$OUT" "report: $X/report.html" "ends with where the report is"
grep -q '<svg' "$X/report.html" && ! grep -q 'http' "$X/report.html" && ok || bad "report.html: inline SVG, no network"
cp "$X/mode-dv/unlearn/metrics.jsonl" "$TMP/dv-metrics"

# nothing changed: every step is skipped (and no report when asked not to)
rm "$X/report.html"
expect_rc 0 "$H" pipeline --config "$CFG" "${FAST[@]}" --set pipeline.report=false
[ ! -e "$X/report.html" ] && ok || bad "pipeline.report = false writes no report"
[ "$(printf '%s\n' "$OUT" | grep -c 'up to date')" -eq 8 ] && ok || bad "8 steps up to date: $OUT"
not_contains "$ERR" "finetune:" "no training on a second run"

# an evaluation setting changed: the four evaluations run, training does not
expect_rc 0 "$H" pipeline --config "$CFG" "${FAST[@]}" --set eval.max_new_tokens=9
[ "$(printf '%s\n' "$OUT" | grep -c 'up to date')" -eq 4 ] && ok || bad "4 training steps up to date: $OUT"
contains "$OUT" "eval-retain      evaluate the retain model" "eval-retain ran again"

# interrupted unlearning (the record says running, a checkpoint exists): it resumes
sed -i 's/"status" : "done"/"status" : "running"/' "$X/mode-dv/unlearn/step.json"
rm -rf "$X/mode-dv/unlearn/model"
expect_rc 0 "$H" pipeline --config "$CFG" "${FAST[@]}" --set eval.max_new_tokens=9
contains "$OUT" "unlearn          unlearn, resuming from $X/mode-dv/unlearn/checkpoint-" "resumes from the last checkpoint"
cmp -s <(cut -d, -f1-5 "$TMP/dv-metrics") <(cut -d, -f1-5 "$X/mode-dv/unlearn/metrics.jsonl") && ok || bad "resumed losses differ"

# a sweep on the command line: a seed axis gives mean and spread
# (the fine-tuned models of the first experiment are brought in: no fine-tuning here)
GIVEN=(--set pipeline.target_model="$X/finetune-full/model" --set pipeline.retain_model="$X/finetune-retain99/model")
expect_rc 0 "$H" pipeline --config "$CFG" "${FAST[@]}" "${GIVEN[@]}" --set run.name=seeds \
  --sweep baldro.mode=dv --sweep run.seed=1,2
S="$TMP/runs/seeds"
[ -d "$S/mode-dv_seed-1" ] && [ -d "$S/mode-dv_seed-2" ] && ok || bad "one directory per seed: $(ls "$S")"
[ "$(printf '%s\n' "$OUT" | grep -c 'evaluate the target model')" -eq 1 ] && ok || bad "one target evaluation for both seeds"
not_contains "$OUT" "fine-tune the" "brought models are not fine-tuned"
grep -q "\"finetune-target\" : \"$X/finetune-full/model\"" "$S/mode-dv_seed-1/run.json" && ok || bad "run.json names the brought target"
grep -q '"n" : 2' "$S/summary.json" && ok || bad "summary.json groups the two seeds: $(cat "$S/summary.json")"
contains "$(cat "$S/summary.md")" "Mean ± sample standard deviation over run.seed" "the Markdown table has the seed groups"

# bad sweeps: one line each, exit 2, nothing run
expect_rc 2 "$H" pipeline --config "$CFG" "${FAST[@]}" --set 'sweep=({key="baldro.taux"; values=[1.0];})'
contains "$ERR" "sweep[0]: key: unknown setting 'baldro.taux'" "unknown swept key"
one_error "$ERR" "unknown swept key"
expect_rc 2 "$H" pipeline --config "$CFG" "${FAST[@]}" --set 'sweep=({key="baldro.tau"; values=["a"];})'
contains "$ERR" "values[0]: baldro.tau expects a float, got a string" "wrong value type"
one_error "$ERR" "wrong value type"
expect_rc 2 "$H" pipeline --config "$CFG" "${FAST[@]}" --sweep baldro.tau=1,-1
contains "$ERR" "sweep point mode-none_tau--1" "an out-of-range value names its point"
contains "$ERR" "baldro.tau: must be > 0" "and the rule"
one_error "$ERR" "out-of-range sweep value"
expect_rc 2 "$H" pipeline --config "$CFG" "${FAST[@]}" --sweep run.name=a,b
contains "$ERR" "'run.name' is not a setting that can be swept" "run.name cannot be swept"
expect_rc 2 "$H" pipeline --config "$CFG" "${FAST[@]}" --sweep baldro.tau
contains "$ERR" "expected KEY=V1,V2" "--sweep without values"
expect_rc 2 "$H" pipeline --config "$CFG" "${FAST[@]}" --set pipeline.target_model="$TMP/none"
contains "$ERR" "pipeline.target_model: $TMP/none: no such file or directory" "a missing target model"
one_error "$ERR" "missing target model"

# a swept objective that is not loaded is found before anything runs
expect_rc 2 "$H" pipeline --config "$CFG" "${FAST[@]}" --set run.name=typo --sweep objective.forget=npo,npx
contains "$ERR" "sweep point mode-none_forget-npx: --set: objective.forget: 'npx' is not a loaded objective" "unknown objective"
one_error "$ERR" "unknown objective"
[ ! -e "$TMP/runs/typo" ] && ok || bad "nothing ran"

# a run that fails (a learning rate that overflows) is recorded, the others go on, exit 1; running again retries only it
expect_rc 1 "$H" pipeline --config "$CFG" "${FAST[@]}" "${GIVEN[@]}" --set run.name=fails \
  --sweep baldro.mode=dv --sweep trainer.lr=1e-3,1e30
F="$TMP/runs/fails"
contains "$OUT" "pipeline: 2 runs, 1 failed" "one of two runs failed"
grep -q '"status" : "failed: unlearn"' "$F/mode-dv_lr-1e30/run.json" && ok || bad "run.json records the failure"
grep -q '^mode-dv_lr-1e-3,dv,1e-3,done,[0-9]' "$F/summary.csv" && ok || bad "the finished runs are in the summary: $(cat "$F/summary.csv")"
[ "$(printf '%s\n' "$ERR" | grep -c '^baldro-host: unlearn: step 3 (epoch 1): the npo loss is not finite')" -eq 1 ] && ok || bad "the failed run's own error line: $ERR"
not_contains "$ERR" "baldro-host: pipeline:" "no second error line for a failed step"
expect_rc 1 "$H" pipeline --config "$CFG" "${FAST[@]}" "${GIVEN[@]}" --set run.name=fails \
  --sweep baldro.mode=dv --sweep trainer.lr=1e-3,1e30
[ "$(printf '%s\n' "$OUT" | grep -c 'up to date')" -eq 4 ] && ok || bad "finished steps are not redone: $OUT"

# a corrupt step record is an error naming the file, not a silent re-run
echo '{"status": 3}' > "$X/eval-retain/step.json"
expect_rc 1 "$H" pipeline --config "$CFG" "${FAST[@]}" --set eval.max_new_tokens=9
contains "$ERR" "$X/eval-retain/step.json: status: missing or not a string" "corrupt step.json"
one_error "$ERR" "corrupt step.json"
finish
