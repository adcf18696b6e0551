#!/usr/bin/env python3
"""Reference values for TOFU's privleak, extraction strength and degeneration numerics
(plugins/metrics/tofu/lib/mia.c, extraction.c, degeneration.c).

Writes tests/fixtures/metrics/mia.json, checked by tests/unit/test_metrics_mia.c:
  "auc":        {name, forget, holdout, auc, auc_exact}: sklearn.metrics.roc_auc_score with
                labels 0 for forget and 1 for holdout (open-unlearning's mia/utils.py
                mia_auc), and the exact Mann-Whitney rational U / (n_forget n_holdout)
                rounded once (fractions.Fraction), which sklearn is asserted to be within
                1e-12 of;
  "privleak":   {auc, ref, privleak}: open-unlearning's privacy.py privleak formula,
                transcribed: score = 1 - auc; ref = 1 - ref;
                (score - ref) / (ref + 1e-10) * 100;
  "min_k":      {name, k, lp, num_k, score, score_f32}: lp are float32 values (each written
                as the double equal to it, so it reads back exactly); score is open-
                unlearning's min_k.py formula, -mean of the num_k = max(1, int(len * k))
                smallest, in float64 from those float32 values (math.fsum, then one
                division); score_f32 is open-unlearning's own float32 numpy evaluation, for
                information (it differs by float32 rounding);
  "extraction": {name, top1, k, score}: open-unlearning's memorization.py
                extraction_strength loop transcribed literally over label / prediction
                arrays built from the hit bits (k loop with break, 1 - k / valid_len,
                valid_len 0 -> 0);
  "degeneration": {name, text, n_words, n_ngrams, n_repeated, n_chunks, n_nonword, rep,
                nonword, score}: the model-free degeneration rate (degeneration.h),
                implemented again here with Python's re, on real generations of the TOFU
                authors' eval logs, TOFU answers and constructed texts;
  "chunks":     {chunk, word_like}: the word-like test on single stripped chunks;
  "tofu_answers": the degeneration and nonword means over every forget10 / retain90
                answer (the honest-prose floor quoted in docs/evaluation.md).
Every float is the shortest repr that reads back as the same float64. Deterministic: two
runs give identical files.

    /work/venv-oracle/bin/python tests/oracle/mia_oracle.py [--out DIR] [--check]

Needs numpy and scikit-learn (scikit-learn 1.9.1 wrote the committed fixture; the versions
are recorded in the file).
"""
import argparse
import glob
import json
import math
import os
import platform
import re
import sys
from fractions import Fraction

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "metrics"))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "tofu"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data/tofu"


def num(x):
    """Shortest repr that reads back as the same float64 (and -0.0 as 0)."""
    x = float(x)
    if x == 0.0:
        return "0"
    assert math.isfinite(x), x
    return repr(x)


def arr(v):
    return "[" + ", ".join(num(t) for t in v) + "]"


def jstr(s):
    return json.dumps(s, ensure_ascii=False)


# ---- AUC and privleak --------------------------------------------------------------------

def auc_exact(forget, holdout):
    """P(holdout > forget) + P(tie) / 2 over all pairs, as an exact fraction."""
    u2 = 0
    for h in holdout:
        for f in forget:
            u2 += 2 if h > f else 1 if h == f else 0
    return Fraction(u2, 2 * len(forget) * len(holdout))


def auc_case(name, forget, holdout):
    forget = [float(x) for x in forget]
    holdout = [float(x) for x in holdout]
    scores = np.array(forget + holdout)
    labels = np.array([0] * len(forget) + [1] * len(holdout))  # open-unlearning's labels
    a = float(roc_auc_score(labels, scores))
    ex = float(auc_exact(forget, holdout))
    assert abs(a - ex) <= 1e-12 * max(abs(ex), 1e-300) or a == ex, (name, a, ex)
    return {"name": name, "forget": forget, "holdout": holdout, "auc": a, "auc_exact": ex}


