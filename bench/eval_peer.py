#!/usr/bin/env python3
"""The peer of `baldro-host eval` on the same model and splits: PyTorch + transformers doing
open-unlearning's TOFU work (score every answer variant under teacher forcing in
length-sorted batches, greedy generation in batches with left padding), timed.

    python bench/eval_peer.py MODEL_DIR TOFU_DIR --forget forget10 [--batch 16]
        [--gen-batch 32] [--max-new 200] [--threads 2]

Prints one JSON line: wall seconds of scoring and of generation, and the counts. The
template is the base-model one (open-unlearning's "Question: q\\nAnswer: a" + eos), as
the demo model uses; the token counts are the same as baldro's within a few tokens an item.
"""
import argparse
import json
import os
import time

import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast


def read_split(tofu, name):
    with open(os.path.join(tofu, name + ".json")) as f:
        return [json.loads(line) for line in f if line.strip()]


def variants(items, tokenizer_eos):
    """(prompt, answer) pairs of every answer variant scored: answer, paraphrase, perturbed."""
    out = []
    for it in items:
        answers = [it["answer"]]
        if "paraphrased_answer" in it:
            answers.append(it["paraphrased_answer"])
        answers += it.get("perturbed_answer", [])
        for a in answers:
            out.append(("Question: " + it["question"] + "\nAnswer: ", a + tokenizer_eos))
    return out


def score(model, tok, pairs, batch):
    enc = []
    for p, a in pairs:
        pi = tok(p, add_special_tokens=True)["input_ids"]
        ai = tok(a, add_special_tokens=False)["input_ids"]
        enc.append((pi + ai, len(pi)))
    enc.sort(key=lambda e: len(e[0]))
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    nll = []
    with torch.no_grad():
        for i in range(0, len(enc), batch):
            chunk = enc[i:i + batch]
            T = max(len(ids) for ids, _ in chunk)
            ids = torch.full((len(chunk), T), pad, dtype=torch.long)
            att = torch.zeros((len(chunk), T), dtype=torch.long)
            lab = torch.full((len(chunk), T), -100, dtype=torch.long)
            for r, (x, p) in enumerate(chunk):
                ids[r, :len(x)] = torch.tensor(x)
                att[r, :len(x)] = 1
                lab[r, p:len(x)] = torch.tensor(x[p:])
            logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
            lp = torch.log_softmax(logits, -1)
            tgt = lab[:, 1:]
            g = lp.gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1) * (tgt >= 0)
            logits.argmax(-1)  # the greedy hits extraction strength reads
            nll += (-g.sum(-1)).tolist()
    return nll


def generate(model, tok, prompts, batch, max_new):
    tok.padding_side = "left"
    texts = []
    with torch.no_grad():
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        for i in range(0, len(order), batch):
            chunk = [prompts[j] for j in order[i:i + batch]]
            enc = tok(chunk, return_tensors="pt", padding=True)
            out = model.generate(**enc, max_new_tokens=max_new, do_sample=False,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
            texts += tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    return texts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tofu")
    ap.add_argument("--forget", default="forget10")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--gen-batch", type=int, default=32)
    ap.add_argument("--max-new", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(a.model, "tokenizer.json"))
    if tok.eos_token is None:
        cfg = json.load(open(os.path.join(a.model, "config.json")))
        tok.eos_token = tok.convert_ids_to_tokens(cfg.get("eos_token_id", 2))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32,
                                                 attn_implementation="sdpa").eval()
    splits = [a.forget + "_perturbed", "retain_perturbed", "real_authors_perturbed",
              "world_facts_perturbed"]
    holdout = "holdout" + a.forget[len("forget"):]
    data = {s: read_split(a.tofu, s) for s in splits + [holdout]}
    t0 = time.perf_counter()
    n_scored = 0
    for s in splits + [holdout]:
        pairs = variants(data[s], tok.eos_token) if s != holdout else \
            [("Question: " + it["question"] + "\nAnswer: ", it["answer"] + tok.eos_token)
             for it in data[s]]
        n_scored += len(score(model, tok, pairs, a.batch))
    t1 = time.perf_counter()
    prompts = ["Question: " + it["question"] + "\nAnswer: " for s in splits for it in data[s]]
    gen = generate(model, tok, prompts, a.gen_batch, a.max_new)
    t2 = time.perf_counter()
    print(json.dumps({"peer": "torch " + torch.__version__, "scoring_s": round(t1 - t0, 2),
                      "generation_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
                      "sequences_scored": n_scored, "prompts": len(gen),
                      "threads": a.threads}))


if __name__ == "__main__":
    main()
