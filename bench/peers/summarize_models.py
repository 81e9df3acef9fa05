#!/usr/bin/env python3
"""Table for bench/compare-models.sh: medians over rounds per model and side, and CnnSharp/PyTorch ratios.

Usage: summarize_models.py RESULTS ROUNDS THREADS STEPS, where each line of RESULTS is "side model json".
"""
import json
import statistics
import sys


def main():
    path, rounds, threads, steps = sys.argv[1:5]
    runs = {}
    for line in open(path):
        side, model, js = line.split(" ", 2)
        runs.setdefault((model, side), []).append(json.loads(js))
    models = list(dict.fromkeys(model for model, _ in runs))

    def med(model, side, key):
        return statistics.median(r[key] for r in runs[(model, side)])

    print(f"\n{rounds} rounds, {threads} threads, median of {steps} steps per run; medians over rounds; ratio = CnnSharp / PyTorch")
    head = (f"{'model':<15}{'path':>9}{'batch':>6} | {'train ms':>9}{'PyTorch':>9}{'ratio':>7} | {'eval ms':>9}{'PyTorch':>9}"
            f"{'ratio':>7} | {'MB/step':>8}{'gen2/st':>8} | {'RSS MiB':>8}{'PyTorch':>8}{'ratio':>7}")
    print(head)
    print("-" * len(head))
    for model in models:
        cs, pt = runs[(model, "cnnsharp")], runs[(model, "torch")]
        if cs[0]["batch"] != pt[0]["batch"]:
            sys.exit(f"{model}: batch {cs[0]['batch']} in CnnSharp, {pt[0]['batch']} in PyTorch")
        t, tp = med(model, "cnnsharp", "train_step_ms"), med(model, "torch", "train_step_ms")
        e, ep = med(model, "cnnsharp", "eval_ms"), med(model, "torch", "eval_ms")
        rss, rssp = med(model, "cnnsharp", "peak_rss_mib"), med(model, "torch", "peak_rss_mib")
        mb = med(model, "cnnsharp", "managed_bytes_per_step") / 1e6
        gen2 = statistics.median(r["gc_per_step"][2] for r in cs)
        print(f"{model:<15}{cs[0]['path']:>9}{cs[0]['batch']:>6} | {t:>9.2f}{tp:>9.2f}{t / tp:>7.2f} | {e:>9.2f}{ep:>9.2f}{e / ep:>7.2f}"
              f" | {mb:>8.1f}{gen2:>8.2f} | {rss:>8.0f}{rssp:>8.0f}{rss / rssp:>7.2f}")
    print("MB/step: managed bytes allocated per steady-state training step (all threads); gen2/st: gen-2 GCs per step")


if __name__ == "__main__":
    main()
