#!/usr/bin/env python3
"""Reference values for the forget/retain objective plugins (plugins/objectives/).

Each objective is written here again, in torch float64, straight from the formula sheet
(docs/writing-plugins.md has the table), and differentiated with autograd:

  grad_ascent, grad_diff  loss[b][t] = logp                            (token grain)
  nll                     loss[b][t] = -logp                           (token grain)
  npo     L_b = -(2/beta) log sigma(-beta sum_t (logp - ref))          (sample grain)
  simnpo  L_b = -(2/beta) log sigma(beta (NLL_b / n_b - delta))        (sample grain)
  dpo     L_b = -(2/beta) log sigma(beta [sum(alt - alt_ref) - sum(logp - ref)])
  wga     loss[b][t] = w logp, w = p^beta                              (w detached)
  tnpo    w = 2 p^beta / (p^beta + ref_p^beta + 1e-5)                  (w detached)
  wtnpo   w = 2 p^(beta + alpha_w) / (p^beta + ref_p^beta + 1e-5)      (w detached)
  satimp  w = p^beta1 (1 - p)^beta2                                    (w detached)
  kl      loss[n] = KL(p_ref || p_theta) = sum_v p_ref,v (log p_ref,v - log p_theta,v)
          over whole next-token distributions (loss_rows, BALDRO_OBJ_NEEDS_LOGITS):
          F.kl_div(log_softmax(logits), log_softmax(ref_logits), log_target=True)

The expected partials are autograd's d loss / d logp (and d loss / d alt_logp for dpo).
For kl the partials are autograd's d loss[n] / d logits[n][v], which must equal
softmax(logits) - softmax(ref_logits) (asserted). For the detached-weight objectives
autograd gives exactly w, which is asserted. A sample
with no valid position (for dpo: in neither answer) has loss 0 and zero partials: that is
the plugins' documented convention for padding rows, applied here explicitly.

Inputs are drawn as float32 (what the host hands a plugin) and widened to float64, so the
C test feeds the plugin the very numbers the reference saw; padding is written as null
and the test puts NaN there (for kl: whole masked rows of logits). Output, one file per
objective:
  tests/fixtures/objectives/<name>.json
checked by tests/unit/test_objectives.c. Deterministic: two runs give identical files.

    /work/venv-oracle/bin/python tests/oracle/objective_oracle.py [--out DIR] [--check]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "objectives"))
TNPO_EPS = 1e-5

# name -> (grain, needs_ref, needs_alt, surrogate, params in the plugin's spec order)
OBJECTIVES = {
    "grad_ascent": ("token", False, False, False, [("gamma", 1.0), ("alpha", 1.0)]),
    "grad_diff": ("token", False, False, False, [("gamma", 1.0), ("alpha", 1.0)]),
    "nll": ("token", False, False, False, []),
    "npo": ("sample", True, False, False, [("beta", 0.1), ("gamma", 1.0), ("alpha", 1.0)]),
    "simnpo": ("sample", False, False, False,
               [("beta", 4.5), ("delta", 0.0), ("gamma", 0.125), ("alpha", 1.0)]),
    "dpo": ("sample", True, True, False, [("beta", 0.1), ("gamma", 1.0), ("alpha", 1.0)]),
    "wga": ("token", False, False, True, [("beta", 1.0), ("gamma", 1.0), ("alpha", 1.0)]),
    "tnpo": ("token", True, False, True, [("beta", 4.0), ("gamma", 1.0), ("alpha", 1.0)]),
    "wtnpo": ("token", True, False, True,
              [("beta", 4.0), ("alpha_w", 1.5), ("gamma", 1.0), ("alpha", 1.0)]),
    "satimp": ("token", False, False, True,
               [("beta1", 5.0), ("beta2", 1.0), ("gamma", 0.1), ("alpha", 1.0)]),
}


# ---- the objectives, from the formulas -------------------------------------------------

def masked_sum(x, m):
    """Row sums of x over the valid positions; x, m: [B][T] -> [B]."""
    return torch.where(m, x, torch.zeros_like(x)).sum(-1)


def sample_losses(name, P, lp, ref, m, alp, aref, am):
    """[B] per-sample losses (graph kept for autograd)."""
    beta = P["beta"]
    n = m.sum(-1)
    if name == "npo":
        r = masked_sum(lp - ref, m)
        L = -(2.0 / beta) * F.logsigmoid(-beta * r)
        keep = n > 0
    elif name == "simnpo":
        nll = -masked_sum(lp, m)
        u = nll / torch.clamp(n, min=1) - P["delta"]  # clamp: empty rows are zeroed below
        L = -(2.0 / beta) * F.logsigmoid(beta * u)
        keep = n > 0
    elif name == "dpo":
        win = masked_sum(alp - aref, am)
        lose = masked_sum(lp - ref, m)
        L = -(2.0 / beta) * F.logsigmoid(beta * (win - lose))
        keep = (n > 0) | (am.sum(-1) > 0)
    else:
        raise ValueError(name)
    return torch.where(keep, L, torch.zeros_like(L))


def token_weight(name, P, lp, ref):
    """[B][T] detached token weight of the weighted-GA objectives. Powers of p are taken
    as exp(e * logp): (exp(logp))^e would underflow exp(-1e4) to 0 first and give 0 where
    the true weight is exp(-1e4 * 1e-6) = 0.99."""
    def pw(logx, e):  # x^e from log x
        return torch.exp(e * logx)
    with torch.no_grad():
        if name == "wga":
            return pw(lp, P["beta"])
        if name in ("tnpo", "wtnpo"):
            b = P["beta"]
            num = pw(lp, b) if name == "tnpo" else pw(lp, b + P["alpha_w"])
            return 2.0 * num / (pw(lp, b) + pw(ref, b) + TNPO_EPS)
        if name == "satimp":
            one_minus_p = -torch.expm1(lp)  # exact near p = 1, where 1 - p loses every digit
            return pw(lp, P["beta1"]) * one_minus_p ** P["beta2"]
    raise ValueError(name)


def token_losses(name, P, lp, ref, m):
    """[B][T] per-token losses, 0 on padding, and the detached weight (or None)."""
    w = None
    if name in ("grad_ascent", "grad_diff"):
        L = lp
    elif name == "nll":
        L = -lp
    else:
        w = token_weight(name, P, lp, ref)
        L = w * lp
    return torch.where(m, L, torch.zeros_like(L)), w


def evaluate(name, P, case):
    """Expected loss and partials of one case, in float64."""
    grain, needs_ref, needs_alt, surrogate, _ = OBJECTIVES[name]
    m = torch.tensor(case["mask"], dtype=torch.bool)
    lp = torch.tensor(case["logp"]).requires_grad_(True)
    ref = torch.tensor(case["ref_logp"]) if needs_ref else torch.zeros_like(lp)
    inputs = [lp]
    alp = aref = am = None
    if needs_alt:
        am = torch.tensor(case["alt_mask"], dtype=torch.bool)
        alp = torch.tensor(case["alt_logp"]).requires_grad_(True)
        aref = torch.tensor(case["alt_ref_logp"])
        inputs.append(alp)
    if grain == "sample":
        L = sample_losses(name, P, lp, ref, m, alp, aref, am)
        w = None
    else:
        L, w = token_losses(name, P, lp, ref, m)
    # Each loss entry depends on its own row (sample) or position (token) only, so the
    # gradient of the sum holds every partial.
    grads = torch.autograd.grad(L.sum(), inputs, allow_unused=True)
    grads = [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]
    grads = [torch.where(mm, g, torch.zeros_like(g)) for g, mm in zip(grads, [m, am])]
    if surrogate:
        assert torch.equal(grads[0], torch.where(m, w, torch.zeros_like(w))), name
    out = {"loss": L.detach(), "dlogp": grads[0]}
    if needs_alt:
        out["dalt_logp"] = grads[1]
    for k, v in out.items():
        assert torch.isfinite(v).all(), (name, k)
    return out


# ---- cases -----------------------------------------------------------------------------

def f32(x):
    """Round to float32 (what the host hands a plugin), back to a Python float."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def random_mask(rng, B, T):
    """[B][T] random mask with an empty row and a row with exactly one valid position;
    the other rows are an answer prefix or (every third) a scattered subset."""
    mask = np.zeros((B, T), dtype=bool)
    empty, single = rng.choice(B, size=2, replace=False)
    for b in range(B):
        if b == empty:
            continue
        if b == single:
            mask[b, rng.integers(T)] = True
        elif b % 3 == 2:
            mask[b] = rng.random(T) < 0.6
            mask[b, rng.integers(T)] = True
        else:
            mask[b, : rng.integers(2, T + 1)] = True
    return mask


