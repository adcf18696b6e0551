#!/usr/bin/env python3
"""DistilBERT classifier oracle: a tiny random DistilBertForSequenceClassification with a
WordPiece tokenizer trained on TOFU, and the ids and float64 logits transformers gives it.

    /work/venv-oracle/bin/python tests/oracle/distilbert_oracle.py           # rewrite
    /work/venv-oracle/bin/python tests/oracle/distilbert_oracle.py --check   # regenerate, compare

Writes (checked by tests/unit/test_distilbert.c):
  tests/fixtures/classifier/distilbert-tiny/        save_pretrained of model and tokenizer
      config.json, model.safetensors (F32), tokenizer.json, tokenizer_config.json, and a
      vocab.txt written here (transformers 5 saves only tokenizer.json) so the C loader's
      vocab.txt fallback can be checked too
  tests/fixtures/classifier/distilbert-tiny-expected.json
      {"versions", "max_length": 32, "id2label", "cases": [{"name", "text", "input_ids",
       "attention_mask", "logits", "logits_f32"}], "random_max_length": 128, "random_cases":
       [{"text", "input_ids"}], "config_variants": [{"patch", "tokenizer_config_json",
       "cases": [{"text", "input_ids"}]}], "added_tokens_variant": {"tokenizer_json",
       "cases": [{"text", "input_ids"}]}}

The gibberish metric of open-unlearning runs the classifier as
    tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    softmax(model(**inputs).logits)[:, 0]
so input_ids are the tokenizer's with truncation=True, max_length=32 (unpadded here, the
attention mask all ones), and the logits come from one forward of a float64 copy of the
model (model.double()) over all cases padded to the longest, as HF pads a batch.
"logits_f32" is the same batch through the float32 model (for reference: how far HF's own
fp32 forward is from float64). "random_cases": 300 seeded random strings over every
character class the tokenizer treats apart (cased and accented letters, combining marks, CJK
on both sides of tokenizers' range gap, whitespace, controls, format characters, Unicode
punctuation, characters newer than tokenizers' Unicode tables, special tokens in text, words
of 99 and 101 characters), ids with max_length 128. "config_variants": tokenizer_config.json
with do_lower_case / strip_accents / tokenize_chinese_chars changed, and the ids transformers
then gives (it rebuilds the normalizer from those flags, whatever tokenizer.json says); the
vocab.txt-only directory is asserted to give the same ids as tokenizer.json everywhere.
"added_tokens_variant": the tokenizer.json with added tokens carrying single_word, lstrip,
rstrip and normalized (true and false), and tokenizers' ids for texts around them;
"added_tokens_variant_no_pretokenizer" the same without a pre-tokenizer.

The vocabulary (about 1500 tokens) is trained by tokenizers' WordPieceTrainer on every
question and answer of ../shared/data/tofu/*.json with BertNormalizer(lowercase,
strip_accents=None: follows lowercase) and BertPreTokenizer; an initial alphabet adds a few
CJK, Cyrillic, Greek and emoji characters so that those scripts give real ids, not only
[UNK]. Weights: torch.manual_seed(SEED), initializer_range 0.2; LayerNorm weights and all
biases are then perturbed (N(0, 0.1)) so that a swapped or ignored tensor changes logits.
Everything runs on one CPU thread; two runs give identical files.

--unicode-tables writes plugins/models/distilbert/lib/wordpiece_unicode.h (and
tests/fixtures/classifier/wordpiece-normalizer.json, see normalizer_fixture) instead: the
character classes tokenizers uses, probed on every code point (its Unicode tables are
older than GLib's: U+0890, U+061D, U+1E08F ... are unassigned to it, so kept and not split,
and its CJK ranges skip U+2B820..U+2B91F), as sorted inclusive ranges:
  ws     split by BertPreTokenizer when clean_text is off (Rust's char::is_whitespace)
  ctrl   dropped by clean_text (with U+0000 and U+FFFD)
  punct  split out by BertPreTokenizer (the ASCII ones included)
  mn     dropped by strip_accents when NFD leaves the character alone
  cjk    spaced by handle_chinese_chars
  nfd    changed by tokenizers' NFD (the C code decomposes these, and only these, with
         GLib: a decomposition never changes once assigned, but U+11938 is one tokenizers
         does not know)
  lower  tokenizers' Lowercase as runs {first, last, step, delta}: c -> c + delta for c in
         first, first + step, ..., last (GLib's g_unichar_tolower misses U+2160 Roman
         numerals, U+24B6 circled letters, ...); U+0130 -> "i\u0307" is the one mapping to
         two characters and is not in the table
"""
import argparse
import glob
import json
import os
import random
import shutil
import sys
import tempfile

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "tofu")
FIX = os.path.join(ROOT, "tests", "fixtures", "classifier")
SEED = 20240611
MAX_LENGTH = 32
ID2LABEL = {0: "clean", 1: "mild gibberish", 2: "noise", 3: "word salad"}
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
EXTRA_ALPHABET = list("日本語中文测试字のテキストですпривет мирαβγδεΣ😀🤖👍") + ["\U0001F600"]


