#!/usr/bin/env python3
"""PyTorch peer of `baldro-device-check --bench` (scripts/device_check.sh runs both).

A randomly initialised transformers LlamaForCausalLM of the Llama-3.2-1B shape (hidden
2048, 16 layers, 32 heads, 8 KV heads, FFN 8192, vocab 128256, tied embeddings, llama3
rope scaling) in bf16 with sdpa attention, on one GPU:

  * training: forward with labels + backward + clip_grad_norm_(1.0) + AdamW step
    (torch.optim.AdamW, fused when available) + zero_grad, on --batch x --seq random
    tokens; warm-up steps, then timed steps each bracketed by torch.cuda.synchronize();
    tokens/s = batch*seq / median step, MFU with the same FLOP count as the C side:
        FLOPs/step = 6 * params * tokens + 6 * layers * hidden * seq^2 * batch
    (params counts the tied embedding once: it is the LM-head GEMM);
    peak memory = torch.cuda.max_memory_allocated() over the training steps;
  * generation: greedy model.generate of --gen-prompts prompts x --gen-new new tokens
    (min_new_tokens = max_new_tokens, so no row stops early), after a 4-token warm-up
    call; dynamic KV cache unless --cache static; peak memory of that phase.

Prints ONE JSON line on stdout. `--device cpu --small` runs a tiny shape on the CPU (a
syntax and plumbing check; its figures mean nothing).
"""

import argparse
import json
import statistics
import sys
import time
import warnings

BIG = dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32,
           num_key_value_heads=8, intermediate_size=8192, vocab_size=128256)
# The shape `baldro-device-check --backend cpu --bench` uses.
SMALL = dict(hidden_size=256, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, intermediate_size=1024, vocab_size=4096)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    ap.add_argument("--small", action="store_true", help="the small shape (CPU smoke test)")
    ap.add_argument("--dtype", choices=["bf16", "fp32", "amp"], default="bf16",
                    help="bf16 weights and compute (default); fp32; amp: fp32 weights and "
                    "optimizer under torch.autocast(bf16), the arithmetic of baldro's "
                    "runtime.precision = bf16 (bf16 GEMMs, fp32 master weights)")
    ap.add_argument("--batch", type=int)
    ap.add_argument("--seq", type=int)
    ap.add_argument("--steps", type=int, help="timed training steps")
    ap.add_argument("--warmup", type=int, help="untimed training steps first")
    ap.add_argument("--gen-prompts", type=int)
    ap.add_argument("--gen-prompt-len", type=int)
    ap.add_argument("--gen-new", type=int)
    ap.add_argument("--cache", choices=["dynamic", "static"], default="dynamic",
                    help="KV cache of model.generate")
    ap.add_argument("--phase", choices=["train", "gen", "both"], default="both")
    ap.add_argument("--peak-tflops", type=float, help="peak dense TFLOP/s for MFU")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    big = not a.small
    defaults = dict(batch=4 if big else 2, seq=512 if big else 128, steps=10 if big else 3,
                    warmup=2 if big else 1, gen_prompts=128 if big else 8,
                    gen_prompt_len=32 if big else 16, gen_new=200 if big else 16)
    for k, v in defaults.items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    return a


def peak_flops(name, override):
    """Dense bf16 tensor-core peak of the card (data sheets), or None."""
    if override:
        return override * 1e12
    if "H100" in name and "PCIe" in name:
        return 756e12
    if "H100" in name and "NVL" in name:
        return 835e12
    if any(s in name for s in ("H100", "H200", "H800")):
        return 989e12
    if "A100" in name:
        return 312e12
    return None


