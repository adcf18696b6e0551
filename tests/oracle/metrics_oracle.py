#!/usr/bin/env python3
"""Reference values for the TOFU metric numerics (plugins/metrics/tofu/lib/).

ks: the two-sample Kolmogorov-Smirnov test behind TOFU's forget quality,
    scipy.stats.ks_2samp(x, y) (alternative "two-sided", method "auto"), and the one-sample
    two-sided distribution its asymptotic branch uses, scipy.stats.kstwo.sf(d, n).
    Writes tests/fixtures/metrics/ks.json, checked by tests/unit/test_metrics_ks.c:
      "cases":    {name, group, x, y, D, p, method}: D and p as ks_2samp returns them,
                  method "exact", "asymp" (max size > MAX_AUTO_N) or "exact_fallback"
                  (scipy warned that the exact computation failed and used asymp);
      "kstwo_sf": {n, d, sf, region}: region names the branch of scipy's kolmogn
                  (_ksstats.py) that (n, d) falls in, for diagnosis only.
    Samples are seeded draws; every number is the shortest repr that reads back as the same
    float64. The large samples of the asymptotic cases are rounded to 3 decimals (which
    their repr then keeps short) so that the file stays small.

Deterministic: two runs give identical files.

    /work/venv-oracle/bin/python tests/oracle/metrics_oracle.py [--out DIR] [--check]

Needs numpy and scipy (any venv: pip install numpy scipy; scipy 1.17.1 wrote the committed
fixture, and its version is recorded in the file).
"""
import argparse
import inspect
import json
import math
import os
import re
import sys
import warnings

import numpy as np
import scipy
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "metrics"))


def num(x):
    """Shortest repr that reads back as the same float64 (and -0.0 as 0)."""
    x = float(x)
    if x == 0.0:
        return "0"
    assert math.isfinite(x)
    return repr(x)


# ---- ks ----------------------------------------------------------------------------------

def max_auto_n():
    """scipy's threshold for method='auto' (exact when max(n1, n2) <= it), read from source."""
    m = re.search(r"MAX_AUTO_N\s*=\s*(\d+)", inspect.getsource(stats.ks_2samp))
    assert m, "ks_2samp no longer defines MAX_AUTO_N: re-read its method selection"
    return int(m.group(1))


def ks_case(name, group, x, y, auto_n):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = stats.ks_2samp(x, y, alternative="two-sided", method="auto")
    fell_back = any("Exact calculation unsuccessful" in str(w.message) for w in caught)
    if max(len(x), len(y)) > auto_n:
        method = "asymp"
        assert not fell_back
    else:
        method = "exact_fallback" if fell_back else "exact"
    p = float(r.pvalue)
    assert 0.0 <= p <= 1.0, (name, p)
    return {"name": name, "group": group, "x": x, "y": y, "D": float(r.statistic), "p": p,
            "method": method}


def interleaved(n):
    x = np.arange(n) * 2.0
    return x, x + 1.0


def truth_ratios(rng, n, mu, sigma):
    """TOFU-like forget truth ratios min(R, 1/R) in (0, 1], log R ~ N(mu, sigma)."""
    r = np.exp(rng.normal(mu, sigma, n))
    return np.minimum(r, 1.0 / r)


def shifted_to(rng, n1, n2, lo, hi, tofu=False):
    """Two samples whose ks_2samp p-value lies in [lo, hi]: y is x's law shifted by s,
    the smallest s on a grid that gets there."""
    for _ in range(50):
        if tofu:
            x = truth_ratios(rng, n1, 0.0, 0.9)
            base = rng.normal(0.0, 0.9, n2)
        else:
            x = rng.normal(0.0, 1.0, n1)
            base = rng.normal(0.0, 1.0, n2)
        for s in np.arange(0.0, 6.0, 0.01):
            if tofu:
                r = np.exp(base - s)  # the unlearned model: truth ratios pushed away from 1
                y = np.minimum(r, 1.0 / r)
            else:
                y = base + s
            p = stats.ks_2samp(x, y).pvalue
            if lo <= p <= hi:
                return x, y
            if p < lo:
                break
    raise RuntimeError(f"no shift gives p in [{lo}, {hi}] for sizes {n1}, {n2}")


