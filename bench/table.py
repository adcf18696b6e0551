#!/usr/bin/env python3
"""Markdown table from bench/run.sh's JSON lines (standard library only).

Throughput is the best of the rounds for each side; memory is the last round's."""
import json
import sys

rows = {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    key = (r["size"], r["impl"])
    phase = r.get("phase", "both")
    # Per-phase copies of the keys both phases print.
    for k in ("peak_rss_mib", "planned_mib", "base_rss_mib"):
        if r.get(k) is not None:
            r[f"{phase}_{k}"] = r[k]
    row = rows.setdefault(key, {})
    for k, v in r.items():
        if v is None:
            continue
        # Rounds run interleaved (bench/run.sh): keep each side's best throughput, so a
        # neighbour's burst on a shared machine does not decide the ratio.
        if k.endswith("_per_s") and row.get(k) is not None:
            v = max(v, row[k])
        row[k] = v

def g(size, impl, k):
    return rows.get((size, impl), {}).get(k)

sizes = []
for size, _ in rows:
    if size not in sizes:
        sizes.append(size)
print("| size | threads | train tok/s baldro | train tok/s PyTorch | ratio | matmul share of sgemm "
      "| gen tok/s baldro | gen tok/s PyTorch | ratio | peak RSS train baldro / PyTorch (MiB) "
      "| planned (MiB) | RSS / planned |")
print("|" + "---|" * 12)
for s in sizes:
    bt, pt = g(s, "baldro", "train_tokens_per_s"), g(s, "pytorch", "train_tokens_per_s")
    bg, pg = g(s, "baldro", "gen_tokens_per_s"), g(s, "pytorch", "gen_tokens_per_s")
    plan = g(s, "baldro", "train_planned_mib")
    rss = g(s, "baldro", "train_peak_rss_mib")
    prss = g(s, "pytorch", "train_peak_rss_mib")
    base = g(s, "baldro", "train_base_rss_mib") or 0
    fmt = lambda x, d=1: "-" if x is None else f"{x:.{d}f}"
    ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}x"
    over = "-" if not (rss and plan) else f"{(rss - base) / plan:.2f}"
    print(f"| {s} | {g(s, 'baldro', 'threads')} | {fmt(bt)} | {fmt(pt)} | {ratio(bt, pt)} "
          f"| {fmt(g(s, 'baldro', 'sgemm_fraction'), 2)} | {fmt(bg)} | {fmt(pg)} | {ratio(bg, pg)} "
          f"| {fmt(rss, 0)} / {fmt(prss, 0)} | {fmt(plan)} | {over} |")
