#!/usr/bin/env python3
"""PyTorch side of the engine benchmark (see bench/README.md).

Measures, for a randomly initialised Llama-shaped model in fp32 on CPU:
  * training: forward with labels + backward + AdamW step + zero_grad,
    tokens/s = batch*seq / median step time;
  * generation: greedy model.generate with KV cache, generated tokens/s =
    prompts*new / median time of --gen-reps calls after one warm-up call;
  * peak RSS of the process (ru_maxrss).
Prints ONE JSON line on stdout.  Use --phase train|gen to measure the RSS of
one phase in its own process.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
import warnings

SIZES = {
    # hidden, layers, heads, kv heads, intermediate, vocab
    "tiny": dict(hidden_size=64, num_hidden_layers=5, num_attention_heads=8,
                 num_key_value_heads=4, intermediate_size=192, vocab_size=512),
    "small": dict(hidden_size=512, num_hidden_layers=8, num_attention_heads=8,
                  num_key_value_heads=4, intermediate_size=1376, vocab_size=32000),
    "medium": dict(hidden_size=1024, num_hidden_layers=12, num_attention_heads=16,
                   num_key_value_heads=8, intermediate_size=2752, vocab_size=32000),
}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10, help="timed training steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed training steps first")
    ap.add_argument("--gen-prompts", type=int, default=4)
    ap.add_argument("--gen-prompt-len", type=int, default=32)
    ap.add_argument("--gen-new", type=int, default=32)
    ap.add_argument("--gen-reps", type=int, default=3,
                    help="timed generate calls after one warm-up (median)")
    ap.add_argument("--phase", choices=["train", "gen", "both"], default="both")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args()


def main():
    args = parse_args()
    # Thread count must be fixed before torch spins up its pools.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    warnings.filterwarnings("ignore")

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    # RSS of the interpreter + torch + transformers alone, for reference
    import_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    config = transformers.LlamaConfig(
        **SIZES[args.size],
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        rms_norm_eps=1e-5,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    model = transformers.LlamaForCausalLM._from_config(
        config, attn_implementation="sdpa", dtype=torch.float32)
    n_params = sum(p.numel() for p in model.parameters())
    V = config.vocab_size

    result = {
        "impl": "pytorch",
        "size": args.size,
        "threads": args.threads,
        "batch": args.batch,
        "seq": args.seq,
        "phase": args.phase,
        "params": n_params,
        "attn": model.config._attn_implementation,
        "train_tokens_per_s": None,
        "train_step_s": None,
        "gen_tokens_per_s": None,
        "gen_s": None,
        "gen_prompts": args.gen_prompts,
        "gen_prompt_len": args.gen_prompt_len,
        "gen_new": args.gen_new,
        "gen_reps": args.gen_reps,
    }

    if args.phase in ("train", "both"):
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        g = torch.Generator().manual_seed(args.seed + 1)
        ids = torch.randint(0, V, (args.batch, args.seq), generator=g)

        def step():
            out = model(input_ids=ids, labels=ids)   # HF shifts labels inside
            out.loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        st = statistics.median(times)
        result["train_step_s"] = st
        result["train_tokens_per_s"] = args.batch * args.seq / st
        del opt
        model.zero_grad(set_to_none=True)

    if args.phase in ("gen", "both"):
        model.eval()
        g = torch.Generator().manual_seed(args.seed + 2)
        prompts = torch.randint(3, V, (args.gen_prompts, args.gen_prompt_len), generator=g)
        mask = torch.ones_like(prompts)
        kw = dict(attention_mask=mask, do_sample=False, max_new_tokens=args.gen_new,
                  min_new_tokens=args.gen_new, use_cache=True, pad_token_id=0)
        with torch.no_grad():
            out = model.generate(prompts, **kw)              # warm-up
            assert out.shape[1] == args.gen_prompt_len + args.gen_new, out.shape
            gts = []
            for _ in range(args.gen_reps):
                t0 = time.perf_counter()
                out = model.generate(prompts, **kw)
                gts.append(time.perf_counter() - t0)
            dt = statistics.median(gts)
        assert out.shape[1] == args.gen_prompt_len + args.gen_new, out.shape
        result["gen_s"] = dt
        result["gen_tokens_per_s"] = args.gen_prompts * args.gen_new / dt

    # ru_maxrss is in KiB on Linux
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result["import_rss_mib"] = import_rss_mib
    result["torch"] = torch.__version__
    result["transformers"] = transformers.__version__
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
