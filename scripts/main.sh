#!/usr/bin/env bash
# The main job on the embedded default (examples/tofu-tiny.cfg): set up, build, then the
# whole TOFU pipeline on the CPU: fine-tune a target model and its retain twin, evaluate
# both, unlearn the forget authors with NPO and with NPO + BalDRO, evaluate each, and
# write the summary tables and the HTML report.
#   ./scripts/main.sh            (from the repository root)
# Running it again skips every step whose inputs did not change (docs/pipeline.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
H=build/bin/baldro-host
start=$(date +%s)
echo
"$H" pipeline --config examples/tofu-tiny.cfg
echo
echo "Done in $(( $(date +%s) - start )) s. Open the report above in a browser (it needs no network);"
echo "docs/tutorial.md explains what each file holds and how to run a real comparison."
