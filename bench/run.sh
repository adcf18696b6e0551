#!/usr/bin/env bash
# Engine benchmark: baldro's C engine next to PyTorch + transformers, same sizes, same
# thread count, same machine, one after the other. Prints a Markdown table of ratios
# and writes every raw JSON line to bench/results/engine-<date>.jsonl.
#
#   bench/run.sh                       # tiny, small, medium on 2 threads
#   SIZES="tiny small" THREADS=1 ROUNDS=1 bench/run.sh
#
# The PyTorch side runs in $ORACLE_VENV (default ~/.cache/baldro/oracle-venv, created
# from tests/oracle/requirements.txt if missing). Training and generation run in
# separate processes so that each peak RSS belongs to one phase.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
threads=${THREADS:-2}
sizes=${SIZES:-tiny small medium}
venv=${ORACLE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/baldro/oracle-venv}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBALDRO_BUILD_TESTS=OFF \
      -DBALDRO_CUDA=OFF > /dev/null
ninja -C "$build" bench_engine models_llama > /dev/null
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet -r "$root/tests/oracle/requirements.txt"
fi

mkdir -p "$root/bench/results"
out="$root/bench/results/engine-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
args_for() { # size -> common arguments
    case $1 in
        tiny) echo "--batch 4 --seq 256 --steps 20 --warmup 3 --gen-prompts 8 --gen-prompt-len 32 --gen-new 64" ;;
        small) echo "--batch 4 --seq 256 --steps 4 --warmup 1 --gen-prompts 8 --gen-prompt-len 32 --gen-new 32" ;;
        medium) echo "--batch 4 --seq 256 --steps 3 --warmup 1 --gen-prompts 8 --gen-prompt-len 32 --gen-new 32" ;;
    esac
}
rounds=${ROUNDS:-3}
# Rounds alternate the two sides so that both see the same machine conditions; the
# table keeps each side's best round (shared 2-core VMs vary by 2x minute to minute).
for r in $(seq "$rounds"); do
    for s in $sizes; do
        a=$(args_for "$s")
        for phase in train gen; do
            echo "bench: round $r/$rounds $s $phase (baldro)" >&2
            "$build/bench/bench_engine" --size "$s" --threads "$threads" $a --phase $phase >> "$out"
            echo "bench: round $r/$rounds $s $phase (pytorch)" >&2
            "$venv/bin/python" "$root/bench/torch_engine.py" --size "$s" --threads "$threads" $a \
                --phase $phase 2>/dev/null | tail -1 >> "$out"
        done
    done
done
python3 "$root/bench/table.py" "$out"
echo "raw results: $out" >&2
