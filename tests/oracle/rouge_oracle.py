#!/usr/bin/env python3
"""Reference ROUGE scores and Porter stems from Python's rouge_score (and NLTK's stemmer).

TOFU and open-unlearning score generations with

    rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True).score(gt, generation)

and report the two recalls. plugins/metrics/tofu/lib/rouge.c and porter.c reimplement that
in C; this script writes what they are checked against:

  tests/fixtures/metrics/rouge.json
    versions  python, rouge_score, nltk, unicodedata (Python's str.lower() tables)
    stems     [word, nltk PorterStemmer().stem(word)]: every distinct [a-z0-9]+ word of the
              TOFU files (all splits, all fields), the rule examples of Porter's paper,
              NLTK's irregular forms, and a grid of prefixes (measure 0..3, *o, *d, y
              runs) times every suffix the rules test, so every rule is hit both with its
              condition true and false
    pairs     {kind, target, prediction, rouge1, rougeL}, each score being
              {hits, target_tokens, prediction_tokens, precision, recall, fmeasure}:
              hits is the clipped unigram overlap (rouge1) or the LCS length (rougeL),
              computed here from rouge_score's own tokenizer and LCS table and asserted to
              give rouge_score's precision and recall; the three floats are rouge_score's.
              Adversarial pairs also carry the token lists with and without stemming.
              A pair whose texts are not valid UTF-8 has target_hex / prediction_hex
              instead of the strings: its bytes are decoded with errors="replace" (every
              malformed byte becomes U+FFFD, a separator) before scoring.
    kinds     tofu_*: real TOFU answers (forget10, retain_perturbed) against their
              paraphrase, a perturbed answer, a truncation, a word shuffle, another item's
              answer, or themselves; gen_*: real model generations from the TOFU authors'
              released eval logs (their logged rouge1/rougeL recalls are asserted equal to
              rouge_score's); adv_*: hand-written edge cases (empty, punctuation, digits,
              case, non-ASCII, malformed UTF-8, NUL, 500-word texts, repeats, stemmer words)

Deterministic (random.Random with a fixed seed, sorted sets): two runs give identical files.

    /work/venv-oracle/bin/python tests/oracle/rouge_oracle.py [--data DIR] [--out FILE] [--check]

Needs rouge_score and nltk (pip install rouge_score; nltk comes with it) and the TOFU files
(default /work/shared/data/tofu, JSON Lines as on the HF Hub).
"""
import argparse
import collections
import glob
import json
import os
import platform
import random
import re
import sys
import unicodedata

import nltk
import rouge_score
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "metrics", "rouge.json"))
DEFAULT_DATA = os.environ.get("TOFU_DATA", "/work/shared/data/tofu")
SEED = 20240611

SCORER = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
STEMMER = porter.PorterStemmer()  # what rouge_score's DefaultTokenizer(use_stemmer=True) builds


def pkg_version(name):
    from importlib import metadata
    return metadata.version(name)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---- scores -----------------------------------------------------------------------------

def tokens(text, stem=True):
    return tokenize.tokenize(text, STEMMER if stem else None)


def score_record(target, prediction):
    """rouge_score's scores plus the integers behind them, cross-checked."""
    s = SCORER.score(target, prediction)
    tt, pt = tokens(target), tokens(prediction)
    assert tt == SCORER._tokenizer.tokenize(target)
    ct, cp = collections.Counter(tt), collections.Counter(pt)
    hits1 = sum(min(c, cp[t]) for t, c in ct.items())
    lcs = rouge_scorer._lcs_table(tt, pt)[-1][-1] if tt and pt else 0
    out = {}
    for name, hits in (("rouge1", hits1), ("rougeL", lcs)):
        sc = s[name]
        if name == "rouge1" or (tt and pt):
            assert sc.precision == hits / max(len(pt), 1), (name, target, prediction)
            assert sc.recall == hits / max(len(tt), 1), (name, target, prediction)
        else:
            assert sc.precision == 0 and sc.recall == 0 and sc.fmeasure == 0
        out[name] = {
            "hits": hits,
            "target_tokens": len(tt),
            "prediction_tokens": len(pt),
            "precision": float(sc.precision),
            "recall": float(sc.recall),
            "fmeasure": float(sc.fmeasure),
        }
    return out


