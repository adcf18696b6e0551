#!/usr/bin/env python3
"""Regenerate the safetensors fixtures with the reference Python `safetensors` library.

    /work/venv-oracle/bin/python tests/oracle/make_safetensors_fixtures.py   (from the repo root)

Needs `safetensors` and `torch` (torch for BF16, which numpy lacks). Writes
  tests/fixtures/safetensors/small.safetensors   checked value by value, and byte for byte
                                                 against our writer, by tests/unit/test_safetensors.c
  tests/fuzz/corpus_safetensors/*                seeds for tests/fuzz/fuzz_safetensors.c
The values below are mirrored in test_safetensors.c; change both together.
"""
import json
import os
import struct

import torch
from safetensors.torch import save

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def small():
    t = {
        "f64": torch.tensor([[1.0, -2.5, 0.1], [3.141592653589793, 1e-30, 65504.0]], dtype=torch.float64),
        "f64_big": torch.tensor([1e300], dtype=torch.float64),
        "f32": torch.tensor([0.5, -1.25, 3.4028234663852886e38], dtype=torch.float32),
        "f16": torch.tensor([1.0, -2.0, 65504.0, 0.333251953125, 5.960464477539063e-08], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -0.5, 3.140625, 2.0 ** 100], dtype=torch.bfloat16),
        "i64": torch.tensor([1, -2, 2147483647, -2147483648], dtype=torch.int64),
        "i64_big": torch.tensor([2147483648], dtype=torch.int64),
        "i32": torch.tensor([[7, -8, 2147483647]], dtype=torch.int32),
        "i16": torch.tensor([-32768, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True], dtype=torch.bool),
        "scalar": torch.tensor(42.0, dtype=torch.float32),
        "empty": torch.zeros((0, 4), dtype=torch.float32),
    }
    # One metadata key: the reference writes metadata in hash order, so only then is the
    # header deterministic (and comparable byte for byte with ours).
    return save(t, metadata={"format": "pt"})


def raw(header, data=b"", pad=True):
    """A file from a header given as text, for the invalid seeds."""
    h = header.encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def main():
    fix = os.path.join(ROOT, "tests", "fixtures", "safetensors")
    corpus = os.path.join(ROOT, "tests", "fuzz", "corpus_safetensors")
    os.makedirs(fix, exist_ok=True)
    os.makedirs(corpus, exist_ok=True)
    s = small()
    with open(os.path.join(fix, "small.safetensors"), "wb") as f:
        f.write(s)

    entry = lambda dt, shape, b, e: {"dtype": dt, "shape": shape, "data_offsets": [b, e]}
    seeds = {
        "valid_small.safetensors": s,
        "valid_empty.safetensors": save({}),
        "valid_meta.safetensors": save({"a": torch.zeros(2, dtype=torch.float16)}, metadata={"k": "v"}),
        "valid_scalar_zero.safetensors": save({"s": torch.tensor(1, dtype=torch.int8),
                                               "z": torch.zeros((3, 0), dtype=torch.float64)}),
        "valid_unpadded.safetensors": raw(json.dumps({"x": entry("U8", [3], 0, 3)}), b"abc", pad=False),
        "bad_short.safetensors": b"\x10\x00\x00",
        "bad_hlen.safetensors": struct.pack("<Q", 1 << 40) + b"{}",
        "bad_dup.safetensors": raw('{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                                   '"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"a"),
        "bad_overlap.safetensors": raw(json.dumps({"a": entry("U8", [2], 0, 2), "b": entry("U8", [2], 1, 3)}), b"abc"),
        "bad_hole.safetensors": raw(json.dumps({"a": entry("U8", [1], 1, 2)}), b"ab"),
        "bad_f8.safetensors": raw(json.dumps({"a": entry("F8_E4M3", [1], 0, 1)}), b"a"),
        "bad_meta.safetensors": raw('{"__metadata__":{"k":1}}'),
        "bad_json.safetensors": raw("{'a':0x10}"),
    }
    for name, data in seeds.items():
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
