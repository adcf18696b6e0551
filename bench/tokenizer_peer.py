#!/usr/bin/env python3
"""Peer for bench_tokenizer: HF `tokenizers` encode throughput on the same text, one thread.

    tokenizer_peer.py TOKENIZER_JSON TOFU_JSONL REPS

Prints "peer_mb_s <MB/s> tokens <n> concat_mb_s <MB/s> tokens <n>" (MB = 1e6 bytes of
UTF-8 input): each question and answer encoded on its own, then all joined by "\n" as one.
"""
import json
import os
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import tokenizers  # noqa: E402


def main():
    tok = tokenizers.Tokenizer.from_file(sys.argv[1])
    texts = []
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                texts += [row["question"], row["answer"]]
    reps = int(sys.argv[3])
    nbytes = sum(len(t.encode()) for t in texts)
    best = float("inf")
    ntok = 0
    for _ in range(reps):
        t0 = time.perf_counter()
        ntok = 0
        for t in texts:
            ntok += len(tok.encode(t, add_special_tokens=False).ids)
        best = min(best, time.perf_counter() - t0)
    cat = "\n".join(texts)
    best_cat = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        ntok_cat = len(tok.encode(cat, add_special_tokens=False).ids)
        best_cat = min(best_cat, time.perf_counter() - t0)
    print(f"peer_mb_s {nbytes / best / 1e6:.3f} tokens {ntok} "
          f"concat_mb_s {len(cat.encode()) / best_cat / 1e6:.3f} tokens {ntok_cat}")


if __name__ == "__main__":
    main()