def make_pair(kind, target, prediction, with_tokens=False):
    rec = {"kind": kind}
    if isinstance(target, bytes) or isinstance(prediction, bytes):
        tb = target if isinstance(target, bytes) else target.encode("utf-8")
        pb = prediction if isinstance(prediction, bytes) else prediction.encode("utf-8")
        rec["target_hex"], rec["prediction_hex"] = tb.hex(), pb.hex()
        target = tb.decode("utf-8", errors="replace")
        prediction = pb.decode("utf-8", errors="replace")
        # surrogateescape keeps each bad byte as its own non-ASCII code point: same tokens.
        assert tokens(target) == tokens(tb.decode("utf-8", errors="surrogateescape"))
    else:
        assert "\0" not in target + prediction, "NUL needs bytes (hex) in the fixture"
        rec["target"], rec["prediction"] = target, prediction
    rec.update(score_record(target, prediction))
    if with_tokens:
        rec["target_tokens"] = tokens(target)
        rec["prediction_tokens"] = tokens(prediction)
        rec["target_tokens_nostem"] = tokens(target, stem=False)
        rec["prediction_tokens_nostem"] = tokens(prediction, stem=False)
    return rec


# ---- real TOFU pairs --------------------------------------------------------------------

def truncate(rng, text):
    words = text.split()
    return " ".join(words[:rng.randint(0, len(words))])


def shuffle_words(rng, text):
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