def ks_cases(auto_n):
    rng = np.random.default_rng(20260101)
    cases = []

    def add(name, group, x, y):
        cases.append(ks_case(name, group, x, y, auto_n))

    # Continuous samples, equal and unequal sizes, p from ~1e-10 to 1.
    sizes = [(1, 1), (1, 2), (2, 1), (1, 5), (3, 3), (5, 8), (10, 10), (13, 7), (20, 20),
             (25, 40), (50, 50), (64, 48), (100, 100), (99, 101), (150, 200), (200, 200),
             (250, 399), (300, 300), (333, 222), (400, 400), (400, 399), (37, 400), (400, 1)]
    for _ in range(20):
        sizes.append((int(rng.integers(1, 401)), int(rng.integers(1, 401))))
    for i, (n1, n2) in enumerate(sizes):
        shift = float(rng.choice([0.0, 0.1, 0.3, 0.6]))
        scale = float(rng.choice([1.0, 1.0, 1.5]))
        add(f"continuous_{i}_{n1}x{n2}", "continuous", rng.normal(0.0, 1.0, n1),
            rng.normal(shift, scale, n2))
    add("large_2000x2000", "large", rng.normal(0.0, 1.0, 2000), rng.normal(0.05, 1.0, 2000))
    add("large_2500x1999", "large", rng.standard_t(5, 2500), rng.standard_t(5, 1999) + 0.08)
    add("large_2048x2560_gcd512", "large", rng.random(2048), rng.random(2560) ** 1.1)

    # Ties: values from a few integers, within and across the samples; identical samples.
    add("ties_50x50_0to4", "ties", rng.integers(0, 5, 50), rng.integers(0, 5, 50))
    add("ties_120x80_0to9", "ties", rng.integers(0, 10, 120), rng.integers(1, 11, 80))
    add("ties_400x400_0to3", "ties", rng.integers(0, 4, 400), rng.integers(0, 4, 400))
    add("ties_7x300_0to2", "ties", rng.integers(0, 3, 7), rng.integers(0, 3, 300))
    add("ties_30x45_halves", "ties", rng.integers(0, 3, 30) / 2, rng.integers(0, 3, 45) / 2)
    add("ties_one_value_each", "ties", np.full(10, 1.0), np.full(15, 2.0))
    add("ties_all_equal", "ties", np.full(12, 3.0), np.full(20, 3.0))
    z = rng.normal(0.0, 1.0, 100)
    add("identical_100", "identical", z, z.copy())
    w = rng.integers(0, 6, 60).astype(float)
    add("identical_ties_60", "identical", w, rng.permutation(w))
    add("identical_ecdf_50x100", "identical", z[:50], np.concatenate([z[:50], z[:50]]))

    # One sample entirely below the other: p = 2 / C(n1+n2, n1), down to underflow.
    for n1, n2 in [(1, 1), (2, 2), (37, 37), (38, 38), (300, 300), (400, 400), (515, 515),
                   (600, 600), (20, 400), (300, 299), (400, 350), (1000, 999)]:
        add(f"below_{n1}x{n2}", "below", np.arange(n1) * 1.0, n1 + np.arange(n2) * 1.0)
    add("below_but_one_300x300", "below", np.arange(300) * 1.0,
        np.concatenate([[298.5], 300.0 + np.arange(299)]))

    # p around 1e-21 (TOFU's forget quality of a model that has not forgotten).
    for n1, n2, tofu in [(400, 400, True), (300, 300, True), (400, 300, False),
                         (200, 400, False), (40, 400, False)]:
        x, y = shifted_to(rng, n1, n2, 1e-22, 1e-20, tofu)
        add(f"p1e-21_{n1}x{n2}", "tiny", x, y)
    x, y = shifted_to(rng, 400, 400, 1e-60, 1e-40)
    add("p1e-50_400x400", "tiny", x, y)

    # Sizes sharing a large gcd (the lattice walk's steps in units of lcm).
    for n1, n2 in [(400, 200), (300, 400), (360, 240), (1000, 1500), (399, 133), (10, 400)]:
        add(f"gcd_{n1}x{n2}", "gcd", rng.normal(0.0, 1.0, n1), rng.normal(0.2, 1.0, n2))

    # Interleaved equal samples, D = 1/n: the exact value is 1, but for some n scipy's
    # 2 P rounds above 1 and scipy uses the asymptotic branch instead.
    for n in [5, 6, 7, 13, 15, 16]:
        x, y = interleaved(n)
        add(f"interleaved_{n}", "fallback", x, y)

    # TOFU-like: 400 forget truth ratios of two models.
    add("tofu_400_similar", "tofu", truth_ratios(rng, 400, 0.0, 0.9),
        truth_ratios(rng, 400, 0.05, 0.9))
    add("tofu_400_moderate", "tofu", truth_ratios(rng, 400, 0.0, 0.9),
        truth_ratios(rng, 400, -0.5, 1.1))

    # The method threshold and the asymptotic branch (kstwo.sf(D, round(m n / (m + n)))).
    def big(n, loc=0.0):
        return np.round(rng.normal(loc, 1.0, n), 3)
    add(f"threshold_{auto_n}x37_exact", "threshold", big(auto_n), big(37, 0.3))
    add(f"threshold_{auto_n + 1}x37_asymp", "asymp", big(auto_n + 1), big(37, 0.3))
    add(f"asymp_{auto_n + 1}x1", "asymp", big(auto_n + 1), big(1))
    add(f"asymp_{auto_n + 1}x1_far", "asymp", big(auto_n + 1), [99.0])
    add("asymp_12000x150", "asymp", big(12000), big(150, 0.25))
    add("asymp_11000x300_tail", "asymp", big(11000), big(300, 1.2))
    add("asymp_20000x60", "asymp", big(20000), big(60, 0.4))
    return cases


