#!/usr/bin/env bash
# TOFU evaluation time on the embedded demo's target (the issue's benchmark): forget10 +
# retain_perturbed + real authors + world facts (+ holdout10 for privleak), up to 200 new
# tokens, next to PyTorch + transformers doing the same scoring and generation
# (bench/eval_peer.py) in the same run, on the same threads.
#   bench/eval_tofu.sh [MODEL_DIR]   (default: runs/tofu-tiny/finetune-full/model, which
#                                     scripts/main.sh writes)   PYTHON=/path/to/venv/python
set -euo pipefail
cd "$(dirname "$0")/.."
H=build/bin/baldro-host
M=${1:-runs/tofu-tiny/finetune-full/model}
PY=${PYTHON:-python3}
T=${THREADS:-2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
EV=(--config examples/tofu-tiny.cfg --set data.forget_split=forget10 --set eval.batch_size=32
    --set eval.max_new_tokens=200 --model "$M")
secs() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
full=$(OMP_NUM_THREADS=$T secs "$H" -q eval "${EV[@]}" --out "$OUT/full")
score=$(OMP_NUM_THREADS=$T secs "$H" -q eval "${EV[@]}" --set eval.max_new_tokens=1 --out "$OUT/s")
peer=$("$PY" bench/eval_peer.py "$M" ../shared/data/tofu --forget forget10 --threads "$T" \
       --batch 32 --gen-batch 32 --max-new 200)
python3 - "$full" "$score" "$peer" <<'PY'
import json, sys
full, score, peer = float(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
gen = full - score
print("%-34s %10s %10s %8s" % ("", "baldro", peer["peer"], "ratio"))
print("%-34s %9.1fs %9.1fs %7.2fx" % ("scoring (+ metrics, load)", score, peer["scoring_s"], peer["scoring_s"] / score))
print("%-34s %9.1fs %9.1fs %7.2fx" % ("generation (200 new tokens max)", gen, peer["generation_s"], peer["generation_s"] / gen))
print("%-34s %9.1fs %9.1fs %7.2fx" % ("whole evaluation", full, peer["total_s"], peer["total_s"] / full))
PY