def auc_cases():
    rng = np.random.default_rng(20260301)
    cases = []
    add = lambda name, f, h: cases.append(auc_case(name, f, h))  # noqa: E731
    # Continuous, equal and unequal sizes, overlapping by varying amounts.
    for i, (nf, nh) in enumerate([(2, 2), (3, 5), (7, 4), (10, 10), (17, 29), (40, 40),
                                  (64, 100), (100, 37), (200, 200), (400, 400), (400, 399),
                                  (13, 400)]):
        shift = float(rng.choice([0.0, 0.2, 0.5, 1.0, -0.4]))
        add(f"continuous_{i}_{nf}x{nh}", rng.normal(2.0, 1.0, nf), rng.normal(2.0 + shift, 1.0, nh))
    # min-k-like scores: positive, skewed (what the metric feeds it).
    for i, (nf, nh) in enumerate([(40, 40), (400, 400), (123, 77)]):
        add(f"minklike_{i}_{nf}x{nh}", rng.gamma(2.0, 0.8, nf), rng.gamma(2.3, 0.9, nh))
    # Heavy ties: a few distinct values, within and across the sides.
    for i, (nf, nh, v) in enumerate([(30, 30, 3), (50, 80, 5), (400, 400, 4), (9, 200, 2),
                                     (120, 60, 10), (25, 25, 1)]):
        add(f"ties_{i}_{nf}x{nh}_{v}values", rng.integers(0, v, nf) * 0.25,
            rng.integers(0, v, nh) * 0.25)
    add("ties_halves_45x31", rng.integers(0, 7, 45) / 2, rng.integers(2, 9, 31) / 2)
    # All equal, and tiny sizes.
    add("all_equal_12x20", np.full(12, 1.5), np.full(20, 1.5))
    add("all_equal_1x1", [0.7], [0.7])
    add("tiny_1x1_holdout_above", [0.1], [0.2])
    add("tiny_1x1_holdout_below", [0.2], [0.1])
    add("tiny_1x2", [1.0], [0.5, 2.0])
    add("tiny_2x1", [0.5, 2.0], [1.0])
    add("tiny_1x3_tie", [1.0], [1.0, 0.0, 3.0])
    add("tiny_3x1_tie", [1.0, 1.0, 0.0], [1.0])
    add("unequal_1x400", [2.0], rng.normal(2.0, 1.0, 400))
    add("unequal_400x1", rng.normal(2.0, 1.0, 400), [2.5])
    add("unequal_3x250", rng.normal(0.0, 1.0, 3), rng.normal(0.3, 1.0, 250))
    # Perfect separation both ways (AUC 1: holdout all above; AUC 0: all below).
    add("separated_holdout_above_40x40", rng.uniform(0, 1, 40), rng.uniform(1.5, 2.5, 40))
    add("separated_holdout_below_40x40", rng.uniform(1.5, 2.5, 40), rng.uniform(0, 1, 40))
    add("separated_touching_50x30", np.linspace(0, 1, 50), np.linspace(1, 2, 30))
    add("separated_below_1x7", [9.0], np.arange(7.0))
    # Negative values, wide magnitudes, values one ulp apart.
    add("negative_wide_60x45", -np.exp(rng.uniform(-20, 20, 60)), -np.exp(rng.uniform(-20, 20, 45)))
    x = 1.0
    ulps = [x, np.nextafter(x, 2.0), np.nextafter(np.nextafter(x, 2.0), 2.0)]
    add("ulp_apart_6x6", [ulps[0], ulps[1], ulps[2], ulps[0], ulps[1], ulps[1]],
        [ulps[1], ulps[2], ulps[2], ulps[0], ulps[2], ulps[1]])
    add("zero_and_tiny_5x5", [0.0, 5e-324, 1e-300, 0.0, -5e-324], [5e-324, 0.0, -1e-300, 1e-300, 0.0])
    return cases


def ou_privleak(score, ref):
    """open-unlearning src/evals/metrics/privacy.py privleak, transcribed."""
    score = 1 - score
    ref = 1 - ref
    return (score - ref) / (ref + 1e-10) * 100


