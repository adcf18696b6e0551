#!/usr/bin/env bash
# The device check, one command on a GPU machine (see docs/cuda.md, "The device check"):
#
#   scripts/device_check.sh
#
#   1. configures and builds a Release build with -DBALDRO_CUDA=ON in build-device/
#      (only baldro-device-check and the llama plugin; no Criterion needed);
#   2. baldro-device-check --backend cuda --precision fp32, then --precision bf16: every
#      op, a training step and greedy generation against the CPU backend (exit 1 here if
#      anything FAILs in either);
#   3. baldro-device-check --backend cuda --bench (bf16 GEMMs, as the PyTorch peer): the
#      Llama-3.2-1B-shaped training step and 128 x 200 greedy decoding;
#   4. bench/torch_step.py, the PyTorch peer (bf16, sdpa, fused AdamW), when torch with
#      CUDA can be imported or installed (pip, only when an index answers);
#   5. prints one Markdown table (metric, baldro, PyTorch, ratio) for docs/performance.md.
#
# Everything lands in device-check-results/ (raw output, JSON, the table). Each stage runs
# under `timeout` (build 100 + 200 s, checks 90 s each, bench 180 s, PyTorch 120 s, its
# pip install only before 200 s); the whole is meant to take 3-5 minutes on an H100, and
# no stage starts after DEADLINE seconds (default 300), so it ends within about 7 minutes
# even when every stage runs to its timeout. Environment: PYTHON (default python3), CUDA_ARCH
# (default: the card's compute capability), BATCH (default 4), SKIP_TORCH=1, BUILD_DIR,
# OUT_DIR.
# Exit status: 1 if the check failed, 2 if the build failed, 3 if the benchmark failed,
# else 0.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$root/build-device}
out=${OUT_DIR:-$root/device-check-results}
py=${PYTHON:-python3}
deadline=${DEADLINE:-300}
mkdir -p "$out"
SECONDS=0
log() { printf '[device-check %3ds] %s\n' "$SECONDS" "$*" >&2; }
late() { [ "$SECONDS" -ge "$deadline" ]; }

# ---- the card ---------------------------------------------------------------------------
card="unknown GPU"
if command -v nvidia-smi > /dev/null; then
    nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
    card=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
           2> /dev/null | head -1)
    [ -n "$card" ] || card="unknown GPU"
    cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -1 | tr -d ' .')
fi
arch=${CUDA_ARCH:-${cc:-}}
log "card: $card${arch:+ (sm_$arch)}"

# ---- 1. build ---------------------------------------------------------------------------
gen=()
command -v ninja > /dev/null && [ ! -f "$build/CMakeCache.txt" ] && gen=(-G Ninja)
cfg=(-DCMAKE_BUILD_TYPE=Release -DBALDRO_CUDA=ON -DBALDRO_BUILD_TESTS=OFF
     -DBALDRO_BUILD_BENCH=OFF)
[[ "$arch" =~ ^[0-9]+$ ]] && cfg+=("-DCMAKE_CUDA_ARCHITECTURES=$arch")
log "building $build"
if ! { timeout 100 cmake -S "$root" -B "$build" "${gen[@]}" "${cfg[@]}" &&
       timeout 200 cmake --build "$build" -j "$(nproc)" --target baldro-device-check models_llama
     } > "$out/build.log" 2>&1; then
    tail -40 "$out/build.log" >&2
    log "BUILD FAILED (full log: $out/build.log)"
    exit 2
fi
exe="$build/bin/baldro-device-check"

# ---- 2. the checks, fp32 then bf16 ------------------------------------------------------
check_rc=0
for prec in fp32 bf16; do
    sfx=$([ "$prec" = fp32 ] && echo "" || echo "-bf16")
    if late; then
        log "skipping the $prec check: past the ${deadline}s deadline"
        check_rc=1
        continue
    fi
    log "check ($prec GEMMs): ops, training step, generation vs the CPU backend"
    timeout 90 "$exe" --backend cuda --precision "$prec" --json "$out/check$sfx.json" 2>&1 |
        tee "$out/check$sfx.txt"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        check_rc=1
        log "CHECK FAILED ($prec, exit $rc): the FAIL rows above; $out/check$sfx.txt"
        grep -E ' FAIL' "$out/check$sfx.txt" >&2 || true
    fi
done

# ---- 3. the benchmark -------------------------------------------------------------------
bench_rc=0
if late; then
    log "skipping the benchmark: past the ${deadline}s deadline"
    bench_rc=124
else
    log "bench: Llama-3.2-1B shape, bf16 GEMMs, batch ${BATCH:-4} x 512; greedy 128 x 200"
    timeout 180 "$exe" --backend cuda --bench --precision bf16 --batch "${BATCH:-4}" \
        --json "$out/bench.json" \
        2>&1 | tee "$out/bench.txt"
    bench_rc=${PIPESTATUS[0]}
    [ "$bench_rc" -eq 0 ] || log "BENCH FAILED (exit $bench_rc)"
fi

# ---- 4. the PyTorch peer ----------------------------------------------------------------
rm -f "$out/torch.json"
torch_note=""
have_torch() { "$py" -c 'import torch, transformers, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
               > /dev/null 2>&1; }
if [ "${SKIP_TORCH:-0}" = 1 ]; then
    torch_note="skipped (SKIP_TORCH=1)"
elif ! command -v "$py" > /dev/null; then
    torch_note="skipped: no $py"
elif late; then
    torch_note="skipped: past the ${deadline}s deadline"
