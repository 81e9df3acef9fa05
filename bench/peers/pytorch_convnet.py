#!/usr/bin/env python3
"""PyTorch peer for bench/compare.sh: the seed's ConvNet on MNIST, same workload as `cnnsharp bench`.

Prints one JSON object: epoch seconds (batch 100, Adam lr 1e-3), eval images/s at batch 100, batch-1 latency (ms),
peak RSS (MiB) and test accuracy. Reads the IDX files CnnSharp caches (no download here).
Run with Debian's python3-torch (PyTorch 1.13): /usr/bin/python3 bench/peers/pytorch_convnet.py --data DIR
"""
import argparse, json, os, resource, struct, time

import numpy as np
import torch
import torch.nn as nn

from torch_models import ConvNet  # bench/peers/torch_models.py, next to this script


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/cnnsharp/mnist"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval-rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    xtr = torch.from_numpy(read_idx(os.path.join(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0).unsqueeze(1)
    ytr = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte")).astype(np.int64))
    xte = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0).unsqueeze(1)
    yte = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64))

    model = ConvNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    epoch_times = []
    for _ in range(args.epochs):
        perm = torch.randperm(xtr.shape[0])
        model.train()
        t0 = time.perf_counter()
        for i in range(0, xtr.shape[0], 100):
            idx = perm[i:i + 100]
            out = model(xtr[idx])
            loss = loss_fn(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        epoch_times.append(time.perf_counter() - t0)

    model.eval()
    correct = 0
    eval_times = []
    with torch.no_grad():
        for r in range(args.eval_rounds):
            t0 = time.perf_counter()
            c = 0
            for i in range(0, xte.shape[0], 100):
                c += (model(xte[i:i + 100]).argmax(1) == yte[i:i + 100]).sum().item()
            eval_times.append(time.perf_counter() - t0)
            correct = c
        torch.set_num_threads(1)
        one = xte[:1]
        for _ in range(200):
            model(one)
        lat = []
        for i in range(1000):
            t0 = time.perf_counter()
            model(xte[i:i + 1])
            lat.append(time.perf_counter() - t0)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "peer": "pytorch " + torch.__version__,
        "threads": args.threads,
        "epoch_s": float(np.median(epoch_times)),
        "eval_img_s": float(xte.shape[0] / np.median(eval_times)),
        "b1_ms": float(np.median(lat) * 1000),
        "peak_rss_mib": rss_mib,
        "test_acc": correct / xte.shape[0],
    }))


if __name__ == "__main__":
    main()
