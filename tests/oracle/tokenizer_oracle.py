#!/usr/bin/env python3
"""Tokenizer oracle: writes tests/fixtures/tokenizers/<name>/cases.jsonl for test_tokenizer.c.

Run with the oracle venv (tokenizers, transformers, sentencepiece; see requirements.txt):

    /work/venv-oracle/bin/python tests/oracle/tokenizer_oracle.py

The reference is the `tokenizers` library (the code that defines tokenizer.json); the
transformers wrapper is cross-checked on every item so the two cannot silently diverge.

llama2: transformers' own converter turns ../shared/models/tokenizers/llama2/tokenizer.model
into tests/fixtures/tokenizers/llama2/tokenizer.json (committed; regenerated here).
llama3: ../shared/models/tokenizers/llama3/tokenizer.json is used in place.

One JSON object per line:
  {"tofu": i, "field": "question"|"answer", "ids": [...]}    line i of ../shared/data/tofu/full.json
  {"text": "...", "ids": [...], "ids_sp": [...]}              adversarial item
  {"b64": "...", ...}                                         the same, text given as raw bytes
                                                              (invalid UTF-8); HF sees it decoded
                                                              with errors="replace", as a caller would
  "dec": decode(ids, skip_special_tokens=False), present only when it differs from the text
  "dec_skip": decode(ids, skip_special_tokens=True) (adversarial items only)
  "dec64", "dec_skip64": the same as base64 of UTF-8, for the base64 items

tests/fixtures/tokenizers/variants.jsonl: pipeline variants of the two tokenizers (VARIANTS
below), one line each: {"base", "name", "patch": top-level members to replace, "cases":
[[text as base64, ids with add_special_tokens=True, decode as base64], ...]}.
  "ids_sp": encode with add_special_tokens=True (adversarial items only)
"""
import base64
import json
import os
import random
import shutil
import sys
import tempfile

import tokenizers
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizers")


def adversarial():
    """(text_or_bytes) items that stress the pre-tokenizer, the merges and the added tokens."""
    items = [
        "", " ", "  ", "   ", "\t", "\t\t x", "\n", "\n\n\n", "a\n\nb", " \n \t\r\n ",
        "   multiple   spaces   here", "trailing   ", "  leading", "\r\n\r\nwindows\r\n",
        "tab\there\t\tand\t\t\tthere", "x \n y", "!!!???...", "hello,world;foo:bar",
        "Hello 👋🏽 world 🇺🇸 👨‍👩‍👧 🤖🤖", "日本語のテキストです。中文测试，한국어 텍스트",
        "e\u0301 n\u0303 a\u0308\u0304 Z\u0324\u0354\u0367\u0311\u0313",
        "Zalgo: Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
        "Hello мир 世界 مرحبا नमस्ते สวัสดี 🌍!", "Ελληνικά και English mixed",
        "12345678901234567890", "3.14159 1,000,000 2024-01-01 0x1F", "a1b22c333d4444",
        "I'm he's we'll they'd you've can't DON'T She'S I'LL",
        "'s 'll 't 're 've 'm 'd", "x's", "''''",
        "a<|eot_id|>b", "<|begin_of_text|>Hello<|end_of_text|>", "<|eot_id|><|eot_id|>",
        "<|not_a_token|>", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        " <|eot_id|> spaced ", "<|begin_of_text", "<s>hi</s>", "a<s>b", " <s> x", "<unk>",
        "</s></s>", "<<s>>",
        "a\x00b", "\x01\x02\x03\x7f", "\u00a0nbsp\u00a0", "ideo\u3000space", "line\u2028sep",
        "\x0b\x0c", "\x1c\x1d\x1e\x1f", "nel\u0085x", "\ufeffbom", "\u200bzero\u200dwidth",
        "\U0001F600" * 5, "\U00010348 gothic", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝓜𝓪𝓽𝓱", "ﬁ ligature Ⅻ ①",
        "a" * 10000, "abc" * 3334, "1234567890" * 1000, "é" * 5000, "🙂" * 2500,
        " " * 1000, "\n" * 500, "word " * 2000,
        "The quick brown fox jumps over the lazy dog.",
        "def f(x):\n    return x ** 2  # comment\n",
        "{\"json\": [1, 2, 3], \"k\": null}",
        "https://example.com/path?q=1&r=two#frag",
        # Invalid UTF-8, as bytes: stray continuation, truncated sequences, overlong,
        # surrogate, beyond U+10FFFF, 0xFE/0xFF.
        b"abc\xff\xfedef", b"\xe2\x82", b"\xe2\x82 x", b"\xc3(", b"\xed\xa0\x80",
        b"\xf0\x9f\x98", b"\xf0\x9f\x98 end", b"\x80\x80 hi", b"\xf4\x90\x80\x80",
        b"\xc0\xaf", b"\xe0\x80\xaf", b"ok \xf0\x9f\x98\x80 \xf0\x9f", b"\xff" * 10,
    ]
    # Deterministic random strings drawn from a mix of scripts, spaces and punctuation.
    rng = random.Random(1234)
    pools = ["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789",
             " \t\n\r", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "éüßçñøåœ", "абвгдежзий",
             "日本語中文字", "😀🎉👍🏽❤️", "\u0301\u0308\u200d", "αβγδε", "'s'll're"]
    for _ in range(150):
        n = rng.randint(1, 60)
        items.append("".join(rng.choice(rng.choice(pools)) for _ in range(n)))
    return items


