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
echo; echo "== pipeline on the embedded default (dry run) =="
"$H" pipeline --dry-run
cat <<'MSG'

Done. This is the furthest step that exists: plugins load, the configuration resolves
(see runs/default/config.resolved.cfg) and the objective plugins pass their contract check.
Next: the compute engine and the Llama model plugin (issue #3), checkpoints and tokenizers
(#4), then unlearning (#5) and evaluation (#6), which make this pipeline run for real.
MSG