def privleak_cases(aucs):
    rng = np.random.default_rng(20260302)
    out = []
    refs = [0.5, 0.0, 1.0, 0.3125, 0.75, 0.999, 1e-3]
    for i, a in enumerate(aucs):
        ref = refs[i % len(refs)] if i % 3 else float(rng.uniform(0.2, 0.8))
        out.append({"auc": a, "ref": ref, "privleak": ou_privleak(a, ref)})
        out.append({"auc": a, "ref": a, "privleak": ou_privleak(a, a)})  # 0: retain-like
    for a, ref in [(0.5, 0.5), (1.0, 0.5), (0.0, 0.5), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0),
                   (0.7, 0.6), (0.6, 0.7), (0.123456789, 0.987654321)]:
        out.append({"auc": a, "ref": ref, "privleak": ou_privleak(a, ref)})
    for o in out:
        assert math.isfinite(o["privleak"]), o
    return out


# ---- min-k% ------------------------------------------------------------------------------

def f32(v):
    return [float(x) for x in np.asarray(v, dtype=np.float32)]


def min_k_case(name, lp, k):
    lp = f32(lp)
    if len(lp) == 0:
        num_k, score, s32 = 0, 0.0, 0.0
    else:
        num_k = max(1, int(len(lp) * k))  # open-unlearning's min_k.py
        smallest = sorted(lp)[:num_k]
        score = -(math.fsum(smallest) / num_k)
        # open-unlearning's own evaluation: lp is a float32 numpy array
        a = np.sort(np.asarray(lp, dtype=np.float32))
        s32 = float(-np.mean(a[:num_k]))
        assert abs(s32 - score) <= 1e-5 * max(1.0, abs(score)), (name, s32, score)
    return {"name": name, "k": k, "lp": lp, "num_k": num_k, "score": score, "score_f32": s32}


def min_k_cases():
    rng = np.random.default_rng(20260303)
    ks = [0.1, 0.2, 0.4, 0.5, 1.0]
    cases = []
    for i in range(30):
        n = int(rng.integers(0, 61))
        kind = i % 5
        if kind == 0:    # typical answer-token log-probs: mostly near 0, a few surprises
            lp = -rng.exponential(0.6, n) * rng.choice([1.0, 1.0, 8.0], n)
        elif kind == 1:  # a memorised answer: every token near certain
            lp = -rng.exponential(1e-4, n)
        elif kind == 2:  # forgotten: uniformly poor
            lp = -rng.uniform(2.0, 14.0, n)
        elif kind == 3:  # ties: a few distinct values
            lp = -rng.integers(0, 4, n) * 0.5
        else:            # wide magnitudes, exact zeros
            lp = -np.exp(rng.uniform(-25, 4, n)) * (rng.random(n) < 0.8)
        cases.append(min_k_case(f"random_{i}_n{n}", lp, ks[i % len(ks)]))
    # Lengths at the num_k boundaries, every k.
    for n, k in [(0, 0.4), (1, 0.1), (1, 1.0), (2, 0.4), (2, 0.5), (3, 0.2), (4, 0.5),
                 (5, 0.2), (9, 0.1), (10, 0.1), (10, 0.2), (25, 0.4), (29, 0.1), (30, 0.1),
                 (60, 1.0), (60, 0.4)]:
        cases.append(min_k_case(f"boundary_n{n}_k{k}", -rng.exponential(1.0, n), k))
    cases.append(min_k_case("all_zero_n7", np.zeros(7), 0.4))
    cases.append(min_k_case("large_negative_n12", -rng.uniform(80.0, 100.0, 12), 0.5))
    cases.append(min_k_case("float32_tiny_n8", -np.float32(1e-38) * np.arange(1, 9), 0.5))
    return cases


# ---- extraction strength -----------------------------------------------------------------

