#!/usr/bin/env python3
"""Oracle for the inspection commands (baldro-host tokenize / score / generate --json).

    /work/venv-oracle/bin/python tests/oracle/inspect_oracle.py          # rewrite the fixtures
    /work/venv-oracle/bin/python tests/oracle/inspect_oracle.py --check  # regenerate and compare

Writes tests/fixtures/inspect/:
  tiny/tokenizer.json, tiny/tokenizer_config.json
      a hand-built 100-token SentencePiece-style BPE (Metaspace, <unk> for characters
      outside its alphabet, fused; "<s>" added by the post-processor; "</s>" = 7), merges
      learned greedily from TOFU answers, so that the engine's committed random model
      tests/fixtures/engine/llama3_rope_tied (vocab 100, eos 7, 256 positions, llama3
      RoPE, tied) reads real sentences;
  tiny_llama3.json     cases on that model + tokenizer (the C test assembles the HF
                       directory: config.json, params.safetensors as model.safetensors,
                       the tokenizer above);
  stories260K.json     cases on ../shared/models/stories260K (llama2.c .bin + tok512.bin).

Each fixture lists command lines (the options after the command name; @MODEL@, @TOK@ and
@SHARED@ are filled in by the test) and what --json must print:
  tokenize  ids, tokens (tokenizer.json spelling / llama2.c pieces), loss_mask, text
            (the string encoded: open-unlearning's template applied), counts;
  score     the item's ids after the cut, target ids, per-token log p in float64,
            greedy hits with their top-1/top-2 margin, sum, count, avg_loss and
            prob = exp(-avg_loss) (TOFU's Q_A_Prob item value);
  generate  prompt ids, greedy ids (float64, full recomputation, stopping after an end
            token), their minimum top-2 margin, the decoded text, the stop reason.

Encodings: tiny, by transformers' PreTrainedTokenizerFast over the tokenizer.json with
open-unlearning's preprocess_chat_instance rule (as template_oracle.py: prompt + answer
encoded together, eos appended for the tag templates, loss from len(prompt ids)); "none"
is the same rule on the bare strings without an end token. stories260K: run.c's encode
re-implemented here and checked against reference_forward.json's prompt encodings.
Forward passes: transformers with engine_oracle.py's float64 patches, cross-checked
against engine_oracle.ref_forward (and, for stories260K, against reference_forward.json's
independent logits and greedy ids).
"""
import argparse
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch
import transformers
import tokenizers
from safetensors.numpy import load_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import engine_oracle as eo  # noqa: E402  (float64 patches, ref_forward, hand_inv_freq)

ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
OUT = os.path.join(ROOT, "tests", "fixtures", "inspect")
ENGINE_CASE = os.path.join(ROOT, "tests", "fixtures", "engine", "llama3_rope_tied")
S260K = os.path.join(SHARED, "models", "stories260K")
F64 = torch.float64
MARGIN = 1e-3  # greedy steps must win by this much (fp32 vs float64 cannot flip them)

torch.set_num_threads(1)


def tofu_rows(split, n):
    with open(os.path.join(SHARED, "data", "tofu", split + ".json"), encoding="utf-8") as f:
        return [json.loads(line) for line in f][:n]


# ----------------------------------------------------------------------------
# The tiny tokenizer
# ----------------------------------------------------------------------------
ALPHABET = (["\u2581"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] +
            list("ABCDHIJKMQSTW") + list(".,?:'-") + ["\n"])


def learn_merges(words, n_merges):
    """Greedy BPE on words (lists of symbols, None = outside the alphabet): the most
    frequent adjacent pair, ties to the smallest (joined, left) string."""
    merges = []
    for _ in range(n_merges):
        count = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                if a is not None and b is not None:
                    count[(a, b)] = count.get((a, b), 0) + c
        best = min(count.items(), key=lambda kv: (-kv[1], kv[0][0] + kv[0][1], kv[0][0]))[0]
        merges.append(best)
        out = {}
        for w, c in words.items():
            nw, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    nw.append(w[i] + w[i + 1])
                    i += 2
                else:
                    nw.append(w[i])
                    i += 1
            out[tuple(nw)] = out.get(tuple(nw), 0) + c
        words = out
    return merges