def random_case(rng, name, params):
    """A batch of B in 4..6 samples, T in 5..9, logp ~ U[-8, -1e-3] (float32)."""
    _, needs_ref, needs_alt, _, _ = OBJECTIVES[name]
    B, T = int(rng.integers(4, 7)), int(rng.integers(5, 10))
    case = {"params": params, "B": B, "T": T, "mask": random_mask(rng, B, T),
            "logp": f32(rng.uniform(-8.0, -1e-3, (B, T)))}
    if needs_ref:
        # The reference near the current model, as during unlearning, within U[-8, -1e-3].
        ref = case["logp"] + rng.normal(0.0, 1.0, (B, T))
        case["ref_logp"] = f32(np.clip(ref, -8.0, -1e-3))
    if needs_alt:
        Ta = int(rng.integers(3, 8))
        am = random_mask(rng, B, Ta)
        # Row 0 of the main answer keeps its data; make one sample empty in both answers
        # (padding) where the main mask already has an empty row.
        both = int(np.flatnonzero(~case["mask"].any(1))[0])
        am[both] = False
        # and one sample with an alt answer but no main one: the formula with an empty
        # sum (log-ratio 0) on the main side
        alt_only = int(np.flatnonzero(case["mask"].sum(1) >= 2)[0])  # keep the 1-long row
        case["mask"][alt_only] = False
        am[alt_only, 0] = True
        case.update(T_alt=Ta, alt_mask=am, alt_logp=f32(rng.uniform(-8.0, -1e-3, (B, Ta))),
                    alt_ref_logp=f32(rng.uniform(-8.0, -1e-3, (B, Ta))))
    return case


