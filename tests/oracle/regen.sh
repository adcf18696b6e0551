#!/usr/bin/env bash
# Regenerate the engine fixtures (tests/fixtures/engine/<case>/) from the
# PyTorch / transformers oracle, deterministically.
#
#   tests/oracle/regen.sh            # create/refresh the venv, rewrite fixtures
#   tests/oracle/regen.sh --check    # regenerate into a temp dir and diff
#                                    # against the committed fixtures
#
# The venv lives outside the repository, in $ORACLE_VENV (default
# ~/.cache/baldro/oracle-venv); point ORACLE_VENV at an existing venv that
# already has the pinned packages to skip the (large: torch) download.
# Extra arguments go to engine_oracle.py (e.g. --only llama_gqa).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/../fixtures/engine"
venv=${ORACLE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/baldro/oracle-venv}

check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$here/requirements.txt"

# Single-threaded, CPU only, no hub access: the fixtures must not depend on
# thread scheduling or anything downloaded.
export PYTHONHASHSEED=0 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export CUDA_VISIBLE_DEVICES="" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false

if [ "$check" = 1 ]; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$venv/bin/python" "$here/engine_oracle.py" --out "$tmp" "$@"
    diff -r "$out" "$tmp" && echo "fixtures up to date"
else
    "$venv/bin/python" "$here/engine_oracle.py" --out "$out" "$@"
fi
# The inspection commands' fixtures (tests/fixtures/inspect/), on the engine's
# llama3_rope_tied case and stories260K.
if [ "$check" = 1 ]; then
    "$venv/bin/python" "$here/inspect_oracle.py" --check
else
    "$venv/bin/python" "$here/inspect_oracle.py"
fi