def main():
    args = parse_args()
    warnings.filterwarnings("ignore")
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("torch_step.py: torch sees no CUDA device")
    torch.manual_seed(args.seed)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    amp = args.dtype == "amp"

    def autocast():
        return torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=amp)
    shape = SMALL if args.small else BIG
    config = transformers.LlamaConfig(
        **shape,
        max_position_embeddings=131072,
        rms_norm_eps=1e-5,
        rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        tie_word_embeddings=True,
        initializer_range=0.02,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    t0 = time.perf_counter()
    with dev:  # build the weights where they will live (no 1B-parameter init on the CPU)
        try:
            model = transformers.LlamaForCausalLM._from_config(
                config, attn_implementation="sdpa", dtype=dtype)
        except TypeError:  # transformers 4.x spells it torch_dtype
            model = transformers.LlamaForCausalLM._from_config(
                config, attn_implementation="sdpa", torch_dtype=dtype)
    model.to(dev)
    open_s = time.perf_counter() - t0
    n_params = sum(p.numel() for p in model.parameters())  # tied weights counted once
    V, L, C = config.vocab_size, config.num_hidden_layers, config.hidden_size
    name = torch.cuda.get_device_name(dev) if cuda else "cpu"
    peak = peak_flops(name, args.peak_tflops)

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    result = {
        "impl": "pytorch",
        "device": name,
        "dtype": args.dtype,
        "shape": "small" if args.small else "llama-3.2-1b",
        "attn": model.config._attn_implementation,
        "params": n_params,
        "batch": args.batch,
        "seq": args.seq,
        "steps": args.steps,
        "warmup": args.warmup,
        "open_s": open_s,
        "peak_flops": peak,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }

    if args.phase in ("train", "both"):
        model.train()
        try:
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01,
                                    fused=cuda)
            result["optimizer"] = "AdamW(fused)" if cuda else "AdamW"
        except (RuntimeError, TypeError, ValueError):
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
            result["optimizer"] = "AdamW(foreach)"
        g = torch.Generator().manual_seed(args.seed + 1)
        ids = torch.randint(0, V, (args.batch, args.seq), generator=g).to(dev)

        def step():
            with autocast():
                out = model(input_ids=ids, labels=ids)  # HF shifts the labels inside
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            return out.loss

        if cuda:
            torch.cuda.reset_peak_memory_stats(dev)
        for _ in range(args.warmup):
            step()
        times = []
        loss = None
        for _ in range(args.steps):
            sync()
            s0 = time.perf_counter()
            loss = step()
            sync()
            times.append(time.perf_counter() - s0)
        st = statistics.median(times)
        tokens = args.batch * args.seq
        flops = 6.0 * n_params * tokens + 6.0 * L * C * args.seq ** 2 * args.batch
        result.update({
            "tokens_per_step": tokens,
            "train_step_s": st,
            "train_step_mean_s": statistics.mean(times),
            "train_steps_per_s": 1.0 / st,
            "train_tokens_per_s": tokens / st,
            "flops_per_step": flops,
            "flops_formula": "6*params*tokens + 6*layers*hidden*seq^2*batch",
            "train_tflops": flops / st / 1e12,
            "mfu": flops / st / peak if peak else None,
            "final_loss": float(loss),
            "train_peak_bytes": torch.cuda.max_memory_allocated(dev) if cuda else None,
        })
        del opt, ids
        model.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.empty_cache()

    if args.phase in ("gen", "both"):
        model.eval()
        g = torch.Generator().manual_seed(args.seed + 2)
        prompts = torch.randint(3, V, (args.gen_prompts, args.gen_prompt_len), generator=g).to(dev)
        mask = torch.ones_like(prompts)
        kw = dict(attention_mask=mask, do_sample=False, use_cache=True, pad_token_id=0)
        if args.cache == "static":
            kw["cache_implementation"] = "static"
        if cuda:
            torch.cuda.reset_peak_memory_stats(dev)
        with torch.no_grad(), autocast():
            model.generate(prompts, max_new_tokens=4, min_new_tokens=4, **kw)  # warm-up
            sync()
            s0 = time.perf_counter()
            out = model.generate(prompts, max_new_tokens=args.gen_new,
                                 min_new_tokens=args.gen_new, **kw)
            sync()
            dt = time.perf_counter() - s0
        made = (out.shape[1] - args.gen_prompt_len) * args.gen_prompts
        result.update({
            "gen_prompts": args.gen_prompts,
            "gen_prompt_len": args.gen_prompt_len,
            "gen_new": args.gen_new,
            "gen_tokens": made,
            "gen_s": dt,
            "gen_tokens_per_s": made / dt,
            "gen_cache": args.cache,
            "gen_peak_bytes": torch.cuda.max_memory_allocated(dev) if cuda else None,
        })

    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