def extreme_cases(name, defaults):
    """Hand-made inputs at the edges: log-probs -1e4, -1e-9 and 0, references far above and
    below, beta tiny and large, non-default parameters."""
    _, needs_ref, needs_alt, _, spec = OBJECTIVES[name]
    big, tiny = -1e4, -1e-9
    lp = [[big, big, big, big, big, big],       # every token impossible
          [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],       # every token certain
          [tiny, 0.0, big, tiny, -1e-3, -30.0],  # a mix
          [big, tiny, 0.0, -700.0, -1e-30, -5.0]]
    ref = [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0],      # reference far above
           [big, big, big, big, big, big],      # reference far below
           [0.0, big, tiny, big, -1e-3, -1.0],
           [-9999.5, 0.0, tiny, -700.25, tiny, -5.0]]  # huge terms that cancel: r = -0.25
    mask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0]]
    alt_lp = [[0.0, 0.0, tiny], [big, big, big], [tiny, big, -2.0], [0.0, big, 0.0]]
    alt_ref = [[big, big, big], [0.0, 0.0, 0.0], [big, tiny, -3.0], [0.0, 0.0, big]]
    alt_mask = [[1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 0, 0]]

    def with_params(**over):
        p = dict(defaults)
        p.update({k: v for k, v in over.items() if k in p})
        return p

    # beta-like parameters of this objective, pushed to both ends
    sweeps = [with_params()]
    names = [n for n, _ in spec]
    if "beta" in names:
        sweeps += [with_params(beta=1e-6), with_params(beta=1000.0), with_params(beta=0.37)]
    if "delta" in names:
        sweeps += [with_params(delta=2.5, beta=0.8), with_params(delta=-3.0, beta=50.0)]
    if "alpha_w" in names:
        sweeps += [with_params(alpha_w=0.0, beta=1.0), with_params(alpha_w=7.0, beta=0.5)]
    if "beta1" in names:
        sweeps += [with_params(beta1=0.0, beta2=0.0), with_params(beta1=1e-6, beta2=1000.0),
                   with_params(beta1=1000.0, beta2=0.5), with_params(beta1=2.0, beta2=3.0)]
    if "gamma" in names:
        sweeps += [with_params(gamma=0.5, alpha=0.0)]
    cases = []
    for p in sweeps:
        c = {"params": p, "B": 4, "T": 6, "mask": np.array(mask, dtype=bool),
             "logp": f32(lp), "extreme": True}
        if needs_ref:
            c["ref_logp"] = f32(ref)
        if needs_alt:
            c.update(T_alt=3, alt_mask=np.array(alt_mask, dtype=bool), alt_logp=f32(alt_lp),
                     alt_ref_logp=f32(alt_ref))
        cases.append(c)
    return cases