def build_tiny_tokenizer(out_dir):
    specials = {"<unk>": 0, "<s>": 1, "</s>": 7}
    size = 100
    n_merges = size - len(specials) - len(ALPHABET)
    words = {}
    for r in tofu_rows("forget10", 400):
        for text in (r["question"], r["answer"]):
            for word in ("\u2581" + text.replace(" ", "\u2581")).split("\u2581")[1:]:
                w = tuple(["\u2581"] + [ch if ch in ALPHABET else None for ch in word])
                words[w] = words.get(w, 0) + 1
    merges = learn_merges(words, n_merges)
    pieces = ALPHABET + [a + b for a, b in merges]
    vocab, free = dict(specials), iter(i for i in range(size) if i not in specials.values())
    for p in pieces:
        vocab[p] = next(free)
    assert len(vocab) == size and sorted(vocab.values()) == list(range(size))
    bpe = models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True,
                     byte_fallback=False)
    tk = Tokenizer(bpe)
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                                split=False)
    tk.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
    tk.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B",
                                                      special_tokens=[("<s>", 1)])
    os.makedirs(out_dir, exist_ok=True)
    tk.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "tokenizer_class": "PreTrainedTokenizerFast",
                   "clean_up_tokenization_spaces": False}, f, indent=2, sort_keys=True)
        f.write("\n")
    return transformers.PreTrainedTokenizerFast(
        tokenizer_file=os.path.join(out_dir, "tokenizer.json"), bos_token="<s>",
        eos_token="</s>", unk_token="<unk>", clean_up_tokenization_spaces=False)


# ----------------------------------------------------------------------------
# Encoding rules
# ----------------------------------------------------------------------------
TAGS = {"plain": ("Question: ", "\n", "Answer: "), "llama2": ("[INST] ", " [/INST]", "")}


def hf_item(tok, template, q, a):
    """(text, ids, n_prompt): open-unlearning's non-chat path, or the bare strings."""
    if template == "none":
        wrapped, eos = q, False
    else:
        start, end, astart = TAGS[template]
        wrapped, eos = start + q + end + astart, True
    ids = tok(wrapped + a, add_special_tokens=True)["input_ids"]
    n_p = len(tok(wrapped, add_special_tokens=True)["input_ids"])
    if eos and ids[-1] != tok.eos_token_id:
        ids = ids + [tok.eos_token_id]
    return wrapped + a, ids, n_p


class L2CTok:
    """run.c's tokenizer (encode, decode, safe_printf) over tok512.bin."""

    def __init__(self, path):
        data = open(path, "rb").read()
        (self.max_len,) = struct.unpack_from("<I", data, 0)
        off, self.pieces, self.scores = 4, [], []
        while off < len(data):
            score, n = struct.unpack_from("<fi", data, off)
            off += 8
            self.pieces.append(data[off:off + n])
            self.scores.append(score)
            off += n
        self.index = {}
        for i, p in enumerate(self.pieces):
            self.index.setdefault(p, i)

    def encode(self, text, bos=True):
        b = text.encode("utf-8")
        ids = [1] if bos else []
        if b:
            ids.append(self.index[b" "])
        i = 0
        while i < len(b):
            j = i + 1
            while j < len(b) and (b[j] & 0xC0) == 0x80 and j - i < 4:
                j += 1
            ch = b[i:j]
            if ch in self.index:
                ids.append(self.index[ch])
            else:
                ids.extend(x + 3 for x in ch)
            i = j
        start = 1 if bos else 0
        while True:
            best, at = -1e10, -1
            for k in range(start, len(ids) - 1):
                m = self.pieces[ids[k]] + self.pieces[ids[k + 1]]
                if m in self.index and self.scores[self.index[m]] > best:
                    best, at = self.scores[self.index[m]], k
            if at < 0:
                break
            ids[at:at + 2] = [self.index[self.pieces[ids[at]] + self.pieces[ids[at + 1]]]]
        return ids

    def decode(self, prev, ids):
        out = b""
        for t in ids:
            p = self.pieces[t]
            if prev == 1 and p.startswith(b" "):
                p = p[1:]
            if len(p) == 6 and p.startswith(b"<0x") and p.endswith(b">"):
                p = bytes([int(p[3:5], 16)])
            if len(p) == 1 and not (32 <= p[0] < 127 or p[0] in b" \t\n\v\f\r"):
                p = b""
            out += p
            prev = t
        return out.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------