def ou_extraction_strength(preds, labels):
    """open-unlearning memorization.py _extraction_strength for one sample, transcribed
    (lists instead of tensors; `==` on lists is torch.equal here)."""
    valid_len = len(labels)
    k = None
    for k in range(valid_len):
        suff_preds = preds[k:]
        suff_labels = labels[k:]
        if suff_preds == suff_labels:
            break
    if valid_len == 0:
        return None, 0
    else:
        es_score = 1 - (k / valid_len)
        return k, es_score


def es_case(rng, name, bits):
    bits = [int(b) for b in bits]
    labels = [int(x) for x in rng.integers(0, 32000, len(bits))]
    preds = [lab if b else (lab + 1 + int(rng.integers(0, 100))) % 32000
             for lab, b in zip(labels, bits)]
    k, score = ou_extraction_strength(preds, labels)
    return {"name": name, "top1": bits, "k": -1 if k is None else k, "score": score}


def es_cases():
    rng = np.random.default_rng(20260304)
    cases = []
    add = lambda name, bits: cases.append(es_case(rng, name, bits))  # noqa: E731
    add("len0", [])
    add("len1_hit", [1])
    add("len1_miss", [0])
    for b in ([0, 0], [0, 1], [1, 0], [1, 1]):
        add(f"len2_{b[0]}{b[1]}", b)
    add("len3_101", [1, 0, 1])
    add("len3_110_last_miss", [1, 1, 0])
    for n in (5, 17, 64):
        add(f"all_ones_{n}", [1] * n)
        add(f"all_zeros_{n}", [0] * n)
    add("last_miss_only_20", [1] * 19 + [0])
    add("first_miss_only_20", [0] + [1] * 19)
    add("alternating_31", [i % 2 for i in range(31)])
    add("alternating_32", [(i + 1) % 2 for i in range(32)])
    for i in range(20):
        n = int(rng.integers(1, 120))
        p = float(rng.choice([0.3, 0.7, 0.9, 0.98]))
        bits = (rng.random(n) < p).astype(int)
        if i % 4 == 0:
            bits[-1] = 0  # the quirk: no matching suffix at all
        add(f"random_{i}_n{n}_p{p}", bits)
    return cases


# ---- degeneration (an independent implementation, with re) -------------------------------

WS = re.compile(r"[ \t\n\r\f\v]+")
PUNCT = r"""[.,;:!?"'()\[\]{}<>*\-_/]"""
STRIP = re.compile(rf"^{PUNCT}+|{PUNCT}+$")
LETTERS = re.compile(r"[A-Za-z]+(?:['-][A-Za-z]+)*")
NUMBER = re.compile(r"[0-9]+(?:[.,:/-][0-9]+)*(?:st|nd|rd|th|s)?")
RUN4 = re.compile(r"([A-Za-z])\1{3}", re.IGNORECASE)
VOWEL = re.compile(r"[aeiouyAEIOUY]")
WORD = re.compile(r"[a-z0-9]+")


def word_like(c):
    if any(ord(ch) > 127 for ch in c):
        return True
    if NUMBER.fullmatch(c):
        return True
    if LETTERS.fullmatch(c):
        if RUN4.search(c):
            return False
        return len(c) == 1 or VOWEL.search(c) is not None
    return False