def cases_for(name, seed):
    _, _, _, _, spec = OBJECTIVES[name]
    defaults = dict(spec)
    rng = np.random.default_rng(seed)
    cases = []
    for k in range(6):
        params = dict(defaults)
        if k >= 3:  # non-default parameters on half of the random batches
            for pname in params:
                lo, hi = {"beta": (0.05, 8.0), "delta": (-2.0, 2.0), "alpha_w": (0.0, 3.0),
                          "beta1": (0.0, 6.0), "beta2": (0.0, 3.0)}.get(pname, (0.0, 2.0))
                params[pname] = float(np.round(rng.uniform(lo, hi), 4))
        c = random_case(rng, name, params)
        c["extreme"] = False
        cases.append(c)
    cases += extreme_cases(name, defaults)
    for i, c in enumerate(cases):
        c["name"] = f"{'extreme' if c['extreme'] else 'random'}_{i}"
    return cases


# ---- objectives over logits (loss_rows) -----------------------------------------------

# name -> params in the plugin's spec order (all token grain, no logp-side flags)
ROW_OBJECTIVES = {
    "kl": [("positions", "all")],
}


def evaluate_rows(name, P, case):
    """Expected loss[N] and dlogits[N][V] of one rows case, in float64. Positions with
    mask 0 (and, with positions = "answer", with a negative target) have loss 0 and zero
    partials: the plugin skips them, and their logits (null in the file) are never read."""
    assert name == "kl", name
    m = torch.tensor(case["mask"], dtype=torch.bool)
    if P["positions"] == "answer":
        m = m & (torch.tensor(case["targets"]) >= 0)
    x = torch.tensor(case["logits"]).requires_grad_(True)   # [N][V]
    r = torch.tensor(case["ref_logits"])                    # [N][V]
    lq, lp = F.log_softmax(x, -1), F.log_softmax(r, -1)
    # kl_div(input, target) = exp(target) * (target - input) with log_target: KL(ref || cur)
    L = F.kl_div(lq, lp, reduction="none", log_target=True).sum(-1)
    L = torch.where(m, L, torch.zeros_like(L))
    # loss[n] depends on row n only: the gradient of the sum holds every partial.
    (g,) = torch.autograd.grad(L.sum(), [x])
    g = torch.where(m[:, None], g, torch.zeros_like(g))
    closed = torch.where(m[:, None], torch.softmax(x, -1) - torch.softmax(r, -1),
                         torch.zeros_like(g)).detach()
    assert torch.allclose(g, closed, rtol=0, atol=1e-12), name
    out = {"loss": L.detach(), "dlogits": g}
    for k, v in out.items():
        assert torch.isfinite(v).all(), (name, k)
    return out


def rows_case(rng, N, V, scale, positions, ref_noise=1.0):
    """N positions of V logits uniform in [-scale, scale] (float32), the reference within
    +-ref_noise * scale of them; two masked positions (null rows), targets -1 on about a
    third of the positions, masked or not."""
    x = rng.uniform(-scale, scale, (N, V))
    r = x + ref_noise * rng.uniform(-scale, scale, (N, V))
    mask = np.ones(N, dtype=bool)
    if N >= 4:
        mask[rng.choice(N, size=2, replace=False)] = False
    targets = rng.integers(0, V, N)
    targets[rng.random(N) < 0.35] = -1
    if N >= 3:
        targets[int(np.flatnonzero(mask)[0])] = -1  # a prompt position that carries loss
    return {"params": {"positions": positions}, "N": N, "V": V, "mask": mask,
            "targets": targets, "logits": f32(x), "ref_logits": f32(r)}


def peaked(rng, N, V, hot, height, base=1.0):
    """[N][V] logits uniform in [-base, base] plus `height` at token hot[n]: near one-hot."""
    x = rng.uniform(-base, base, (N, V))
    x[np.arange(N), hot] += height
    return x