def true_f64(cfg_dict, params_np):
    """transformers' model in real float64 (engine_oracle's patches) and the dict of float64
    parameters for ref_forward."""
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg_dict, f)
        model = eo.build_model(d)
    eo.load_params(model, params_np)
    inv = eo.hand_inv_freq(cfg_dict)
    eo.make_true_f64(model, inv)
    P = {k: torch.from_numpy(v).to(F64) for k, v in params_np.items()}
    return model, P, inv


def check_ref(model, P, cfg, inv, ids):
    t = torch.tensor([ids])
    with torch.no_grad():
        a = model(input_ids=t, use_cache=False).logits[0]
    b = eo.ref_forward(P, cfg, t, inv)[0]
    d = (a - b).abs().max().item()
    assert d < 1e-9, f"transformers float64 vs ref_forward: {d}"
    return a


def permute_meta_to_hf(w, n_heads):
    """Meta's interleaved RoPE pairs -> HF's rotate-half layout (convert_llama_weights_to_hf)."""
    d1, d2 = w.shape
    return w.reshape(n_heads, d1 // n_heads // 2, 2, d2).transpose(0, 2, 1, 3).reshape(d1, d2)


def load_stories260k():
    raw = open(os.path.join(S260K, "stories260K.bin"), "rb").read()
    dim, hid, L, nh, nkv, V, seq = struct.unpack_from("<7i", raw, 0)
    shared = V > 0
    V = abs(V)
    hd = dim // nh
    kv = nkv * hd
    f = np.frombuffer(raw, dtype="<f4", offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = f[pos:pos + n].reshape(shape)
        pos += n
        return a

    emb = take(V, dim)
    rms_att, wq, wk = take(L, dim), take(L, dim, dim), take(L, kv, dim)
    wv, wo, rms_ffn = take(L, kv, dim), take(L, dim, dim), take(L, dim)
    w1, w2, w3 = take(L, hid, dim), take(L, dim, hid), take(L, hid, dim)
    rms_final = take(dim)
    take(seq, hd // 2)
    take(seq, hd // 2)
    assert shared and pos == f.size, "unexpected stories260K.bin layout"
    P = {"model.embed_tokens.weight": emb, "model.norm.weight": rms_final}
    for l in range(L):
        p = f"model.layers.{l}."
        P[p + "input_layernorm.weight"] = rms_att[l]
        P[p + "self_attn.q_proj.weight"] = permute_meta_to_hf(wq[l], nh)
        P[p + "self_attn.k_proj.weight"] = permute_meta_to_hf(wk[l], nkv)
        P[p + "self_attn.v_proj.weight"] = wv[l]
        P[p + "self_attn.o_proj.weight"] = wo[l]
        P[p + "post_attention_layernorm.weight"] = rms_ffn[l]
        P[p + "mlp.gate_proj.weight"] = w1[l]
        P[p + "mlp.down_proj.weight"] = w2[l]
        P[p + "mlp.up_proj.weight"] = w3[l]
    P = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in P.items()}
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
           "intermediate_size": hid, "num_hidden_layers": L, "num_attention_heads": nh,
           "num_key_value_heads": nkv, "vocab_size": V, "max_position_embeddings": seq,
           "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None,
           "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2,
           "hidden_act": "silu", "attention_bias": False, "mlp_bias": False}
    return cfg, P


# ----------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------
def score_case(model, ids, mask, max_length):
    cut = len(ids) > max_length
    ids, mask = ids[:max_length], mask[:max_length]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0]
    lsm = torch.log_softmax(logits, -1)
    tg, lp, greedy, margins = [], [], [], []
    for j in range(1, len(ids)):
        if not mask[j]:
            continue
        row = logits[j - 1]
        top2 = torch.topk(row, 2)
        tg.append(ids[j])
        lp.append(float(lsm[j - 1, ids[j]]))
        greedy.append(int(int(top2.indices[0]) == ids[j]))
        # how far the target is from flipping its greedy hit
        other = float(top2.values[1]) if greedy[-1] else float(top2.values[0])
        margins.append(abs(float(row[ids[j]]) - other))
    s = math.fsum(lp)
    k = len(lp)
    return {"ids": ids, "target_ids": tg, "logprobs": lp, "greedy": greedy,
            "greedy_margins": margins, "n_tokens": k, "sum_logprob": s if k else None,
            "avg_loss": -s / k if k else None, "prob": math.exp(s / k) if k else None,
            "truncated": cut}


def gen_case(model, prompt, n_new, stops):
    toks, margins = eo.greedy_full_recompute(model, prompt, n_new)
    out, stop = [], "length"
    for t in toks:
        out.append(t)
        if t in stops:
            stop = "eos"
            break
    m = min(margins[:len(out)])
    assert m > MARGIN, f"greedy margin {m} too small for prompt {prompt}"
    return out, stop, m


def tiny_cases():
    tdir = os.path.join(OUT, "tiny")
    tok = build_tiny_tokenizer(tdir)
    cfg = json.load(open(os.path.join(ENGINE_CASE, "config.json")))
    params = load_file(os.path.join(ENGINE_CASE, "params.safetensors"))
    model, P, inv = true_f64(cfg, params)
    eos = tok.eos_token_id
    assert eos == cfg["eos_token_id"] == 7 and tok.bos_token_id == 1
    r = tofu_rows("forget01", 2)
    qa = [(r[0]["question"], r[0]["answer"]), (r[1]["question"], r[1]["answer"]),
          ("Who wrote it?", "Jane wrote it."), ("  Spaces  ", "\nand a new line.")]
    texts = ["The author was born in Kuwait City.",
             "\u00c9mile Zola wrote 2 books \u2014 \u00abok\u00bb \U0001F642 caf\u00e9."]
    fx = {"tokenize": [], "score": [], "generate": []}
    for template in ("auto", "llama2", "none"):
        for q, a in qa:
            t = "plain" if template == "auto" else template
            text, ids, n_p = hf_item(tok, t, q, a)
            mask = [0] * n_p + [1] * (len(ids) - n_p)
            fx["tokenize"].append({
                "args": ["--tokenizer", "@TOK@", "--template", template, "--question", q,
                         "--answer", a],
                "expect": {"template": t, "text": text, "ids": ids,
                           "tokens": tok.convert_ids_to_tokens(ids), "loss_mask": mask,
                           "n_tokens": len(ids), "n_loss": sum(mask)}})
            check_ref(model, P, cfg, inv, ids)
            # the cut: some answer tokens left, and none left (NaN in the evaluator)
            cuts = (512, n_p + 5, 24) if (q, a) == qa[0] and template == "auto" else (512,)
            for max_length in cuts:
                args = ["--model", "@MODEL@", "--template", template, "--question", q,
                        "--answer", a]
                if max_length != 512:
                    args += ["--max-length", str(max_length)]
                fx["score"].append({"args": args,
                                    "expect": score_case(model, ids, mask, max_length)})
    for text in texts:
        ids = tok(text, add_special_tokens=True)["input_ids"]
        fx["tokenize"].append({
            "args": ["--tokenizer", "@TOK@", "--text", text],
            "expect": {"template": "none", "text": text, "ids": ids,
                       "tokens": tok.convert_ids_to_tokens(ids), "loss_mask": [0] * len(ids),
                       "n_tokens": len(ids), "n_loss": 0}})
    ids = [1, 40, 9, 63, 22, 87, 7, 3, 55]
    fx["score"].append({"args": ["--model", "@MODEL@", "--ids", " ".join(map(str, ids)),
                                 "--loss-from", "4"],
                        "expect": score_case(model, ids, [0] * 4 + [1] * 5, 512)})
    # generation: the plain template's prompt (generate --template plain), and raw ids
    for q, n_new in ((qa[2][0], 12), (qa[0][0], 6)):
        start, end, astart = TAGS["plain"]
        prompt = tok(start + q + end + astart, add_special_tokens=True)["input_ids"]
        out, stop, m = gen_case(model, prompt, n_new, {eos})
        fx["generate"].append({
            "args": ["--model", "@MODEL@", "--template", "plain", "--prompt", q, "-n",
                     str(n_new)],
            "expect": {"prompt_ids": prompt, "generated_ids": out,
                       "text": tok.decode(out, skip_special_tokens=True), "stop": stop},
            "min_margin": m})
    # raw ids: the first prompt [1, x] whose greedy continuation reaches eos after a few
    # tokens (this random model rarely picks it: [1, 78] does, at the 10th)
    for x in range(2, 100):
        prompt = [1, x]
        out, margins = eo.greedy_full_recompute(model, prompt, 12)
        if eos in out[2:] and min(margins[:out.index(eos) + 1]) > MARGIN:
            break
    out, stop, m = gen_case(model, prompt, 12, {eos})
    assert stop == "eos"
    fx["generate"].append({"args": ["--model", "@MODEL@", "--ids", ",".join(map(str, prompt)),
                                    "-n", "12"],
                           "expect": {"prompt_ids": prompt, "generated_ids": out,
                                      "text": tok.decode(out, skip_special_tokens=True),
                                      "stop": stop}, "min_margin": m})
    return fx


def stories_cases():
    tok = L2CTok(os.path.join(S260K, "tok512.bin"))
    ref = json.load(open(os.path.join(S260K, "reference_forward.json")))
    for text, want in ref["prompt_encodings_llama2c"].items():
        if text != "note":
            assert tok.encode(text) == want, f"run.c encode of {text!r}"
    cfg, params = load_stories260k()
    model, P, inv = true_f64(cfg, params)
    greedy = ref["greedy_token_ids_from_bos"]
    logits = check_ref(model, P, cfg, inv, greedy[:51])
    worst = max((logits[int(p)] - torch.tensor(v, dtype=F64)).abs().max().item()
                for p, v in ref["logits_at_pos"].items())
    assert worst < 1e-6, f"stories260K logits vs reference_forward.json: {worst}"
    out, _ = eo.greedy_full_recompute(model, [1], 40)
    assert out == greedy[1:41], "stories260K greedy ids vs reference_forward.json"

    r = tofu_rows("forget01", 1)[0]
    qa = [("Once upon a time, there was a little girl named", " Lily. She liked to play."),
          ("Tom had a red ball.", " He gave it to his friend."),
          (r["question"], " " + r["answer"])]
    texts = ["Once upon a time, there was a little girl named Lily.",
             "Lily saw a caf\u00e9 \U0001F642 \u2014 nice!\n"]
    fx = {"tokenize": [], "score": [], "generate": []}
    pieces = lambda ids: [tok.pieces[i].decode("utf-8", errors="replace") for i in ids]
    for q, a in qa:
        ids, n_p = tok.encode(q + a), len(tok.encode(q))
        mask = [0] * n_p + [1] * (len(ids) - n_p)
        fx["tokenize"].append({
            "args": ["--tokenizer", "@SHARED@/models/stories260K/tok512.bin", "--question", q,
                     "--answer", a],
            "expect": {"template": "none", "text": q + a, "ids": ids, "tokens": pieces(ids),
                       "loss_mask": mask, "n_tokens": len(ids), "n_loss": sum(mask)}})
        fx["score"].append({
            "args": ["--model", "@SHARED@/models/stories260K/stories260K.bin", "--tokenizer",
                     "@SHARED@/models/stories260K/tok512.bin", "--question", q, "--answer", a],
            "expect": score_case(model, ids, mask, 512)})
    for text in texts:
        ids = tok.encode(text)
        fx["tokenize"].append({
            "args": ["--tokenizer", "@SHARED@/models/stories260K/tok512.bin", "--text", text],
            "expect": {"template": "none", "text": text, "ids": ids, "tokens": pieces(ids),
                       "loss_mask": [0] * len(ids), "n_tokens": len(ids), "n_loss": 0}})
    ids = greedy[:12]
    fx["score"].append({
        "args": ["--model", "@SHARED@/models/stories260K/stories260K.gguf", "--ids",
                 ",".join(map(str, ids)), "--loss-from", "3"],
        "expect": score_case(model, ids, [0] * 3 + [1] * 9, 512)})
    for prompt_text, n_new in (("Lily went to the", 16), ("", 12)):
        prompt = tok.encode(prompt_text)
        out, stop, m = gen_case(model, prompt, n_new, {1})
        fx["generate"].append({
            "args": ["--model", "@SHARED@/models/stories260K/stories260K.bin", "--tokenizer",
                     "@SHARED@/models/stories260K/tok512.bin", "--prompt", prompt_text, "-n",
                     str(n_new)],
            "expect": {"prompt_ids": prompt, "generated_ids": out,
                       "text": tok.decode(prompt[-1], out), "stop": stop}, "min_margin": m})
    prompt = [1, 317, 263, 377]
    out, stop, m = gen_case(model, prompt, 10, {1})
    fx["generate"].append({
        "args": ["--model", "@SHARED@/models/stories260K/stories260K.gguf", "--ids",
                 "1 317 263 377", "-n", "10"],
        "expect": {"prompt_ids": prompt, "generated_ids": out, "text": tok.decode(377, out),
                   "stop": stop}, "min_margin": m})
    fx["checks"] = {"max_abs_logit_diff_vs_reference_forward": worst}
    return fx


def write(path, fx, model):
    fx["meta"] = {"model": model, "torch": torch.__version__,
                  "transformers": transformers.__version__,
                  "tokenizers": tokenizers.__version__,
                  "how": "tests/oracle/inspect_oracle.py (float64 forward; see its docstring)"}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fx, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare")
    args = ap.parse_args()
    final = OUT
    tmp = tempfile.TemporaryDirectory() if args.check else None
    if tmp:
        OUT = tmp.name
    os.makedirs(OUT, exist_ok=True)
    write(os.path.join(OUT, "tiny_llama3.json"), tiny_cases(),
          "tests/fixtures/engine/llama3_rope_tied + tests/fixtures/inspect/tiny")
    write(os.path.join(OUT, "stories260K.json"), stories_cases(),
          "../shared/models/stories260K (stories260K.bin, tok512.bin)")
    if tmp:
        import filecmp
        names = ["tiny_llama3.json", "stories260K.json", "tiny/tokenizer.json",
                 "tiny/tokenizer_config.json"]
        bad = [n for n in names
               if not filecmp.cmp(os.path.join(OUT, n), os.path.join(final, n), shallow=False)]
        print("differ: " + ", ".join(bad) if bad else "fixtures up to date")
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