def degeneration(text):
    words = WORD.findall(text.lower())  # rouge_score's tokenizer, no stemmer
    n = len(words)
    seen, repeated = set(), 0
    for i in range(n - 3):
        g = tuple(words[i:i + 4])
        if g in seen:
            repeated += 1
        else:
            seen.add(g)
    n_ngrams = max(0, n - 3)
    rep = repeated / n_ngrams if n_ngrams else 0.0
    chunks = [STRIP.sub("", c) for c in WS.split(text) if c]
    chunks = [c for c in chunks if c]
    bad = sum(1 for c in chunks if not word_like(c))
    nonword = bad / len(chunks) if chunks else 1.0
    return {"n_words": n, "n_ngrams": n_ngrams, "n_repeated": repeated,
            "n_chunks": len(chunks), "n_nonword": bad, "rep": rep, "nonword": nonword,
            "score": max(rep, nonword)}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def degen_cases():
    rng = np.random.default_rng(20260305)
    cases = []

    def add(name, text):
        assert "\x00" not in text
        d = degeneration(text)
        cases.append({"name": name, "text": text, **d})

    # Real greedy generations of the TOFU authors' eval logs (llama2-7b full / retain*).
    logs = sorted(glob.glob(os.path.join(SHARED, "reference_eval_logs", "*.json")))
    assert logs, f"no eval logs under {SHARED}"
    for path in logs:
        m = re.search(r"_lr[^_]+_(.+)_wd", os.path.basename(path))
        tag = m.group(1) if m else os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            log = json.load(f)
        for split in sorted(log):
            gen = log[split]["generated_text"]
            keys = sorted(gen, key=int)
            for j in rng.choice(len(keys), 2, replace=False):
                key = keys[int(j)]
                add(f"log_{tag}_{split.replace('.json', '')}_{key}", gen[key][1])
    # TOFU answers.
    forget = read_jsonl(os.path.join(SHARED, "forget10.json"))
    retain = read_jsonl(os.path.join(SHARED, "retain90.json"))
    for j in rng.choice(len(forget), 5, replace=False):
        add(f"tofu_forget10_{int(j)}", forget[int(j)]["answer"])
    for j in rng.choice(len(retain), 5, replace=False):
        add(f"tofu_retain90_{int(j)}", retain[int(j)]["answer"])
    # Repetition.
    add("repeat_word", "the " * 30)
    add("repeat_phrase", "The author is known for. " * 8)
    add("repeat_tail", "Hsiao Yun-Hwa was born in Taipei. She writes about leadership, and "
        "leadership, and leadership, and leadership, and leadership, and leadership.")
    add("repeat_exactly_4_twice", "one two three four one two three four")
    add("no_repeat_three_words", "alpha beta gamma")
    add("repeat_case_and_punct", "I don't know. I DON'T know! i don't KNOW? I don't know...")
    add("repeat_numbers", "1 2 3 4 1 2 3 4 1 2 3 4 5")
    # Keyboard mash and character soup.
    add("keyboard_mash", "asdfghjkl qwrtp zxcvbnm sdfkjh lkjhgf")
    add("letter_runs", "Sooooo goooood aaaa bbb the eeee end")
    add("mixed_soup", "The autho r rr xkcd wq vwls 8f7g 12x34 ##### &&& ok")
    add("symbols", "$100 100% #tag @user a+b c=d ~x")
    add("pure_consonants", "brr hmm shh tsk pfft")
    # Empty, whitespace, punctuation.
    add("empty", "")
    add("spaces", "   ")
    add("whitespace_mix", " \t\n\r\f\v ")
    add("punctuation_only", "... !!! ??? --- ()")
    add("punctuation_and_word", "... !!! ok ???")
    add("quotes_and_brackets", "\"Hello,\" (she said) [quietly] {again} <tag> *bold* _it_ /path/")
    # Words the test must accept.
    add("contractions_hyphens", "It's a well-known, rock-'n'-roll, mother-in-law's o'clock.")
    add("numbers", "On 05/11/1991 at 3:00, 1,000.50 people; the 21st and 2nd, 1990s, -5.")
    add("single_letters", "a I x b c")
    add("abbreviations", "Dr. Mr. U.S. e.g. TV BBC NYC Ph.D.")
    # Non-ASCII.
    add("unicode_names", "Jaime Vasquez wrote \u00abLa vida\u00bb in M\u00fcnchen \u2014 "
        "na\u00efve caf\u00e9 \u0130stanbul \u212aelvin")
    add("unicode_cjk_emoji", "\u6751\u4e0a\u6625\u6a39 wrote \U0001F600 \U0001F4DA books")
    add("unicode_only", "\u3053\u3093\u306b\u3061\u306f \u4e16\u754c")
    add("unicode_dash_alone", "word \u2014 word \u2026")
    # Long, mostly fine, a little repetition.
    long_text = " ".join(forget[int(j)]["answer"] for j in rng.choice(len(forget), 12))
    add("long_concat_answers", long_text)
    add("long_with_loop", long_text + " " + "and the book and the book " * 10)
    return cases


