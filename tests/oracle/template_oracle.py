#!/usr/bin/env python3
"""Chat-template oracle: writes tests/fixtures/templates/cases.jsonl for test_chat_template.c.

    /work/venv-oracle/bin/python tests/oracle/template_oracle.py --templates DIR

DIR holds the families' own Jinja chat templates, taken from the model repositories'
tokenizer_config.json (they are not committed here; their sha256 goes into the fixture):
  llama3.jinja   Llama-3.2-Instruct (the Llama-3.1/3.2 template with date_string)
  qwen3.jinja    Qwen3 (tool branches may be dropped: TOFU chats have no tools)
  mistral.jinja  Mistral-7B-Instruct-v0.3 (likewise)

What is compared, per family, on TOFU items and an adversarial set:
  llama3   open-unlearning's chat path: apply_chat_template with the system prompt "You are a
           helpful assistant." and date_string "10 Apr 2025", eos_token <|eot_id|> as in
           Llama-3.2-Instruct's config; prompt = the chat without the answer plus the
           generation prompt; labels start at len(prompt ids). Tokenizer:
           ../shared/models/tokenizers/llama3.
  llama2   open-unlearning's non-chat path with its Llama-2 tags ("[INST] ", " [/INST]", ""),
           tokenizer(text, add_special_tokens=True) plus eos. Tokenizer: the Llama-2
           tokenizer.json of tests/fixtures/tokenizers/llama2.
  plain    the same path with "Question: ", "\\n", "Answer: " (open-unlearning's base models).
  qwen3    apply_chat_template(enable_thinking=False). Text only is compared exactly: our
           target stops at <|im_end|>, the template then writes "\\n" (recorded as "tail").
           No Qwen tokenizer is at hand, so ids are those of the Llama-3 tokenizer on the
           same strings (a check of the prompt/answer boundary, not of Qwen's vocabulary).
  mistral  apply_chat_template, text compared exactly; ids from the Llama-2 tokenizer as a
           stand-in for Mistral's (same SentencePiece-BPE family; [INST] is text there).

One JSON object per line: {"family", "tokenizer", "q", "a", "prompt_text", "full_text",
"tail", "ids", "n_prompt"}; ids are the whole item, the loss covers ids[n_prompt:].
The first line is {"meta": {...}} with the template hashes and library versions.
"""
import argparse
import hashlib
import json
import os

import tokenizers
import transformers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
FIX = os.path.join(ROOT, "tests", "fixtures", "templates")
SYSTEM = "You are a helpful assistant."
DATE = "10 Apr 2025"


