#!/usr/bin/env python3
"""Builds examples/tiny/tokenizer.json: a 2048-token byte-level BPE trained on TOFU.

The embedded demo (examples/tofu-tiny.cfg) trains a small Llama from scratch on a few TOFU
authors on two CPU cores. With a 32000-token vocabulary the LM head alone would cost more
than the whole rest of the model; a vocabulary learned from TOFU itself keeps the demo's
compute where the learning happens. The result is an ordinary HF tokenizer.json
(GPT-2/Llama-3 style byte-level BPE), which baldro's tokenizer reads like any other.

    python3 examples/tiny/make_tokenizer.py   # needs `tokenizers` (tests/oracle/requirements.txt)

Deterministic: the same TOFU files give the same file.
"""
import json
import os

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
TOFU = os.path.join(HERE, "..", "..", "..", "shared", "data", "tofu")


def texts():
    with open(os.path.join(TOFU, "full.json"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                yield "Question: " + row["question"] + "\nAnswer: " + row["answer"]
    with open(os.path.join(TOFU, "idontknow.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield line.strip()


def main():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2048, min_frequency=2, show_progress=False,
        special_tokens=["<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts()), trainer=trainer)
    tok.save(os.path.join(HERE, "tokenizer.json"))
    with open(os.path.join(HERE, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
                   "add_bos_token": False, "tokenizer_class": "PreTrainedTokenizerFast",
                   "model_max_length": 512}, f, indent=2)
        f.write("\n")
    print("vocab", tok.get_vocab_size())


if __name__ == "__main__":
    main()
