#!/usr/bin/env bash
# The main job on the embedded default configuration: set up, build, then run the
# furthest step of the pipeline that exists today.
#   ./scripts/main.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
H=build/bin/baldro-host

echo; echo "== plugins =="
"$H" plugins
echo; echo "== objective contract check =="
"$H" check
echo; echo "== compute engine: a random tiny Llama trains (forward, backward, AdamW) and generates =="
build/bench/bench_engine --size tiny --threads "$(nproc)" --batch 4 --seq 256 --steps 5 --warmup 1 \
    --gen-prompts 8 --gen-prompt-len 32 --gen-new 32 --gen-reps 1
echo; echo "== pipeline on the embedded default (dry run) =="
"$H" pipeline --dry-run
cat <<'MSG'

Done. This is the furthest step that exists: plugins load, the objective plugins pass their
contract check, the compute engine trains and generates with the Llama-family plugin (checked
against PyTorch in the tests; speed in docs/performance.md), and the configuration resolves
(see runs/default/config.resolved.cfg). Checkpoints (HF directories, llama2.c, GGUF),
tokenizers and chat templates are in (`baldro-host convert`, `baldro-host generate`). Next:
unlearning (#5) and evaluation (#6), which make this pipeline run for real.
MSG