def items():
    out = []
    with open(os.path.join(SHARED, "data", "tofu", "full.json"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    for i in list(range(0, 4000, 200)) + [3999]:
        out.append((rows[i]["question"], rows[i]["answer"]))
    out += [
        ("  Who wrote it?  ", "  Leading and trailing spaces.  "),
        ("Tabs\tand\nnewlines\n", "\nAnswer on a new line."),
        ("Émile Zola? 日本語 🙂", "Yes — «quoted» 中文 🙂"),
        ("What is <|eot_id|> inside text?", "It is [INST] text [/INST] here."),
        ("Short", "A"),
        ("What's 2+2?", "4."),
    ]
    return out


def oun_plain(tok, start, end, astart, q, a):
    """open-unlearning's non-chat path (data/utils.py preprocess_chat_instance)."""
    wrapped = start + q + end + astart
    chat_ids = tok(wrapped + a, add_special_tokens=True)["input_ids"]
    prompt_ids = tok(wrapped, add_special_tokens=True)["input_ids"]
    if chat_ids[-1] != tok.eos_token_id:
        chat_ids = chat_ids + [tok.eos_token_id]
    return wrapped, wrapped + a, chat_ids, len(prompt_ids)


def ids_of(x):
    if hasattr(x, "keys") and "input_ids" in x:
        x = x["input_ids"]
    return list(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--templates", required=True)
    ap.add_argument("--out", default=FIX)
    args = ap.parse_args()
    tpl, sha = {}, {}
    for fam in ("llama3", "qwen3", "mistral"):
        with open(os.path.join(args.templates, fam + ".jinja"), encoding="utf-8") as f:
            tpl[fam] = f.read()
        sha[fam] = hashlib.sha256(tpl[fam].encode()).hexdigest()

    l3 = AutoTokenizer.from_pretrained(os.path.join(SHARED, "models", "tokenizers", "llama3"))
    l3.eos_token = "<|eot_id|>"  # as Llama-3.2-Instruct's tokenizer_config.json
    l2 = PreTrainedTokenizerFast(
        tokenizer_file=os.path.join(ROOT, "tests", "fixtures", "tokenizers", "llama2",
                                    "tokenizer.json"),
        bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    # The converted tokenizer.json carries no post-processor BOS in every transformers
    # version; open-unlearning relies on LlamaTokenizer adding it, so make it explicit.
    l2_bos = l2.convert_tokens_to_ids("<s>")

    lines = [{"meta": {"templates_sha256": sha, "transformers": transformers.__version__,
                       "tokenizers": tokenizers.__version__, "system_prompt": SYSTEM,
                       "date_string": DATE}}]
    for q, a in items():
        # llama3: open-unlearning's chat path
        chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q},
                {"role": "assistant", "content": a}]
        kw = dict(chat_template=tpl["llama3"], date_string=DATE)
        full = l3.apply_chat_template(chat, tokenize=False, **kw)
        prompt = l3.apply_chat_template(chat[:-1], tokenize=False, add_generation_prompt=True, **kw)
        cids = ids_of(l3.apply_chat_template(chat, tokenize=True, **kw))
        pids = ids_of(l3.apply_chat_template(chat[:-1], tokenize=True, add_generation_prompt=True,
                                             **kw))
        if cids[-1] != l3.eos_token_id:
            cids.append(l3.eos_token_id)
        assert cids[:len(pids)] == pids
        lines.append({"family": "llama3", "tokenizer": "llama3", "q": q, "a": a,
                      "prompt_text": prompt, "full_text": full, "tail": "", "ids": cids,
                      "n_prompt": len(pids)})

        # llama2 and plain: open-unlearning's tags
        for fam, tags in (("llama2", ("[INST] ", " [/INST]", "")),
                          ("plain", ("Question: ", "\n", "Answer: "))):
            prompt, full, cids, n_p = oun_plain(l2, *tags, q, a)
            if cids[0] != l2_bos:
                cids = [l2_bos] + cids
                n_p += 1
            lines.append({"family": fam, "tokenizer": "llama2", "q": q, "a": a,
                          "prompt_text": prompt, "full_text": full, "tail": "", "ids": cids,
                          "n_prompt": n_p})

        # qwen3: the template's text; ids by the Llama-3 tokenizer as a stand-in
        chat = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        full = l3.apply_chat_template(chat, tokenize=False, chat_template=tpl["qwen3"],
                                      enable_thinking=False)
        prompt = l3.apply_chat_template(chat[:-1], tokenize=False, add_generation_prompt=True,
                                        chat_template=tpl["qwen3"], enable_thinking=False)
        assert full.endswith("<|im_end|>\n")
        body = full[:-1]
        cids = l3(body, add_special_tokens=False)["input_ids"]
        pids = l3(prompt, add_special_tokens=False)["input_ids"]
        lines.append({"family": "qwen3", "tokenizer": "llama3", "q": q, "a": a,
                      "prompt_text": prompt, "full_text": full, "tail": "\n", "ids": cids,
                      "n_prompt": len(pids)})

        # mistral: the template's text; ids by the Llama-2 tokenizer as a stand-in
        full = l2.apply_chat_template(chat, tokenize=False, chat_template=tpl["mistral"])
        prompt = l2.apply_chat_template(chat[:-1], tokenize=False, add_generation_prompt=True,
                                        chat_template=tpl["mistral"])
        cids = ids_of(l2.apply_chat_template(chat, tokenize=True, chat_template=tpl["mistral"]))
        pids = ids_of(l2.apply_chat_template(chat[:-1], tokenize=True, add_generation_prompt=True,
                                             chat_template=tpl["mistral"]))
        lines.append({"family": "mistral", "tokenizer": "llama2", "q": q, "a": a,
                      "prompt_text": prompt, "full_text": full, "tail": "", "ids": cids,
                      "n_prompt": len(pids)})

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "cases.jsonl")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {path}: {len(lines) - 1} cases")


if __name__ == "__main__":
    main()
