#!/usr/bin/env bash
# The main job on the embedded default (examples/tofu-tiny.cfg): set up, build, then the
# TOFU story end to end on the CPU: fine-tune a target model, fine-tune its retain twin,
# unlearn the forget authors from the target with NPO + BalDRO.
#   ./scripts/main.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
H=build/bin/baldro-host
CFG=examples/tofu-tiny.cfg
RUN=runs/tofu-tiny
start=$(date +%s)

echo; echo "== plugins =="
"$H" plugins
echo; echo "== objective contract check =="
"$H" check
echo; echo "== 1. fine-tune the target model (8 retain authors + the 2 forget01 authors) =="
"$H" finetune --config "$CFG" --overwrite
echo; echo "== 2. fine-tune its retain twin (the 8 retain authors only) =="
"$H" finetune --config "$CFG" --split retain99 --overwrite
echo; echo "== 3. unlearn forget01 from the target: NPO + BalDRO (dv) + NLL on retain =="
"$H" unlearn --config "$CFG" --set model.path="$RUN/finetune-full/model" --set model.tokenizer= \
    --set trainer.epochs=10 --set trainer.lr=1e-3 --overwrite
echo; echo "== 4. evaluate on TOFU: retain twin (the reference), target, unlearned =="
EV=(--config "$CFG" --set eval.max_new_tokens=64 --set eval.batch_size=32)
"$H" eval "${EV[@]}" --model "$RUN/finetune-retain99/model" --out "$RUN/eval-retain"
for m in finetune-full unlearn; do
  echo "-- $m"
  "$H" eval "${EV[@]}" --model "$RUN/$m/model" --out "$RUN/eval-$m" \
      --retain-logs "$RUN/eval-retain/TOFU_EVAL.json" | grep -E "forget_|model_utility|privleak|extraction"
done
echo
echo "== what the target says about a forget author, before and after =="
Q="What is the full name of the author born in Kuwait City, Kuwait on 08/09/1956?"
echo "question: $Q"
printf 'target:    '; "$H" generate --model "$RUN/finetune-full/model" --template plain --prompt "$Q" -n 40 2>/dev/null
printf 'unlearned: '; "$H" generate --model "$RUN/unlearn/model" --template plain --prompt "$Q" -n 40 2>/dev/null
cat <<MSG

Done in $(( $(date +%s) - start )) s. Outputs in $RUN/: finetune-full/, finetune-retain99/ and
unlearn/, each with model/ (an HF directory transformers loads), metrics.jsonl and, for
unlearn, dro.jsonl (per-sample losses and BalDRO weights) and the cached reference
log-probs; eval-*/ hold TOFU_EVAL.json and TOFU_SUMMARY.json (forget quality against the
retain twin).
MSG