def encode_all(tok, fast, texts):
    """ids via tokenizers, cross-checked with the transformers wrapper."""
    encs = tok.encode_batch(texts, add_special_tokens=False)
    out = []
    for t, e in zip(texts, encs):
        ids = e.ids
        ref = fast(t, add_special_tokens=False)["input_ids"]
        if ids != ref:
            sys.exit(f"tokenizers and transformers disagree on {t[:60]!r}")
        out.append(ids)
    return out


def write_cases(name, tok_json, cfg_dir):
    tok = tokenizers.Tokenizer.from_file(tok_json)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_file=tok_json)
    rows = []
    tofu = os.path.join(SHARED, "data", "tofu", "full.json")
    with open(tofu, encoding="utf-8") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    texts, keys = [], []
    for i, row in enumerate(lines):
        for field in ("question", "answer"):
            texts.append(row[field])
            keys.append((i, field))
    ids = encode_all(tok, fast, texts)
    for (i, field), t, x in zip(keys, texts, ids):
        r = {"tofu": i, "field": field, "ids": x}
        d = tok.decode(x, skip_special_tokens=False)
        if d != t:
            r["dec"] = d
        rows.append(r)
    adv = adversarial()
    as_text = [a.decode("utf-8", errors="replace") if isinstance(a, bytes) else a for a in adv]
    ids = encode_all(tok, fast, as_text)
    for a, t, x in zip(adv, as_text, ids):
        # Raw bytes (and text with NUL, which C strings cannot carry) go as base64, and so
        # do their decodes.
        raw = a if isinstance(a, bytes) else (a.encode() if "\x00" in a else None)
        b64 = lambda s: base64.b64encode(s.encode()).decode()
        r = {"b64": base64.b64encode(raw).decode()} if raw is not None else {"text": t}
        r["ids"] = x
        r["ids_sp"] = tok.encode(t, add_special_tokens=True).ids
        d = tok.decode(x, skip_special_tokens=False)
        ds = tok.decode(x, skip_special_tokens=True)
        if raw is not None:
            r["dec64"] = b64(d)
            r["dec_skip64"] = b64(ds)
        else:
            if d != t:
                r["dec"] = d
            r["dec_skip"] = ds
        rows.append(r)
    out = os.path.join(FIX, name, "cases.jsonl")
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=True, separators=(",", ":")) + "\n")
    print(f"{name}: {len(rows)} cases ({len(texts)} tofu, {len(adv)} adversarial) -> {out}")