else
    if ! have_torch && [ "$SECONDS" -lt 200 ]; then
        # Only when a package index answers (this machine may have no network at all).
        if timeout 15 "$py" -m pip download --no-deps --only-binary :all: --dest "$out/.pipcheck" \
               six > /dev/null 2>&1; then
            log "installing torch and transformers with pip"
            timeout 150 "$py" -m pip install --quiet torch transformers > "$out/pip.log" 2>&1 ||
                log "pip install failed (see $out/pip.log)"
        fi
        rm -rf "$out/.pipcheck"
    fi
    if have_torch; then
        log "PyTorch peer: bench/torch_step.py"
        timeout 120 "$py" "$root/bench/torch_step.py" --device cuda --batch "${BATCH:-4}" \
            > "$out/torch.json" 2> "$out/torch.err"
        trc=$?
        if [ "$trc" -ne 0 ] || [ ! -s "$out/torch.json" ]; then
            tail -5 "$out/torch.err" >&2
            torch_note="failed (exit $trc; $out/torch.err)"
            rm -f "$out/torch.json"
        else
            cat "$out/torch.json"
        fi
    else
        torch_note="skipped: no torch with CUDA for $py and no package index reachable"
    fi
fi
[ -z "$torch_note" ] || log "PyTorch peer $torch_note"

# ---- 5. the table -----------------------------------------------------------------------
if command -v "$py" > /dev/null; then
    CARD="$card" TORCH_NOTE="$torch_note" OUT="$out" "$py" - << 'EOF' | tee "$out/table.md"
import json, os, time
out = os.environ["OUT"]
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None
chk, chk16 = load("check.json"), load("check-bf16.json")
bench, pt = load("bench.json"), load("torch.json")
b = (bench or {}).get("bench", {})
t = pt or {}
GiB = 1024.0 ** 3
def fmt(v, kind):
    if v is None:
        return "n/a"
    if kind == "bytes":
        return "%.2f GiB" % (v / GiB)
    if kind == "pct":
        return "%.1f%%" % (100 * v)
    if kind == "s":
        return "%.3f s" % v
    if kind == "int":
        return "{:,.0f}".format(v)
    return "%.3g" % v
rows = [
    ("train tokens/s (fwd+bwd+AdamW)", "train_tokens_per_s", "int"),
    ("train steps/s", "train_steps_per_s", "num"),
    ("train step, median", "train_step_s", "s"),
    ("model TFLOP/s", "train_tflops", "num"),
    ("MFU (vs dense bf16 peak)", "mfu", "pct"),
    ("peak memory, training", "train_peak_bytes", "bytes"),
    ("decode tokens/s (greedy)", "gen_tokens_per_s", "int"),
    ("decode wall", "gen_s", "s"),
    ("peak memory, decoding", None, "bytes"),
]
print()
print("**Device check on %s** (%s)." % (os.environ["CARD"], time.strftime("%Y-%m-%d")))
for c, name in ((chk, "check.txt"), (chk16, "check-bf16.txt")):
    if c:
        print("Op/step/generation check against the CPU backend, %s GEMMs: %d comparisons, "
              "%d FAIL, %d ties, %d info rows (backend %s, act_dtype %s, tolerance %g)." % (
                  c.get("precision", "fp32"), c["n_checks"], c["n_fail"], c["n_ties"],
                  c.get("n_info", 0), c["backend"], c["act_dtype"], c["tol"]))
    else:
        print("Op check: no result (see %s)." % name)
print()
print("Shape %s (hidden %s, %s layers, %s/%s heads, FFN %s, vocab %s, tied embeddings), "
      "batch %s x seq %s; decoding %s prompts of %s tokens + %s new. baldro: %s GEMMs "
      "(fp32 master weights and activations); PyTorch in %s (sdpa, %s, %s KV cache)." % (
          b.get("shape", "?"), b.get("hidden", "?"), b.get("layers", "?"), b.get("heads", "?"),
          b.get("kv_heads", "?"), b.get("intermediate", "?"), b.get("vocab", "?"),
          b.get("batch", "?"), b.get("seq", "?"), b.get("gen_prompts", "?"),
          b.get("gen_prompt_len", "?"), b.get("gen_new", "?"),
          (bench or {}).get("precision", "?"), t.get("dtype", "?"), t.get("optimizer", "AdamW"),
          t.get("gen_cache", "?")))
print()
print("| metric | baldro | PyTorch | ratio |")
print("|---|---|---|---|")
for label, key, kind in rows:
    if key is None:  # baldro: the arena's live bytes while decoding (the planned block)
        bv, tv = b.get("gen_live_bytes"), t.get("gen_peak_bytes")
    else:
        bv, tv = b.get(key), t.get(key)
    ratio = "%.2fx" % (bv / tv) if isinstance(bv, (int, float)) and isinstance(tv, (int, float)) and tv else "n/a"
    print("| %s | %s | %s | %s |" % (label, fmt(bv, kind), fmt(tv, kind), ratio))
print()
print("Ratio = baldro / PyTorch (above 1 is better for rates, worse for times and memory). "
      "FLOPs/step = 6 * params * tokens + 6 * layers * hidden * seq^2 * batch "
      "(params %s; tied embedding counted once). baldro memory: the backend's peak bytes "
      "(planned: model + optimizer %s; card in use %s); PyTorch: "
      "torch.cuda.max_memory_allocated()." % (
          fmt(b.get("params"), "int"), fmt(b.get("train_planned_bytes"), "bytes"),
          fmt(b.get("train_device_used_bytes"), "bytes")))
if os.environ.get("TORCH_NOTE"):
    print("PyTorch peer: %s." % os.environ["TORCH_NOTE"])
EOF
else
    log "no $py: raw results only, in $out"
fi
log "done in ${SECONDS}s; results in $out"

if [ "$check_rc" -ne 0 ]; then exit 1; fi
if [ "$bench_rc" -ne 0 ]; then exit 3; fi
exit 0
