#!/usr/bin/env python3
"""PyTorch peer for bench/compare-models.sh: one model per process, the workload of `CnnSharp.Benchmarks models`.

Synthetic data (random normal images, random labels) at the model's batch size; the median time of a training step
(zero_grad, forward, cross-entropy, backward, Adam lr 1e-3) after a warm-up, the median eval forward at the same batch
under torch.no_grad(), and peak RSS (VmHWM). Prints one JSON object with the C# side's field names.
Run with Debian's python3-torch (PyTorch 1.13): /usr/bin/python3 bench/peers/pytorch_models.py --model resnet8
"""
import argparse, json, time

import torch
import torch.nn as nn

from torch_models import MODELS  # bench/peers/torch_models.py, next to this script

BATCH = {"convnet": 100, "lenet5": 100, "vgg_small": 64, "resnet8": 64}


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    ctor, shape = MODELS[args.model]
    batch = BATCH[args.model]
    model = ctor()
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    first = last = step()
    for _ in range(args.warmup - 1):
        last = step()
    step_ms = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        last = step()
        step_ms.append((time.perf_counter() - t0) * 1e3)

    model.eval()
    eval_ms = []
    with torch.no_grad():
        for _ in range(args.warmup):
            model(x)
        for _ in range(args.steps):
            t0 = time.perf_counter()
            model(x)
            eval_ms.append((time.perf_counter() - t0) * 1e3)

    print(json.dumps({
        "peer": "pytorch " + torch.__version__,
        "model": args.model,
        "path": "eager",
        "threads": args.threads,
        "batch": batch,
        "train_step_ms": median(step_ms),
        "eval_ms": median(eval_ms),
        "peak_rss_mib": peak_rss_mib(),
        "loss_first": first,
        "loss_last": last,
    }))


if __name__ == "__main__":
    main()