def make_llama2():
    """tokenizer.json for Llama-2 from its SentencePiece model, by transformers' converter."""
    src = os.path.join(SHARED, "models", "tokenizers", "llama2", "tokenizer.model")
    dst = os.path.join(FIX, "llama2")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(src, os.path.join(tmp, "tokenizer.model"))
        t = transformers.LlamaTokenizer.from_pretrained(tmp)
        if len(t) != 32000:
            sys.exit(f"converter gave {len(t)} tokens, expected 32000")
        out = os.path.join(tmp, "out")
        t.save_pretrained(out)
        os.makedirs(dst, exist_ok=True)
        shutil.copy(os.path.join(out, "tokenizer.json"), os.path.join(dst, "tokenizer.json"))
        shutil.copy(os.path.join(out, "tokenizer_config.json"),
                    os.path.join(dst, "tokenizer_config.json"))
    return os.path.join(dst, "tokenizer.json")


VARIANT_EXTRA = ["x <pad> y", "a  <pad>  b", "<pad>", "  <s>  ", "hello world  foo",
                 "  two leading", "a\u2581b \u2581\u2581c"]

# Pipeline variants the two real tokenizers do not use, checked on the adversarial set:
# (base, name, the top-level members replaced).
VARIANTS = [
    ("llama2", "metaspace_always_split",
     {"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                        "split": True}}),
    ("llama2", "metaspace_first_split",
     {"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                        "split": True}}),
    ("llama2", "legacy_normalizer_bos",
     {"pre_tokenizer": None,
      "normalizer": {"type": "Sequence", "normalizers": [
          {"type": "Prepend", "prepend": "\u2581"},
          {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
      "post_processor": {"type": "TemplateProcessing",
                         "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                    {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                         "pair": [],
                         "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]},
                                            "</s>": {"id": "</s>", "ids": [2],
                                                     "tokens": ["</s>"]}}}}),
    ("llama2", "metaspace_decoder",
     {"decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                  "split": True}}),
    ("llama2", "added_lstrip_rstrip",
     {"added_tokens": None}),  # filled in below: llama2's plus <pad> with lstrip/rstrip
    ("llama3", "gpt2_bytelevel_prefix",
     {"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                        "use_regex": True}}),
]


def write_variants(bases):
    rows = []
    texts = [a if isinstance(a, bytes) else a.encode() for a in adversarial()]
    texts += [t.encode() for t in VARIANT_EXTRA]
    texts = [t for t in texts if len(t) <= 2000]  # the long words are covered above
    for base, name, patch in VARIANTS:
        doc = json.load(open(bases[base], encoding="utf-8"))
        if name == "added_lstrip_rstrip":
            patch = {"added_tokens": doc["added_tokens"] + [
                {"id": 32000, "content": "<pad>", "single_word": False, "lstrip": True,
                 "rstrip": True, "normalized": False, "special": True}]}
        doc.update(patch)
        tok = tokenizers.Tokenizer.from_str(json.dumps(doc))
        cases = []
        for t in texts:
            ids = tok.encode(t.decode("utf-8", errors="replace"), add_special_tokens=True).ids
            dec = tok.decode(ids, skip_special_tokens=False)
            cases.append([base64.b64encode(t).decode(), ids, base64.b64encode(dec.encode()).decode()])
        rows.append({"base": base, "name": name, "patch": patch, "cases": cases})
    out = os.path.join(FIX, "variants.jsonl")
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=True, separators=(",", ":")) + "\n")
    print(f"variants: {len(rows)} x {len(texts)} cases -> {out}")


def main():
    print(f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__}")
    l2 = make_llama2()
    write_cases("llama2", l2, None)
    l3 = os.path.join(SHARED, "models", "tokenizers", "llama3", "tokenizer.json")
    write_cases("llama3", l3, None)
    write_variants({"llama2": l2, "llama3": l3})


if __name__ == "__main__":
    main()