def tofu_pairs(data, rng):
    forget = read_jsonl(os.path.join(data, "forget10.json"))
    forget_p = read_jsonl(os.path.join(data, "forget10_perturbed.json"))
    retain_p = read_jsonl(os.path.join(data, "retain_perturbed.json"))
    assert len(forget) == len(forget_p) == 400
    for a, b in zip(forget, forget_p):
        assert a["question"] == b["question"] and a["answer"] == b["answer"]

    pairs = []

    def take(items, name, n):
        # n items of each generation kind, drawn without replacement per kind
        kinds = ["paraphrase", "perturbed", "truncated", "shuffled", "other", "self"]
        for kind in kinds:
            k = n if kind != "self" else max(2, n // 10)
            for i in sorted(rng.sample(range(len(items)), k)):
                gt = items[i]["answer"]
                if kind == "paraphrase":
                    pred = items[i]["paraphrased_answer"]
                elif kind == "perturbed":
                    pred = rng.choice(items[i]["perturbed_answer"])
                elif kind == "truncated":
                    pred = truncate(rng, gt)
                elif kind == "shuffled":
                    pred = shuffle_words(rng, gt)
                elif kind == "other":
                    j = rng.randrange(len(items) - 1)
                    pred = items[j + (j >= i)]["answer"]
                else:
                    pred = gt
                pairs.append(make_pair(f"tofu_{name}_{kind}", gt, pred))

    take(forget_p, "forget10", 30)
    take(retain_p, "retain", 25)
    return pairs


def generation_pairs(data, rng, per_split=8):
    """Real greedy generations from the TOFU authors' eval logs, with their logged ROUGE."""
    pairs = []
    for path in sorted(glob.glob(os.path.join(data, "reference_eval_logs", "*.json"))):
        model = os.path.basename(path).split("_")[3]  # llama2-7b / phi
        with open(path, encoding="utf-8") as f:
            logs = json.load(f)
        for split in sorted(logs):
            log = logs[split]
            keys = sorted(log["generated_text"], key=int)
            for k in sorted(rng.sample(keys, min(per_split, len(keys))), key=int):
                _prompt, gen, gt = log["generated_text"][k]
                rec = make_pair(f"gen_{model}_{split.replace('.json', '')}", gt, gen)
                assert rec["rouge1"]["recall"] == log["rouge1_recall"][k], (path, split, k)
                assert rec["rougeL"]["recall"] == log["rougeL_recall"][k], (path, split, k)
                pairs.append(rec)
    return pairs


# ---- adversarial pairs ------------------------------------------------------------------

PAPER_WORDS = """caresses ponies ties caress cats feed agreed plastered bled motoring sing
conflated troubled sized hopping tanned falling hissing fizzed failing filing happy sky
relational conditional rational valenci hesitanci digitizer conformabli radicalli
differentli vileli analogousli vietnamization predication operator feudalism decisiveness
hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative formalize
electriciti electrical hopeful goodness revival allowance inference airliner gyroscopic
adjustable defensible irritant replacement adjustment dependent adoption homologou communism
activate angulariti homologous effective bowdlerize probate rate cease controll roll
generously""".split()

# Final stems of the paper's rule examples (used as a "prediction" text).
PAPER_STEMS = """caress poni ti caress cat feed agre plaster bled motor sing conflat troubl
size hop tan fall hiss fizz fail file happi sky relat condit ration valenc hesit digit
conform radic differ vile analog vietnam predic oper feudal decis hope callous formal
sensit sensibl triplic form formal electr electr hope good reviv allow infer airlin
gyroscop adjust defens irrit replac adjust depend adopt homolog commun activ angular
homolog effect bowdler probat rate ceas control roll gener"""

NLTK_SPECIAL = """sky skies dying lying tying news innings inning outings outing cannings
canning howe proceed exceed succeed died tied lied cried spied ies pies dies ties flies
enjoy enjoyment spy fly try tried flies easily really generally finally fully carefully
beautifully analogi biologi geologi apologi eulogi logi trilogi dialogi""".split()


def long_text(rng, vocab, n):
    return " ".join(rng.choice(vocab) for _ in range(n))


def adversarial_pairs(rng, vocab, answers):
    A = []

    def add(kind, t, p):
        A.append(make_pair("adv_" + kind, t, p, with_tokens=True))

    # empty and separator-only texts
    add("empty_both", "", "")
    add("empty_target", "", "the author was born in Paris")
    add("empty_prediction", "the author was born in Paris", "")
    add("punct_both", "!!! ... ???", "--- ,,, ;;;")
    add("punct_target", "?!?!", "words here")
    add("punct_prediction", "words here", "'\"()[]{}<>")
    add("whitespace", " \t\n\r\x0b\x0c ", "   ")
    add("ws_edges", "  leading and trailing  ", "\nleading\tand\rtrailing\n")
    add("controls", "a\x01b\x7fc\x1bd", "a b c d")
    # digits and mixed tokens
    add("digits", "Born on 05/11/1991, died 2020.", "born 05 11 1991 and died in 2020s")
    add("digits_decimal", "3.14159 and 2,718", "3 14159 2 718")
    add("digits_mixed", "The 1990s, 2nd and 10th editions; Y2K bug; mp3s abc123ing",
        "1990 2nd 10th y2k mp3 abc123")
    add("digits_only", "1 22 333 4444 55555", "4444 55555 1")
    # ASCII case and token splitting
    add("case", "THE QUICK BROWN FOX JUMPS", "the quick brown fox jumps")
    add("case_mixed", "McDonald's iPhone eBay", "mcdonald s iphone ebay")
    add("split_apostrophe", "don't won't it's author's", "don t won t it s author s")
    add("split_hyphen", "e-mail Jean-Paul well-known", "e mail jean paul well known")
    add("split_dots", "U.S.A. e.g. i.e. C++ C#", "u s a e g i e c c")
    add("underscore", "snake_case_word", "snake case word")
    # non-ASCII: a separator unless its lowercase holds an ASCII letter
    add("umlaut", "Hans Müller wrote Über Alles", "hans m ller wrote ber alles")
    add("accents", "Jean-Paul Sartre était né à Paris", "jean paul sartre etait ne a paris")
    add("dotted_I", "İstanbul İZMİR", "i stanbul i zm r")
    add("dotted_I_inside", "xİy aİ İ", "x i y a i i")
    add("kelvin", "\u212Aelvin o\u212Aay 5\u212A", "kelvin okay 5k")
    add("angstrom", "\u212Bngstr\u00f6m \u00c5ngstr\u00f6m", "ngstr m ngstr m")
    add("sharp_s", "Straße STRASSE", "stra e strasse")
    add("dotless_i", "ıstanbul Iıİi", "stanbul i i i")
    add("greek", "ΣΊΣΥΦΟΣ Odysseus", "odysseus")
    add("cyrillic", "Лев Толстой Tolstoy", "tolstoy")
    add("cjk", "東京 Tokyo 大阪 Osaka", "tokyo osaka")
    add("emoji", "great 👍 book 📚!", "great book")
    add("combining", "e\u0301cole cafe\u0301", "cole caf")
    add("fullwidth", "ＡＢＣ ａｂｃ abc", "abc")
    add("ligature", "\ufb01nance of\ufb03ce", "nance of ce")
    add("unicode_digits", "x² ٣ Ⅻ ⅻ ①", "x")
    add("titlecase", "ǅemal ǈ", "emal")
    add("nbsp", "non\u00a0breaking\u2009thin\u3000space", "non breaking thin space")
    add("rtl", "\u05e9\u05dc\u05d5\u05dd shalom \u0645\u0631\u062d\u0628\u0627", "shalom")
    # malformed UTF-8 (bytes; every bad byte is a separator)
    add("bad_latin1", b"caf\xe9s au lait", "caf s au lait")
    add("bad_lone_lead", b"abc\xc4", "abc")
    add("bad_lone_cont", b"\x80abc\xbfdef", "abc def")
    add("bad_kelvin_cut", b"o\xe2\x84ay o\xe2\x84\xaaay", "o ay okay")
    add("bad_lead_kelvin", b"o\xe2\xe2\x84\xaaay", "o kay")
    add("bad_lead_dotted", b"x\xc4\xc4\xb0y", "x i y")
    add("bad_overlong", b"a\xc0\xafb \xc1\x81c", "a b c")
    add("bad_surrogate", b"a\xed\xa0\x80b", "a b")
    add("bad_too_big", b"a\xf4\x90\x80\x80b", "a b")
    add("bad_cut_emoji", b"great\xf0\x9f\x98book", "great book")
    add("nul", b"alpha\x00beta", b"alpha beta\x00")
    # repeats: rouge1 clips counts, rougeL is order-sensitive
    add("repeat_target", "the the the the", "the")
    add("repeat_prediction", "the", "the the the the")
    add("repeat_both", "a b a b a b a", "b a b a")
    add("repeat_stems", "run runs running runner", "run run run run")
    add("reversed", "one two three four five", "five four three two one")
    add("single_token_match", "author", "authors")
    add("single_token_miss", "author", "writer")
    # the stemmer inside the scorer: inflections that conflate, short tokens left alone
    add("stem_paper", " ".join(PAPER_WORDS), PAPER_STEMS)
    add("stem_inflections", "connected connecting connection connections connects",
        "connect connect connect connect connect")
    add("stem_short", "cats bus ies sky was has gas yes", "cat buss ie ski wa ha ga ye")
    add("stem_irregular", " ".join(NLTK_SPECIAL), " ".join(reversed(NLTK_SPECIAL)))
    add("stem_y", "happy happiness yyyy syzygy sayyy toy toying", "happi happi yyyy syzygi sayyi toy toi")
    # long texts (500 words): from TOFU answers, and random vocabulary
    text = []
    while len(text) < 500:
        text += rng.choice(answers).split()
    text = text[:500]
    edited = [w for w in text if rng.random() > 0.1]
    for i in range(0, len(edited), 37):
        edited[i] = rng.choice(vocab)
    add("long_edit", " ".join(text), " ".join(edited))
    add("long_shuffled", " ".join(text), shuffle_words(rng, " ".join(text)))
    add("long_random", long_text(rng, vocab, 500), long_text(rng, vocab, 500))
    add("long_vs_short", " ".join(text), " ".join(text[:20]))
    add("short_vs_long", " ".join(text[:20]), " ".join(text))
    add("long_small_vocab", long_text(rng, vocab[:5], 500), long_text(rng, vocab[:5], 480))
    return A


# ---- stemmer words ----------------------------------------------------------------------

PREFIXES = ["", "b", "y", "tr", "ab", "ee", "by", "oy", "ivy", "bab", "trab", "oat",
            "abab", "troubl", "privat", "orrer", "conn", "hopp", "fizz", "fall", "hiss",
            "syzyg", "yy", "ayy", "bey", "sw", "box", "cr", "wh", "abil", "ocean", "11", "x9"]
SUFFIXES = sorted(set("""
s ss sses ies ied eed ed ing y e ll l
at ate bl ble iz ize atedbb bbed bbing lled lling ssed ssing zzed zzing tted tting
wed xed yed wing xing ying
ational tional enci anci izer bli abli alli entli eli ousli ization ation ator alism
iveness fulness ousness aliti iviti biliti fulli logi
icate ative alize iciti ical ful ness
al ance ence er ic able ible ant ement ment ent ion sion tion ou ism ite iti ous ive
""".split()))


def stem_words(vocab):
    words = set(vocab)
    words.update(PAPER_WORDS)
    words.update(NLTK_SPECIAL)
    words.update(p + s for p in PREFIXES for s in SUFFIXES)
    words.update(["a", "i", "y", "yy", "yyy", "yyyy", "yyyyyyyyyyyy", "ay", "ya",
                  "syzygy", "sayyy", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaing",
                  "rationalli", "nationalli", "generalli", "callousli", "fullness",
                  "hopefulli", "ally", "alli", "ealli", "elli", "logi", "ologi", "biologi",
                  "analogies", "analogy", "ied", "eed", "ies"])
    words.discard("")
    return [[w, STEMMER.stem(w)] for w in sorted(words)]


def tofu_vocabulary(data):
    words = set()
    for path in sorted(glob.glob(os.path.join(data, "*.json"))):
        for rec in read_jsonl(path):
            for r in rec if isinstance(rec, list) else [rec]:
                for v in r.values():
                    for s in v if isinstance(v, list) else [v]:
                        if isinstance(s, str):
                            words.update(tokens(s, stem=False))
    return sorted(words)


def build(data):
    rng = random.Random(SEED)
    vocab = tofu_vocabulary(data)
    answers = [r["answer"] for r in read_jsonl(os.path.join(data, "forget10.json"))]
    pairs = tofu_pairs(data, rng)
    pairs += generation_pairs(data, rng)
    pairs += adversarial_pairs(rng, vocab, answers)
    stems = stem_words(vocab)
    return {
        "generator": "tests/oracle/rouge_oracle.py",
        "scorer": 'rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)'
                  ".score(target, prediction)",
        "versions": {
            "python": platform.python_version(),
            "rouge_score": pkg_version("rouge_score"),
            "nltk": nltk.__version__,
            "unicodedata": unicodedata.unidata_version,
            "porter_mode": STEMMER.mode,
        },
        "stems": stems,
        "pairs": pairs,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="TOFU JSON Lines directory")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="regenerate and compare with --out instead of writing it")
    args = ap.parse_args()
    text = json.dumps(build(args.data), ensure_ascii=False, indent=None,
                      separators=(",", ":")) + "\n"
    # one pair / stem per line keeps diffs readable
    text = text.replace(',{"kind"', ',\n{"kind"').replace('],["', '],\n["')
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            same = f.read() == text
        print("fixture up to date" if same else "fixture differs")
        return 0 if same else 1
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    d = json.loads(text)
    kinds = collections.Counter(p["kind"].split("_")[0] for p in d["pairs"])
    print(f"{args.out}: {len(d['pairs'])} pairs {dict(kinds)}, {len(d['stems'])} stems, "
          f"{len(text)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