def rows_cases_for(name, seed):
    rng = np.random.default_rng(seed)
    cases = []
    for k in range(4):  # random batches, N = 7, V = 13; the last with positions = answer
        cases.append(rows_case(rng, 7, 13, 2.0 + k, "answer" if k == 3 else "all"))
        cases[-1]["extreme"] = False
    N, V = 7, 13
    # Peaked: current and reference one-hot-like on the same token (small KL), on different
    # tokens (KL about the peak height), and a flat current against a peaked reference.
    hot = rng.integers(0, V, N)
    other = (hot + 1 + rng.integers(0, V - 1, N)) % V
    c = rows_case(rng, N, V, 1.0, "all")
    c["logits"] = f32(peaked(rng, N, V, hot, 25.0))
    c["ref_logits"] = f32(peaked(rng, N, V, hot, 20.0))
    cases.append(c)
    c = rows_case(rng, N, V, 1.0, "all")
    c["logits"] = f32(peaked(rng, N, V, hot, 18.0))
    c["ref_logits"] = f32(peaked(rng, N, V, other, 18.0))
    cases.append(c)
    c = rows_case(rng, N, V, 1.0, "all")
    c["logits"] = f32(rng.uniform(-0.01, 0.01, (N, V)))
    c["ref_logits"] = f32(peaked(rng, N, V, other, 40.0))
    cases.append(c)
    # Logits of size +-30 (independent reference: far apart distributions), and the same
    # over a wider vocabulary, where most probabilities are below e^-40.
    cases.append(rows_case(rng, N, V, 30.0, "all"))
    cases.append(rows_case(rng, 3, 128, 30.0, "all"))
    # Huge logits: a gap of 1e4 makes every distribution exactly one-hot in float64.
    c = rows_case(rng, N, V, 1.0, "all")
    c["logits"] = f32(peaked(rng, N, V, hot, 1e4, base=5e3))
    c["ref_logits"] = f32(peaked(rng, N, V, other, 1e4, base=5e3) * 0.001)
    cases.append(c)
    # Identical current and reference: loss 0, dlogits 0; and shifted by a constant per row
    # (the same distribution: softmax is shift-invariant).
    c = rows_case(rng, N, V, 8.0, "all")
    c["ref_logits"] = c["logits"].copy()
    cases.append(c)
    c = rows_case(rng, N, V, 3.0, "answer")
    c["ref_logits"] = f32(c["logits"] + np.arange(N)[:, None] * 4.0 - 10.0)
    cases.append(c)
    for c in cases[4:]:
        c["extreme"] = True
    for i, c in enumerate(cases):
        c["name"] = f"{'extreme' if c['extreme'] else 'random'}_{i}"
    return cases


# ---- output ----------------------------------------------------------------------------

def num(x):
    """Shortest repr that reads back as the same float64 (and -0.0 as 0)."""
    x = float(x)
    if x == 0.0:
        return "0"
    assert math.isfinite(x)
    return repr(x)


def row(values, mask=None):
    """One JSON row; padded inputs are null (the test puts NaN there)."""
    items = []
    for j, v in enumerate(values):
        items.append("null" if mask is not None and not mask[j] else num(v))
    return "[" + ", ".join(items) + "]"


def rows(name, arr, mask=None, ints=False, indent="      "):
    arr = np.asarray(arr)
    if ints:
        body = [("[" + ", ".join(str(int(v)) for v in r) + "]") for r in arr]
    else:
        body = [row(r, None if mask is None else mask[i]) for i, r in enumerate(arr)]
    return f'{indent}"{name}": [\n' + ",\n".join(indent + "  " + b for b in body) + "\n" + indent + "]"