def kstwo_region(n, x):
    """The branch of scipy's _kolmogn(n, x, cdf=False) that (n, x) takes."""
    if x <= 0.5 / n or x >= 1.0:
        return "support"
    t = n * x
    if t <= 1.0:
        return "ruben_gambino_low"
    if t >= n - 1:
        return "ruben_gambino_high"
    if x >= 0.5:
        return "smirnov_exact"
    nxx = t * x
    if n <= 140:
        if nxx <= 0.754693:
            return "durbin"
        return "pomeranz" if nxx <= 4 else "smirnov_miller"
    if nxx >= 370.0:
        return "zero"
    if nxx >= 2.2:
        return "smirnov_miller" if n <= 1000000 else "smirnov_approx"
    if n <= 100000 and n * x ** 1.5 <= 1.4:
        return "durbin"
    return "pelz_good"


def kstwo_cases():
    rng = np.random.default_rng(20260102)
    pts = []
    # Each region at random, then its edges.
    for _ in range(40):  # small n, anywhere
        n = int(rng.integers(1, 141))
        pts.append((n, float(rng.uniform(0.5 / n, 1.0))))
    for _ in range(40):  # small n, the body nx^2 <= 4
        n = int(rng.integers(2, 141))
        pts.append((n, float(np.sqrt(rng.uniform(0.3, 4.0) / n))))
    for _ in range(40):  # large n, nx^2 < 2.2 (Durbin or Pelz-Good)
        n = int(np.exp(rng.uniform(np.log(141), np.log(3e6))))
        pts.append((n, float(np.sqrt(rng.uniform(0.01, 2.2) / n))))
    for _ in range(25):  # large n, Durbin's corner n x^1.5 <= 1.4
        n = int(np.exp(rng.uniform(np.log(141), np.log(1e5))))
        pts.append((n, float((1.4 / n) ** (2.0 / 3.0) * rng.uniform(0.6, 1.0))))
    for _ in range(40):  # large n, the upper tail 2.2 <= nx^2 < 370 (2 * Smirnov)
        n = int(np.exp(rng.uniform(np.log(141), np.log(3e5))))
        pts.append((n, float(np.sqrt(rng.uniform(2.2, 360.0) / n))))
    for _ in range(6):  # n > 1e6: Smirnov's own approximation
        n = int(rng.integers(1000001, 4000000))
        pts.append((n, float(np.sqrt(rng.uniform(2.2, 100.0) / n))))
    for _ in range(15):  # x >= 1/2
        n = int(np.exp(rng.uniform(0, np.log(5e4))))
        pts.append((n, float(rng.uniform(0.5, 1.0))))
    for n in [1, 2, 3, 10, 140, 141, 1000, 100000, 100001, 1000000, 1000001]:
        for x in [0.5 / n, np.nextafter(0.5 / n, 1.0), 0.75 / n, 1.0 / n, 1.5 / n,
                  (n - 1.0) / n, 0.5, np.nextafter(0.5, 0.0),
                  math.sqrt(0.754693 / n), math.sqrt(4.0 / n), math.sqrt(2.2 / n),
                  (1.4 / n) ** (2.0 / 3.0), math.sqrt(369.0 / n), math.sqrt(371.0 / n), 1.0]:
            if 0.0 < x <= 1.0:
                pts.append((n, float(x)))
    out, seen = [], set()
    for n, x in pts:
        if (n, x) in seen:
            continue
        seen.add((n, x))
        sf = float(stats.kstwo.sf(x, n))
        assert 0.0 <= sf <= 1.0, (n, x, sf)
        out.append({"n": n, "d": x, "sf": sf, "region": kstwo_region(n, x)})
    return out


