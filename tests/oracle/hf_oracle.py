#!/usr/bin/env python3
"""Hugging Face model directories for the checkpoint tests (tests/unit/test_hf_dir.c).

    python tests/oracle/hf_oracle.py                      # write tests/fixtures/hf/<case>/
    python tests/oracle/hf_oracle.py --check-convert build/bin/baldro-host

The first form builds tiny models with transformers, saves them with save_pretrained (BF16
sharded, F32 single file, F16 sharded and tied) and records tokens, targets and the
per-token log-probs transformers computes in float32 (expected.safetensors). The C test
loads each directory and must agree within 1e-5.

The second form runs `baldro-host convert` on every case, loads baldro's output with
transformers and checks that its logits equal those of the source directory exactly (same
float32 weights, same computation); it records the result in convert_check.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "hf")

CASES = {
    "llama_bf16_sharded": (transformers.LlamaConfig, torch.bfloat16, "20KB", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=97, max_position_embeddings=64,
        rms_norm_eps=1e-5, tie_word_embeddings=False,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
        rope_theta=500000.0)),
    "qwen3_f32_single": (transformers.Qwen3Config, torch.float32, "10MB", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=12, vocab_size=97, max_position_embeddings=64,
        rms_norm_eps=1e-6, tie_word_embeddings=False)),
    "qwen2_f16_tied_sharded": (transformers.Qwen2Config, torch.float16, "16KB", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, vocab_size=97, max_position_embeddings=64,
        rms_norm_eps=1e-6, tie_word_embeddings=True)),
    # The study's models: each family's exact config fields (rope, eps, tying, head_dim
    # rules, window), shrunk to a few thousand parameters. examples/models/ names them.
    "family_llama32_1b_instruct": (transformers.LlamaConfig, torch.bfloat16, "10MB", dict(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, vocab_size=256, max_position_embeddings=131072,
        rms_norm_eps=1e-5, tie_word_embeddings=True, rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        bos_token_id=128, eos_token_id=[129, 130, 131])),
    "family_llama31_8b_instruct": (transformers.LlamaConfig, torch.bfloat16, "10MB", dict(
        hidden_size=64, intermediate_size=224, num_hidden_layers=2, num_attention_heads=8,
        num_key_value_heads=2, vocab_size=256, max_position_embeddings=131072,
        rms_norm_eps=1e-5, tie_word_embeddings=False, rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})),
    "family_qwen3_8b": (transformers.Qwen3Config, torch.bfloat16, "10MB", dict(
        hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=32, vocab_size=256, max_position_embeddings=40960,
        rms_norm_eps=1e-6, tie_word_embeddings=False, rope_theta=1000000.0,
        attention_bias=False)),
    "family_mistral_7b_instruct_v03": (transformers.MistralConfig, torch.bfloat16, "10MB", dict(
        hidden_size=64, intermediate_size=224, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, head_dim=16, vocab_size=256, max_position_embeddings=32768,
        rms_norm_eps=1e-5, tie_word_embeddings=False, rope_theta=1000000.0,
        sliding_window=None)),
    "family_llama2_7b_chat": (transformers.LlamaConfig, torch.float16, "10MB", dict(
        hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, vocab_size=256, max_position_embeddings=4096,
        rms_norm_eps=1e-5, tie_word_embeddings=False, rope_theta=10000.0)),
}
B, T = 2, 10


def build(name):
    cls, dtype, shard, kw = CASES[name]
    torch.manual_seed(sum(map(ord, name)))
    cfg = cls(**kw)
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.15)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    model.to(dtype).save_pretrained(d, max_shard_size=shard)
    # Reference: the saved weights, upcast to float32, as a fresh load would give.
    ref = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32,
                                                            attn_implementation="eager")
    g = torch.Generator().manual_seed(7)
    tokens = torch.randint(0, cfg.vocab_size, (B, T), generator=g)
    targets = torch.roll(tokens, -1, dims=1)
    targets[:, -1] = -1
    targets[:, :2] = -1
    with torch.no_grad():
        logits = ref(tokens).logits.double()
    lp = torch.log_softmax(logits, -1)
    logp = torch.where(targets >= 0, lp.gather(-1, targets.clamp(min=0)[..., None])[..., 0],
                       torch.zeros((), dtype=torch.float64))
    save_file({"tokens": tokens.to(torch.int32), "targets": targets.to(torch.int32),
               "logp": logp.contiguous()}, os.path.join(d, "expected.safetensors"))
    print(name, sorted(os.listdir(d)))


def check_convert(host):
    results = {"transformers": transformers.__version__, "torch": torch.__version__, "cases": {}}
    for name in CASES:
        src = os.path.join(OUT, name)
        with tempfile.TemporaryDirectory() as tmp:
            dst = os.path.join(tmp, "out")
            subprocess.run([host, "convert", "--model", src, "--out", dst, "--shard-size",
                            "30000"], check=True)
            a = transformers.AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
            b = transformers.AutoModelForCausalLM.from_pretrained(dst, dtype=torch.float32)
            tokens = torch.arange(T).remainder(a.config.vocab_size)[None]
            with torch.no_grad():
                la, lb = a(tokens).logits, b(tokens).logits
            diff = (la - lb).abs().max().item()
            files = sorted(os.listdir(dst))
        results["cases"][name] = {"max_abs_logit_diff": diff, "files": files}
        print(name, "max |logit diff| =", diff, files)
        if diff != 0.0:
            sys.exit(f"{name}: transformers sees different logits in baldro's output")
    # A real pretrained model through baldro's importers: stories260K (llama2.c .bin and
    # GGUF, interleaved RoPE in the file) converted to an HF directory must make
    # transformers produce the reference greedy tokens and logits.
    shared = os.path.join(HERE, "..", "..", "..", "shared", "models", "stories260K")
    ref = json.load(open(os.path.join(shared, "reference_forward.json")))
    want = ref["greedy_token_ids_from_bos"]
    for src in ("stories260K.bin", "stories260K.gguf"):
        with tempfile.TemporaryDirectory() as tmp:
            dst = os.path.join(tmp, "out")
            subprocess.run([host, "convert", "--model", os.path.join(shared, src), "--out", dst],
                           check=True)
            m = transformers.AutoModelForCausalLM.from_pretrained(dst, dtype=torch.float32)
            ids = torch.tensor([[ref["bos_id"]]])
            with torch.no_grad():
                out = m.generate(ids, max_new_tokens=len(want) - 1, do_sample=False,
                                 min_new_tokens=len(want) - 1)[0].tolist()
                logits = m(torch.tensor([want[:51]])).logits[0]
            worst = 0.0
            for pos, vals in ref["logits_at_pos"].items():
                worst = max(worst, (logits[int(pos)] - torch.tensor(vals)).abs().max().item())
        same = out == want
        results["cases"]["stories260K/" + src] = {"greedy_ids_equal_reference": same,
                                                  "max_abs_logit_diff_vs_reference": worst}
        print(src, "greedy equal:", same, "max |logit diff|:", worst)
        if not same or worst > 1e-4:
            sys.exit(f"{src}: transformers disagrees with the stories260K reference")
    with open(os.path.join(OUT, "convert_check.json"), "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check-convert", metavar="BALDRO_HOST")
    a = ap.parse_args()
    if a.check_convert:
        check_convert(a.check_convert)
    else:
        for name in CASES:
            build(name)


if __name__ == "__main__":
    main()