def tofu_texts(data):
    texts = []
    for path in sorted(glob.glob(os.path.join(data, "*.json"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                row = json.loads(line)
                for k in ("question", "answer"):
                    if isinstance(row.get(k), str):
                        texts.append(row[k])
    return texts


def train_tokenizer(texts):
    tok = tokenizers.Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=1500, special_tokens=SPECIALS,
                                        initial_alphabet=[c for c in EXTRA_ALPHABET if c != " "],
                                        show_progress=False)
    tok.train_from_iterator(texts, trainer)
    # The trainer numbers tokens of equal count in hash order (a new order every run; the
    # set of tokens is stable): renumber them, specials first, then in code point order.
    trained = tok.get_vocab()
    order = SPECIALS + sorted(t for t in trained if t not in SPECIALS)
    assert len(order) == len(trained)
    normalizer, pre = tok.normalizer, tok.pre_tokenizer
    tok = tokenizers.Tokenizer(models.WordPiece(vocab={t: i for i, t in enumerate(order)},
                                                unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre
    tok.add_special_tokens([tokenizers.AddedToken(t, special=True, normalized=False)
                            for t in SPECIALS])
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece()
    return transformers.DistilBertTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
        cls_token="[CLS]", mask_token="[MASK]", do_lower_case=True)


def cases(data):
    """(name, text): TOFU answers, real generations, gibberish and adversarial strings."""
    rng = random.Random(SEED)
    out = []
    with open(os.path.join(data, "forget10.json"), encoding="utf-8") as f:
        rows = [json.loads(l) for l in f if l.strip()]
    for i in sorted(rng.sample(range(len(rows)), 8)):
        out.append((f"tofu_forget10_answer_{i}", rows[i]["answer"]))
    out.append(("tofu_forget10_question_0", rows[0]["question"]))
    with open(os.path.join(data, "retain90.json"), encoding="utf-8") as f:
        rows = [json.loads(l) for l in f if l.strip()]
    for i in sorted(rng.sample(range(len(rows)), 4)):
        out.append((f"tofu_retain90_answer_{i}", rows[i]["answer"]))
    for path in sorted(glob.glob(os.path.join(data, "reference_eval_logs", "*.json"))):
        parts = os.path.basename(path).split("_")
        model = f"{parts[3]}_{parts[4]}"  # llama2-7b_full, phi_retain90, ...
        with open(path, encoding="utf-8") as f:
            logs = json.load(f)
        gen = logs["eval_log_forget.json"]["generated_text"]
        for k in sorted(rng.sample(sorted(gen, key=int), 3), key=int):
            out.append((f"gen_{model}_forget_{k}", gen[k][1]))
    letters = "abcdefghijklmnopqrstuvwxyz"
    rand_words = " ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 9)))
                          for _ in range(12))
    out += [
        ("gibberish_keys", "asdkj qwe zxc"),
        ("gibberish_mash", "qwertyuiop asdfghjkl zxcvbnm jjjjjj kkkk"),
        ("gibberish_random_letters", rand_words),
        ("repeated_words", "the the the the the the the the the the the the the the the"),
        ("repeated_name", "Hsiao Hsiao Hsiao Yun-Hwa Yun-Hwa Yun-Hwa author author"),
        ("word_salad", "author born leadership father civil engineer Taipei gender write"),
        ("accents", "Café naïve Ångström résumé Zoë façade Ærø"),
        ("accents_upper", "ÉCOLE ÇA VA ÑANDÚ ÜBER"),
        ("combining_marks", "e\u0301 n\u0303 a\u0308\u0304 Z\u0324\u0354\u0367\u0311"),
        ("dotted_i_sharp_s", "İstanbul Straße ǅemal ΣΊΣΥΦΟΣ"),
        ("cjk", "日本語のテキストです。中文测试，字"),
        ("hangul_thai_devanagari", "한국어 สวัสดี नमस्ते"),
        ("cyrillic_greek", "Привет мир αβγδε ΑΒΓ"),
        ("emoji", "Hello 👋🏽 world 🇺🇸 👨\u200d👩\u200d👧 🤖🤖 😀 👍"),
        ("control_chars", "\x01start\x07 \x1b[31mred\x1b[0m \x7fdel\x0b\x0cff\x1c"),
        ("format_chars", "zero\u200bwidth\u200dj \ufeffbom soft\u00adhyphen \ufffdrep"),
        ("whitespace", "line1\nline2\r\n\tindented\u00a0nbsp\u3000ideo\u2028sep\u2003em"),
        ("math_letters", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﬁ ligature Ⅻ ① ☃ snowman"),
        ("long_word_101", "a" * 101),
        ("long_word_100", "b" * 100),
        ("long_word_mixed", "antidisestablishmentarianism" * 5 + " end"),
        ("long_text", " ".join([rows[0]["answer"]] * 3)),
        ("long_punct", "!?" * 40),
        ("empty", ""),
        ("space_only", "   "),
        ("punct_only", "!!!???...,;:"),
        ("unicode_punct", "«quoted» „low“ —dash– ¿qué? ¡sí! …ellipsis・"),
        ("specials_in_text", "[SEP] inside text [CLS] and [MASK]x[PAD]"),
        ("specials_lowercase", "[cls] [sep] [unk] [UNK]"),
        ("digits", "3.14159 1,000,000 2024-01-01 0x1F a1b22c333"),
        ("apostrophes", "I'm he's can't DON'T author's authors'"),
        ("url_code", "https://example.com/path?q=1&r=two#frag def f(x): return x ** 2"),
        ("single_char", "a"),
        ("mixed_case", "tHe AuThOr Is HsIaO yUn-HwA"),
    ]
    return out


def random_texts(n):
    """Seeded random strings over the classes the tokenizer treats differently."""
    rng = random.Random(SEED + 2)
    pools = [
        "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789",
        " \t\n\r\x0b\x0c\x85\u00a0\u2003\u3000\u2028", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "\u00ab\u00bb\u201c\u201d\u2014\u2013\u00bf\u00a1\u2026\u30fb\u061d\u166d\U000111c9",
        "\u00e9\u00fc\u00df\u00e7\u00f1\u00f8\u00e5\u0153\u00c9\u00c5\u0130\u01c5\u03a3\u1e9e",
        "\u0301\u0308\u0327\u0344\u0903\u093f\u0e31\u20dd",
        "\u65e5\u672c\u8a9e\u4e2d\u6587\u5b57\u3042\u30c6\uac00\ud55c\U0002b820\U0002b920\uf900",
        "\x01\x07\x1b\x7f\u200b\u200d\ufeff\u00ad\ufffd\ue000\U000f0000",
        "\U0001f600\U0001f44d\U0001f3fd\U0001f916\u2603\U0001d518\ufb01\u2160\u24b6\u2460",
        "\u0890\U00011938\u1c89\u0378\u0560\u0d81",
        "\u0416\u0436\u03b1\u03b2\u05d0\u0627\u0928",
    ]
    words = ["[SEP]", "[CLS]", "[MASK]", "[PAD]", "[UNK]", "[sep]", "the", "author", "Hsiao",
             "b" * 99, "c" * 101, "unaffable", "##ing"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.15:
                parts.append(rng.choice(words))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
            if rng.random() < 0.5:
                parts.append(" ")
        out.append("".join(parts))
    return out


CONFIG_VARIANTS = [
    {"do_lower_case": False},
    {"strip_accents": False},
    {"tokenize_chinese_chars": False},
    {"do_lower_case": False, "strip_accents": True},
]
VARIANT_TEXTS = ["Hello World", "Café naïve Ångström résumé", "ÉCOLE ÇA VA", "日本語のテキスト",
                 "İstanbul Straße", "The Author Hsiao Yun-Hwa", "e\u0301 n\u0303 a\u0308",
                 "MiXeD cAsE 𝔘𝔫𝔦 Ⅻ Ⓐ", "ΣΊΣΥΦΟΣ αβγ", "[SEP] and [cls]"]


ADDED_VARIANT_TEXTS = [
    "<m>", "x<m>", "<m>x", " <m> ", "x <m>  x", "_<m>", "1<m>", "\u00e9<m>", "<m>\u00e9",
    "<m><m>", "  <m>", "<M>", "\u00a0<m>\u00a0", "x\t <m>\n x", "-<m>-", "a<l>b", "a  <l>  b",
    "a<r>  b", "a <R> b", "the<w>author", "the <w> author", "[SEP]<m>[SEP]", "<mm>", "<m>m>",
    "the  [MASK]  author", "x[MASK]y", "caf\u00e9<CAF\u00c9>", "<caf\u00e9>",
    "<p><p><p>", "<p> <p><p>", "x<p><p>y<p>",
]


def added_variant(tok, pretokenize=True):
    """The fixture's tokenizer.json plus added tokens with every flag, through tokenizers
    (without a pre-tokenizer, lstrip and rstrip change the words around the token)."""
    raw = tokenizers.Tokenizer.from_str(tok.backend_tokenizer.to_str())
    if not pretokenize:
        raw.pre_tokenizer = None
    raw.add_tokens([
        tokenizers.AddedToken("<m>", single_word=True, normalized=True),
        tokenizers.AddedToken("<l>", lstrip=True, normalized=False),
        tokenizers.AddedToken("<r>", rstrip=True, normalized=True),
        tokenizers.AddedToken("<w>", single_word=True, lstrip=True, rstrip=True, normalized=False),
        tokenizers.AddedToken("<mm>", normalized=False),
        tokenizers.AddedToken("<CAF\u00c9>", normalized=True),
        tokenizers.AddedToken("<p>", normalized=False),
        tokenizers.AddedToken("<p><p>", normalized=False),
    ])
    raw.add_special_tokens([tokenizers.AddedToken("[MASK]", lstrip=True, rstrip=True,
                                                  special=True, normalized=False)])
    cases = [{"text": t, "input_ids": raw.encode(t).ids} for t in ADDED_VARIANT_TEXTS]
    return {"tokenizer_json": raw.to_str(pretty=True), "cases": cases}


def perturb(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=gen))


def build(out_dir, expected_path):
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    tok = train_tokenizer(tofu_texts(DATA))
    vocab = tok.get_vocab()
    cfg = transformers.DistilBertConfig(
        vocab_size=len(vocab), dim=64, n_layers=2, n_heads=4, hidden_dim=128,
        max_position_embeddings=64, activation="gelu", sinusoidal_pos_embds=False,
        initializer_range=0.2, pad_token_id=vocab["[PAD]"], id2label=ID2LABEL,
        label2id={v: k for k, v in ID2LABEL.items()})
    model = transformers.DistilBertForSequenceClassification(cfg).eval()
    gen = torch.Generator().manual_seed(SEED + 1)
    perturb(model, gen)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    model.save_pretrained(out_dir, safe_serialization=True)
    tok.save_pretrained(out_dir)
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]):
            f.write(t + "\n")
    for name in os.listdir(out_dir):  # safetensors writes 0600
        os.chmod(os.path.join(out_dir, name), 0o644)

    # Reload both from disk, as a user would; the vocab.txt-only directory must agree.
    tok = transformers.AutoTokenizer.from_pretrained(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        for f in ("vocab.txt", "tokenizer_config.json"):
            shutil.copy(os.path.join(out_dir, f), tmp)
        tok_txt = transformers.DistilBertTokenizerFast.from_pretrained(tmp)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(out_dir).eval()
    raw = tokenizers.Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))

    items = cases(DATA)
    texts = [t for _, t in items]
    enc = tok(texts, truncation=True, max_length=MAX_LENGTH)
    for i, t in enumerate(texts):
        ids = enc["input_ids"][i]
        assert tok_txt(t, truncation=True, max_length=MAX_LENGTH)["input_ids"] == ids, t
        assert raw.encode(t).ids[:len(ids) - 1] == ids[:-1], t  # tokenizers itself, untruncated
    assert any(len(x) == MAX_LENGTH for x in enc["input_ids"]), "no truncated case"
    batch = tok(texts, padding=True, truncation=True, max_length=MAX_LENGTH,
                return_tensors="pt")
    with torch.no_grad():
        l32 = model(**batch).logits
        l64 = model.double()(**batch).logits
    assert l64.dtype == torch.float64
    spread = float(l64.std())
    assert spread > 0.3, f"logits too flat ({spread})"
    assert float((l64 - l32.double()).abs().max()) < 1e-4

    # Random strings, max_length 128, through both loaders.
    rnd = random_texts(300)
    rnd_ids = tok(rnd, truncation=True, max_length=128)["input_ids"]
    for t, ids in zip(rnd, rnd_ids):
        assert tok_txt(t, truncation=True, max_length=128)["input_ids"] == ids, t
    # tokenizer_config.json flags override tokenizer.json's normalizer (transformers does).
    variants = []
    with open(os.path.join(out_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        base_cfg = json.load(f)
    for patch in CONFIG_VARIANTS:
        cfg_json = json.dumps(dict(base_cfg, **patch), indent=2)
        ids = None
        for files in (("tokenizer.json",), ("vocab.txt",)):
            with tempfile.TemporaryDirectory() as tmp:
                for fn in files:
                    shutil.copy(os.path.join(out_dir, fn), tmp)
                with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
                    f.write(cfg_json)
                cls = transformers.AutoTokenizer if files[0] == "tokenizer.json" else \
                    transformers.DistilBertTokenizerFast
                got = cls.from_pretrained(tmp)(VARIANT_TEXTS, truncation=True,
                                               max_length=MAX_LENGTH)["input_ids"]
            assert ids is None or got == ids, patch
            ids = got
        assert ids != tok(VARIANT_TEXTS, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        variants.append({"patch": patch, "tokenizer_config_json": cfg_json,
                         "cases": [{"text": t, "input_ids": x} for t, x in zip(VARIANT_TEXTS, ids)]})

    out = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__,
                     "safetensors": safetensors.__version__,
                     "python": sys.version.split()[0]},
        "seed": SEED,
        "max_length": MAX_LENGTH,
        "model_dir": "distilbert-tiny",
        "id2label": [ID2LABEL[i] for i in range(len(ID2LABEL))],
        "vocab_size": len(vocab),
        "cases": [],
        "random_max_length": 128,
        "random_cases": [{"text": t, "input_ids": x} for t, x in zip(rnd, rnd_ids)],
        "config_variants": variants,
        "added_tokens_variant": added_variant(tok),
        "added_tokens_variant_no_pretokenizer": added_variant(tok, pretokenize=False),
    }
    for i, (name, text) in enumerate(items):
        n = len(enc["input_ids"][i])
        out["cases"].append({
            "name": name, "text": text, "input_ids": enc["input_ids"][i],
            "attention_mask": enc["attention_mask"][i],
            "logits": [float(x) for x in l64[i]],
            "logits_f32": [float(x) for x in l32[i]],
        })
        assert batch["attention_mask"][i].sum().item() == n
    with open(expected_path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=True)
        f.write("\n")
    return out


def probe(norm_kw):
    """The words BertNormalizer(**norm_kw) + BertPreTokenizer give "a" + chr(c) + "b"."""
    norm = normalizers.BertNormalizer(**norm_kw)
    pre = pre_tokenizers.BertPreTokenizer()
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        yield c, [w for w, _ in pre.pre_tokenize_str(norm.normalize_str("a" + chr(c) + "b"))]


def unicode_tables(path):
    off = dict(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    classes = {"ws": set(), "ctrl": set(), "punct": set(), "mn": set(), "cjk": set()}
    kept = set()
    for c, w in probe(off):
        if w == ["a", "b"]:
            classes["ws"].add(c)
        elif w == ["a", chr(c), "b"]:
            classes["punct"].add(c)
        else:
            assert w == ["a" + chr(c) + "b"], (hex(c), w)
    for c, w in probe(dict(off, clean_text=True)):
        if w == ["ab"]:
            classes["ctrl"].add(c)
        elif w == ["a" + chr(c) + "b"]:
            kept.add(c)
    for c, w in probe(dict(off, strip_accents=True)):
        if w == ["ab"] and c in kept:
            classes["mn"].add(c)
    for c, w in probe(dict(off, handle_chinese_chars=True)):
        if w == ["a", chr(c), "b"] and c not in classes["punct"]:
            classes["cjk"].add(c)
    nfd, low = normalizers.NFD(), normalizers.Lowercase()
    classes["nfd"] = set()
    lower = []
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        if nfd.normalize_str(chr(c)) != chr(c):
            classes["nfd"].add(c)
        lc = low.normalize_str(chr(c))
        if lc != chr(c):
            if c == 0x130:
                assert lc == "i\u0307"
                continue
            assert len(lc) == 1, hex(c)
            lower.append((c, ord(lc) - c))
    runs = []  # [first, last, step, delta, count]
    for c, d in lower:
        if runs and runs[-1][3] == d and (
                (runs[-1][4] == 1 and c - runs[-1][1] in (1, 2)) or
                (runs[-1][4] > 1 and c - runs[-1][1] == runs[-1][2])):
            r = runs[-1]
            r[2], r[1], r[4] = c - r[1], c, r[4] + 1
        else:
            runs.append([c, c, 1, d, 1])
    lines = [
        "/* plugins/models/distilbert/lib/wordpiece_unicode.h: the character classes of",
        f" * tokenizers {tokenizers.__version__}, probed on every code point by",
        " * tests/oracle/distilbert_oracle.py --unicode-tables (generated: do not edit).",
        " * Sorted inclusive ranges; wordpiece.c explains each class. */",
        "#ifndef BALDRO_DISTILBERT_WORDPIECE_UNICODE_H",
        "#define BALDRO_DISTILBERT_WORDPIECE_UNICODE_H",
        "",
        "#include <stdint.h>",
        "",
    ]
    for name in ("ws", "ctrl", "punct", "mn", "cjk", "nfd"):
        ranges = []
        for c in sorted(classes[name]):
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
        lines.append(f"static const uint32_t wp_{name}[][2] = {{")
        row = []
        for a, b in ranges:
            row.append(f"{{0x{a:X}, 0x{b:X}}},")
            if len(row) == 5:
                lines.append("    " + " ".join(row))
                row = []
        if row:
            lines.append("    " + " ".join(row))
        lines.append("};")
        lines.append("")
    lines.append("static const int32_t wp_lower[][4] = { /* first, last, step, delta */")
    row = []
    for a, b, st, d, _ in runs:
        row.append(f"{{0x{a:X}, 0x{b:X}, {st}, {d}}},")
        if len(row) == 4:
            lines.append("    " + " ".join(row))
            row = []
    if row:
        lines.append("    " + " ".join(row))
    lines.append("};")
    lines.append("")
    lines.append("#endif /* BALDRO_DISTILBERT_WORDPIECE_UNICODE_H */")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    out = {k: len(v) for k, v in classes.items()}
    out["lower"] = len(lower)
    out["normalizer_texts"] = normalizer_fixture(classes, [c for c, _ in lower])
    return out


NORMALIZER_CONFIGS = {  # BertNormalizer settings of wordpiece-normalizer.json
    "ls": dict(lowercase=True, strip_accents=None),
    "l": dict(lowercase=True, strip_accents=False),
    "n": dict(lowercase=False, strip_accents=False),
}


def normalizer_fixture(classes, lowered):
    """tests/fixtures/classifier/wordpiece-normalizer.json: tokenizers' BertNormalizer +
    BertPreTokenizer words of strings "x<c>y x<c>y ..." over every character of the classes
    (Hangul syllables and private-use planes sampled), each range boundary +-1, the lowercase
    mappings, characters newer than tokenizers' tables, out-of-order combining marks, and the
    random strings of the main fixture; words joined by single spaces (no word holds one)."""
    chars = set(lowered) | classes["mn"] | classes["punct"] | classes["ws"] | classes["nfd"]
    chars |= {c for c in classes["ctrl"] if c < 0xE000 or 0xF900 <= c < 0xF0000}
    chars -= set(range(0xAC02, 0xD7A2))  # Hangul syllables: the ends only
    for name in ("ws", "ctrl", "punct", "mn", "cjk", "nfd"):
        for c in classes[name]:
            for d in (c - 1, c, c + 1):
                if (d - 1 not in classes[name] or d + 1 not in classes[name]) and \
                        0 < d < 0x110000 and not 0xD800 <= d <= 0xDFFF:
                    chars.add(d)
    chars |= {0x378, 0x61D, 0x890, 0x1C89, 0x11938, 0x2160, 0x24B6, 0x130, 0x3A3, 0x1E9E}
    chars.discard(0)
    texts = []
    ordered = sorted(chars)
    for i in range(0, len(ordered), 48):
        texts.append(" ".join("x" + chr(c) + "y" for c in ordered[i:i + 48]))
    texts += ["a\u0301\u0327 e\u0327\u0301 \U0001D16E\U0001D165 x\u0F39\u0F71\u0F72",
              "x\U0001D16D\U0001D165y x\U0001D165\U0001D16Dy x\U0001D16D\u0301\U0001D165y",
              "\u1100\u1161\u11A8 \uAC00\uAC01 \uD7A3", "\u0130\u0049\u0307 \u03A3\u03A3 \u1E9E"]
    texts += random_texts(300)
    rows = []
    for t in texts:
        row = {"text": t}
        for name, kw in NORMALIZER_CONFIGS.items():
            norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, **kw)
            words = [w for w, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(
                norm.normalize_str(t))]
            assert all(" " not in w and w for w in words)
            row[name] = " ".join(words)
        rows.append(row)
    path = os.path.join(FIX, "wordpiece-normalizer.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"tokenizers": tokenizers.__version__,
                   "configs": {k: dict(v, clean_text=True, handle_chinese_chars=True)
                               for k, v in NORMALIZER_CONFIGS.items()},
                   "cases": rows}, f, indent=0, ensure_ascii=False)
        f.write("\n")
    return len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare")
    ap.add_argument("--unicode-tables", action="store_true",
                    help="write plugins/models/distilbert/lib/wordpiece_unicode.h")
    args = ap.parse_args()
    if args.unicode_tables:
        path = os.path.join(ROOT, "plugins", "models", "distilbert", "lib", "wordpiece_unicode.h")
        print(f"wrote {path}: {unicode_tables(path)}")
        return
    model_dir = os.path.join(FIX, "distilbert-tiny")
    expected = os.path.join(FIX, "distilbert-tiny-expected.json")
    if not args.check:
        os.makedirs(FIX, exist_ok=True)
        out = build(model_dir, expected)
        print(f"wrote {model_dir} and {expected}: {len(out['cases'])} cases, "
              f"vocab {out['vocab_size']}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        build(os.path.join(tmp, "distilbert-tiny"), os.path.join(tmp, "expected.json"))
        bad = []
        pairs = [(os.path.join(tmp, "expected.json"), expected)]
        for f in sorted(os.listdir(os.path.join(tmp, "distilbert-tiny"))):
            pairs.append((os.path.join(tmp, "distilbert-tiny", f), os.path.join(model_dir, f)))
        for a, b in pairs:
            if not os.path.exists(b) or open(a, "rb").read() != open(b, "rb").read():
                bad.append(b)
        if bad:
            sys.exit("differs: " + ", ".join(bad))
        print("identical")


if __name__ == "__main__":
    main()