def arr(v):
    return "[" + ", ".join(num(t) for t in v) + "]"


def write_ks(out_dir):
    auto_n = max_auto_n()
    cases = ks_cases(auto_n)
    table = kstwo_cases()
    parts = []
    for c in cases:
        parts.append("    {" + ", ".join([
            f'"name": "{c["name"]}"', f'"group": "{c["group"]}"', f'"method": "{c["method"]}"',
            f'"n1": {len(c["x"])}', f'"n2": {len(c["y"])}',
            f'"D": {num(c["D"])}', f'"p": {num(c["p"])}',
            f'\n     "x": {arr(c["x"])}', f'\n     "y": {arr(c["y"])}']) + "}")
    rows = [f'    {{"n": {t["n"]}, "d": {num(t["d"])}, "sf": {num(t["sf"])}, '
            f'"region": "{t["region"]}"}}' for t in table]
    header = (f'  "generator": "tests/oracle/metrics_oracle.py",\n'
              f'  "reference": "scipy.stats.ks_2samp(x, y, alternative=\'two-sided\', '
              f'method=\'auto\'); scipy.stats.kstwo.sf(d, n)",\n'
              f'  "scipy": "{scipy.__version__}",\n  "numpy": "{np.__version__}",\n'
              f'  "max_auto_n": {auto_n},\n')
    text = ("{\n" + header + '  "cases": [\n' + ",\n".join(parts) + "\n  ],\n"
            + '  "kstwo_sf": [\n' + ",\n".join(rows) + "\n  ]\n}\n")
    json.loads(text)  # well-formed
    path = os.path.join(out_dir, "ks.json")
    with open(path, "w") as f:
        f.write(text)
    methods = {}
    for c in cases:
        methods[c["method"]] = methods.get(c["method"], 0) + 1
    regions = {}
    for t in table:
        regions[t["region"]] = regions.get(t["region"], 0) + 1
    return path, (f"{len(cases)} ks_2samp cases {methods}, {len(table)} kstwo.sf points "
                  f"{regions}, {os.path.getsize(path) / 1e6:.2f} MB")


FIXTURES = {"ks": ("ks.json", write_ks)}


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
    for name, (_, write) in FIXTURES.items():
        path, summary = write(out)
        print(f"{path}: {summary}")
    if args.check:
        import filecmp
        diff = [f for f, _ in FIXTURES.values()
                if not filecmp.cmp(os.path.join(out, f), os.path.join(args.out, f),
                                   shallow=False)]
        print("fixtures up to date" if not diff else f"fixtures differ: {diff}")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