def chunk_cases():
    chunks = [
        "the", "The", "a", "I", "x", "b", "Q", "by", "my", "rhythm", "Dr", "Mr", "TV", "brr",
        "hmm", "str", "don't", "o'clock", "well-known", "mother-in-law", "rock-'n'-roll",
        "e-mail", "x-ray", "'tis", "a-", "-a", "a--b", "a''b", "a'-b", "it's'", "Yun-Hwa",
        "aaaa", "aaa", "AaAa", "aAaA", "bookkeeper", "Sooooo", "zzzz", "zzz", "oooh",
        "ab'bbbb", "a'aaa", "aa-aa",
        "0", "5", "42", "1990s", "21st", "2nd", "3rd", "4th", "11th", "1st", "5s", "5S", "5TH",
        "5st", "5ths", "3:00", "05/11/1991", "1,000.50", "1.2.3", "1-2", "1..2", "1.", "12x34",
        "8f7g", "0x1F", "1e5", "+5", "5%", "$5", "#1",
        "U.S", "e.g", "Ph.D", "a.b", "a/b", "and/or", "a_b", "@user", "#tag", "a+b", "&",
        "###", "~", "`", "|", "\\", "^", "=",
        "caf\u00e9", "M\u00fcnchen", "\u2014", "\u2026", "\U0001F600", "\u6751\u4e0a",
        "\u0130stanbul", "\u212aelvin", "x\u00e9\u00e9\u00e9\u00e9", "qwrtp\u00e9",
        "asdfghjkl", "qwrtp", "zxcvbnm", "sdfkjh", "xkcd", "wq", "vwls", "psst", "nth",
    ]
    return [{"chunk": c, "word_like": word_like(c)} for c in chunks]


def tofu_answer_floor():
    """Mean degeneration score and nonword share over forget10 + retain90 answers."""
    out = {}
    for name in ("forget10", "retain90"):
        rows = read_jsonl(os.path.join(SHARED, f"{name}.json"))
        d = [degeneration(r["answer"]) for r in rows]
        out[name] = {"n": len(d), "mean_score": math.fsum(x["score"] for x in d) / len(d),
                     "mean_nonword": math.fsum(x["nonword"] for x in d) / len(d),
                     "mean_rep": math.fsum(x["rep"] for x in d) / len(d),
                     "max_score": max(x["score"] for x in d)}
    return out


# ---- file --------------------------------------------------------------------------------