def write_objective(name, cases, out_dir):
    grain, needs_ref, needs_alt, surrogate, spec = OBJECTIVES[name]
    parts = []
    for c in cases:
        exp = evaluate(name, c["params"], c)
        m = np.asarray(c["mask"])
        fields = [f'      "name": "{c["name"]}"',
                  f'      "extreme": {"true" if c["extreme"] else "false"}',
                  '      "params": {' + ", ".join(f'"{k}": {num(c["params"][k])}'
                                                 for k, _ in spec) + "}",
                  f'      "B": {c["B"]}', f'      "T": {c["T"]}',
                  rows("mask", m.astype(int), ints=True),
                  rows("logp", c["logp"], m)]
        if needs_ref:
            fields.append(rows("ref_logp", c["ref_logp"], m))
        if needs_alt:
            am = np.asarray(c["alt_mask"])
            fields += [f'      "T_alt": {c["T_alt"]}', rows("alt_mask", am.astype(int), ints=True),
                       rows("alt_logp", c["alt_logp"], am),
                       rows("alt_ref_logp", c["alt_ref_logp"], am)]
        if grain == "sample":
            fields.append('      "loss": ' + row(exp["loss"].numpy()))
        else:
            fields.append(rows("loss", exp["loss"].numpy()))
        fields.append(rows("dlogp", exp["dlogp"].numpy()))
        if needs_alt:
            fields.append(rows("dalt_logp", exp["dalt_logp"].numpy()))
        parts.append("    {\n" + ",\n".join(fields) + "\n    }")
    header = (f'  "objective": "{name}",\n  "grain": "{grain}",\n'
              f'  "needs_ref": {str(needs_ref).lower()},\n  "needs_alt": {str(needs_alt).lower()},\n'
              f'  "surrogate_grad": {str(surrogate).lower()},\n'
              f'  "generator": "tests/oracle/objective_oracle.py (torch {torch.__version__.split("+")[0]}, float64)",\n')
    text = "{\n" + header + '  "cases": [\n' + ",\n".join(parts) + "\n  ]\n}\n"
    json.loads(text)  # well-formed
    path = os.path.join(out_dir, f"{name}.json")
    with open(path, "w") as f:
        f.write(text)
    return path, len(cases)


def param_json(v):
    return json.dumps(v) if isinstance(v, str) else num(v)


def write_rows_objective(name, cases, out_dir):
    spec = ROW_OBJECTIVES[name]
    parts = []
    for c in cases:
        exp = evaluate_rows(name, c["params"], c)
        m = np.asarray(c["mask"])
        m2 = np.repeat(m[:, None], c["V"], 1)
        fields = [f'      "name": "{c["name"]}"',
                  f'      "extreme": {"true" if c["extreme"] else "false"}',
                  '      "params": {' + ", ".join(f'"{k}": {param_json(c["params"][k])}'
                                                 for k, _ in spec) + "}",
                  f'      "N": {c["N"]}', f'      "V": {c["V"]}',
                  '      "mask": [' + ", ".join(str(int(v)) for v in m) + "]",
                  '      "targets": [' + ", ".join(str(int(v)) for v in c["targets"]) + "]",
                  rows("logits", c["logits"], m2),
                  rows("ref_logits", c["ref_logits"], m2),
                  '      "loss": ' + row(exp["loss"].numpy()),
                  rows("dlogits", exp["dlogits"].numpy())]
        parts.append("    {\n" + ",\n".join(fields) + "\n    }")
    header = (f'  "objective": "{name}",\n  "grain": "token",\n'
              f'  "needs_ref": false,\n  "needs_alt": false,\n  "needs_logits": true,\n'
              f'  "surrogate_grad": false,\n'
              f'  "generator": "tests/oracle/objective_oracle.py (torch {torch.__version__.split("+")[0]}, float64)",\n')
    text = "{\n" + header + '  "cases": [\n' + ",\n".join(parts) + "\n  ]\n}\n"
    json.loads(text)  # well-formed
    path = os.path.join(out_dir, f"{name}.json")
    with open(path, "w") as f:
        f.write(text)
    return path, len(cases)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare with --out")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    out = args.out
    if args.check:
        import tempfile
        out = tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    for i, name in enumerate(OBJECTIVES):
        path, n = write_objective(name, cases_for(name, 1000 + i), out)
        print(f"{path}: {n} cases")
    for i, name in enumerate(ROW_OBJECTIVES):  # seeds after the logp objectives'
        path, n = write_rows_objective(name, rows_cases_for(name, 1000 + len(OBJECTIVES) + i),
                                       out)
        print(f"{path}: {n} cases")
    if args.check:
        import filecmp
        diff = [n for n in list(OBJECTIVES) + list(ROW_OBJECTIVES)
                if not filecmp.cmp(os.path.join(out, f"{n}.json"),
                                   os.path.join(args.out, f"{n}.json"), shallow=False)]
        print("fixtures up to date" if not diff else f"fixtures differ: {diff}")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
