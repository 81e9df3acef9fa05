#!/usr/bin/python3
"""Writes tests/CnnSharp.Tests/Fixtures/numpy/signal.json: reference values for CnnSharp.Signal.

Run offline with Debian's NumPy (see README.md):  /usr/bin/python3 tests/reference/generate_numpy_signal.py

Every case records the exact NumPy call that produced "expected", in terms of the C# arguments f and g:
  Signal.Convolve(f, g, mode)        == numpy.convolve(f, g, mode)
  Signal.CrossCorrelate(f, g, mode)  == numpy.correlate(g, f, mode)   (seed: (f * g)(t) = sum f[tau] g[t + tau])
  Signal.Autocorrelate(f, mode)      == numpy.correlate(f, f, mode)
"first" is the seed-sequence index (convolve) or lag (correlations) of expected[0]. It is found here by matching
NumPy's output against the seed's definitions evaluated term by term, not by copying NumPy's window rule, so the
fixture pins down the documented lag convention independently.
"""
import json
import os
import sys

import numpy as np

SEED = 20240917
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "CnnSharp.Tests", "Fixtures", "numpy", "signal.json")

# (len(f), len(g)) pairs: odd/even, equal, each order, one-element inputs, long-vs-short.
PAIRS = [(1, 1), (1, 4), (4, 1), (2, 2), (3, 3), (4, 4), (5, 3), (3, 5), (6, 4), (4, 6), (6, 3), (3, 6),
         (7, 2), (2, 7), (8, 5), (5, 8), (9, 9), (10, 10), (16, 7), (7, 16), (33, 8), (8, 33)]
AUTO_LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16]
MODES = ["full", "same", "valid"]


def seed_convolution(f, g, n):
    """(f * g)[n] = sum_m f[m] g[n - m] over the finite supports."""
    return sum(f[m] * g[n - m] for m in range(len(f)) if 0 <= n - m < len(g))


def seed_cross_correlation(f, g, t):
    """(f star g)(t) = sum_tau f[tau] g[t + tau] over the finite supports."""
    return sum(f[tau] * g[t + tau] for tau in range(len(f)) if 0 <= t + tau < len(g))


def locate(full, full_first, got):
    """Index/lag of got[0] within the seed's full sequence (whose element 0 has index/lag full_first)."""
    hits = [s for s in range(len(full) - len(got) + 1)
            if np.allclose(full[s:s + len(got)], got, rtol=1e-12, atol=1e-12)]
    if len(hits) != 1:
        sys.exit(f"ambiguous or missing window: {hits}")
    return full_first + hits[0]


def draw(rng, n, scale):
    return (rng.standard_normal(n) * scale).tolist()


def write_one_case_per_line(doc, fh):
    """JSON with one case per line, so a regenerated fixture diffs case by case."""
    head = {k: v for k, v in doc.items() if k != "cases"}
    fh.write("{\n")
    for k, v in head.items():
        fh.write(f" {json.dumps(k)}: {json.dumps(v)},\n")
    fh.write(' "cases": [\n')
    fh.write(",\n".join("  " + json.dumps(c) for c in doc["cases"]))
    fh.write("\n ]\n}\n")


def main():
    rng = np.random.default_rng(SEED)
    cases = []
    for i, (n, m) in enumerate(PAIRS):
        # Mostly unit scale; a few cases at large and small magnitudes to exercise relative tolerances.
        scale = [1.0, 1e3, 1e-3][i % 3] if i >= 6 else 1.0
        f, g = draw(rng, n, scale), draw(rng, m, scale)
        fa, ga = np.array(f), np.array(g)
        conv_full = np.array([seed_convolution(f, g, k) for k in range(n + m - 1)])
        xcorr_full = np.array([seed_cross_correlation(f, g, t) for t in range(-(n - 1), m)])
        for mode in MODES:
            got = np.convolve(fa, ga, mode=mode)
            cases.append({
                "name": f"convolve_f{n}_g{m}_{mode}", "op": "convolve", "mode": mode, "f": f, "g": g,
                "numpy_call": f"numpy.convolve(f, g, mode='{mode}')",
                "first": locate(conv_full, 0, got), "expected": got.tolist()})
            got = np.correlate(ga, fa, mode=mode)
            cases.append({
                "name": f"cross_correlate_f{n}_g{m}_{mode}", "op": "cross_correlate", "mode": mode, "f": f, "g": g,
                "numpy_call": f"numpy.correlate(g, f, mode='{mode}')",
                "first": locate(xcorr_full, -(n - 1), got), "expected": got.tolist()})
    for n in AUTO_LENGTHS:
        f = draw(rng, n, 1.0)
        fa = np.array(f)
        auto_full = np.array([seed_cross_correlation(f, f, t) for t in range(-(n - 1), n)])
        for mode in MODES:
            got = np.correlate(fa, fa, mode=mode)
            cases.append({
                "name": f"autocorrelate_f{n}_{mode}", "op": "autocorrelate", "mode": mode, "f": f, "g": None,
                "numpy_call": f"numpy.correlate(f, f, mode='{mode}')",
                "first": locate(auto_full, -(n - 1), got), "expected": got.tolist()})
    doc = {
        "generator": "tests/reference/generate_numpy_signal.py",
        "numpy_version": np.__version__,
        "seed": SEED,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as fh:
        write_one_case_per_line(doc, fh)
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