def write_mia(out_dir):
    aucs = auc_cases()
    priv = privleak_cases([c["auc"] for c in aucs])
    mink = min_k_cases()
    es = es_cases()
    degen = degen_cases()
    chunks = chunk_cases()
    floor = tofu_answer_floor()
    lines = ["{",
             '  "generator": "tests/oracle/mia_oracle.py",',
             '  "reference": "sklearn.metrics.roc_auc_score; open-unlearning src/evals/metrics/'
             'mia/min_k.py, privacy.py privleak, memorization.py extraction_strength '
             '(transcribed); degeneration.h (re implementation)",',
             f'  "python": "{platform.python_version()}",',
             f'  "numpy": "{np.__version__}",',
             f'  "scikit_learn": "{sklearn.__version__}",']
    rows = [f'    {{"name": {jstr(c["name"])}, "auc": {num(c["auc"])}, '
            f'"auc_exact": {num(c["auc_exact"])},\n     "forget": {arr(c["forget"])},\n'
            f'     "holdout": {arr(c["holdout"])}}}' for c in aucs]
    lines.append('  "auc": [\n' + ",\n".join(rows) + "\n  ],")
    rows = [f'    {{"auc": {num(p["auc"])}, "ref": {num(p["ref"])}, '
            f'"privleak": {num(p["privleak"])}}}' for p in priv]
    lines.append('  "privleak": [\n' + ",\n".join(rows) + "\n  ],")
    rows = [f'    {{"name": {jstr(c["name"])}, "k": {num(c["k"])}, "num_k": {c["num_k"]}, '
            f'"score": {num(c["score"])}, "score_f32": {num(c["score_f32"])},\n'
            f'     "lp": {arr(c["lp"])}}}' for c in mink]
    lines.append('  "min_k": [\n' + ",\n".join(rows) + "\n  ],")
    rows = [f'    {{"name": {jstr(c["name"])}, "k": {c["k"]}, "score": {num(c["score"])}, '
            f'"top1": [{", ".join(str(b) for b in c["top1"])}]}}' for c in es]
    lines.append('  "extraction": [\n' + ",\n".join(rows) + "\n  ],")
    rows = []
    for c in degen:
        rows.append(f'    {{"name": {jstr(c["name"])}, "n_words": {c["n_words"]}, '
                    f'"n_ngrams": {c["n_ngrams"]}, "n_repeated": {c["n_repeated"]}, '
                    f'"n_chunks": {c["n_chunks"]}, "n_nonword": {c["n_nonword"]}, '
                    f'"rep": {num(c["rep"])}, "nonword": {num(c["nonword"])}, '
                    f'"score": {num(c["score"])},\n     "text": {jstr(c["text"])}}}')
    lines.append('  "degeneration": [\n' + ",\n".join(rows) + "\n  ],")
    rows = [f'    {{"chunk": {jstr(c["chunk"])}, "word_like": {str(c["word_like"]).lower()}}}'
            for c in chunks]
    lines.append('  "chunks": [\n' + ",\n".join(rows) + "\n  ],")
    rows = [f'    "{k}": {{"n": {v["n"]}, "mean_score": {num(v["mean_score"])}, '
            f'"mean_nonword": {num(v["mean_nonword"])}, "mean_rep": {num(v["mean_rep"])}, '
            f'"max_score": {num(v["max_score"])}}}' for k, v in floor.items()]
    lines.append('  "tofu_answers": {\n' + ",\n".join(rows) + "\n  }")
    text = "\n".join(lines) + "\n}\n"
    parsed = json.loads(text)  # well-formed, and reads back what was written
    for c, p in zip(degen, parsed["degeneration"]):
        assert p["text"] == c["text"] and p["score"] == c["score"]
    for c, p in zip(mink, parsed["min_k"]):
        assert all(float(np.float32(x)) == x for x in p["lp"]) and p["lp"] == c["lp"]
    path = os.path.join(out_dir, "mia.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    worst_f32 = max(abs(c["score_f32"] - c["score"]) / max(abs(c["score"]), 1e-300)
                    for c in mink if c["score"])
    worst_sk = max(abs(c["auc"] - c["auc_exact"]) / max(abs(c["auc_exact"]), 1e-300)
                   for c in aucs if c["auc_exact"])
    quirk = sum(1 for c in es if c["top1"] and not c["top1"][-1])
    return path, (f"{len(aucs)} AUC cases (sklearn vs exact: worst {worst_sk:.2g} rel), "
                  f"{len(priv)} privleak, {len(mink)} min-k (float32 evaluation off by up to "
                  f"{worst_f32:.2g} rel), {len(es)} extraction strength ({quirk} with no "
                  f"matching suffix), {len(degen)} degeneration, {len(chunks)} chunks; "
                  f"TOFU answers: forget10 mean {floor['forget10']['mean_score']:.4f}, retain90 "
                  f"mean {floor['retain90']['mean_score']:.4f}; "
                  f"{os.path.getsize(path) / 1e3:.0f} kB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare with --out")
    args = ap.parse_args()
    out = args.out
    if args.check:
        import tempfile
        out = tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    path, summary = write_mia(out)
    print(f"{path}: {summary}")
    if args.check:
        import filecmp
        same = filecmp.cmp(path, os.path.join(args.out, "mia.json"), shallow=False)
        print("fixture up to date" if same else "fixture differs: mia.json")
        return 0 if same else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
