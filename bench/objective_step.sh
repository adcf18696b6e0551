#!/usr/bin/env bash
# One unlearning step of every forget objective on the same batch (the first micro-batch
# of epoch 1 under run.seed) of the embedded demo's fine-tuned target, BalDRO off and on:
# the step's forget term, retain term and total loss, from each run's metrics.jsonl.
#   bench/objective_step.sh [TARGET_MODEL_DIR]   (default: runs/tofu-tiny/finetune-full/model,
#                                                 which scripts/main.sh writes)
set -euo pipefail
cd "$(dirname "$0")/.."
H=build/bin/baldro-host
M=${1:-runs/tofu-tiny/finetune-full/model}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
printf '%-12s %-5s %14s %14s %14s\n' objective mode forget retain loss
for obj in grad_ascent grad_diff npo simnpo dpo wga tnpo wtnpo satimp; do
  for mode in none dv; do
    "$H" -q unlearn --config examples/tofu-tiny.cfg --set model.path="$M" --set model.tokenizer= \
      --set objective.forget=$obj --set baldro.mode=$mode --set trainer.epochs=1 \
      --set trainer.grad_accum=1 --out "$OUT/$obj-$mode" >/dev/null 2>"$OUT/err" ||
      { echo "$obj $mode failed: $(cat "$OUT/err")"; continue; }
    head -1 "$OUT/$obj-$mode/metrics.jsonl" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
print("%-12s %-5s %14.6g %14.6g %14.6g" % (sys.argv[1], sys.argv[2], d["forget"], d["retain"], d["loss"]))' "$obj" "$mode"
  done
done
