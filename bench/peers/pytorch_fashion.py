"""PyTorch twin of `cnnsharp train --model <resnet> --dataset fashion-mnist` for the epoch-time comparison of issue 10.

Trains torchvision-style CIFAR ResNets (stem 3x3/16, stages 16/32/64 of n BasicBlocks, 1x1 projection shortcuts;
--blocks n) or ResNet-9 (--model resnet9, bench/peers/torch_models.py, the twin of Models/ResNet9.cs) on
Fashion-MNIST read from the IDX files CnnSharp fetched (fashion-mnist under $CNNSHARP_DATA or ~/.cache/cnnsharp), with
the same recipe as the CnnSharp run: pixels /255, normalised with the training set's mean/std, random crop with zero
padding and horizontal flip done on batch tensors, SGD (momentum, Nesterov, weight decay) under a one-cycle schedule
stepped per batch, cross-entropy with optional label smoothing. Prints one JSON line per epoch (epoch, seconds, train
loss, test accuracy).

    /usr/bin/python3 bench/peers/pytorch_fashion.py --blocks 3 --epochs 10 --threads 2
    /usr/bin/python3 bench/peers/pytorch_fashion.py --model resnet9 --epochs 12 --label-smoothing 0.1
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import ResNet9  # noqa: E402


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    _, dtype, ndim = struct.unpack(">HBB", data[:4])
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class CifarResNet(nn.Module):
    def __init__(self, n, in_channels=1, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = [BasicBlock(cin, cout, stride)] + [BasicBlock(cout, cout) for _ in range(n - 1)]
            layers.append(nn.Sequential(*blocks))
            cin = cout
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def augment(x, pad, gen):
    n, _, h, w = x.shape
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=("cifar", "resnet9"), default="cifar", help="cifar: CifarResNet(--blocks)")
    p.add_argument("--blocks", type=int, default=3)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--pad", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-epochs", type=int, default=None, help="stop after this many epochs (timing runs)")
    p.add_argument("--data", default=None)
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only (like cnnsharp train --limit; smoke tests)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    root = a.data or os.path.join(os.environ.get("CNNSHARP_DATA") or os.path.expanduser("~/.cache/cnnsharp"), "fashion-mnist")
    xtr = torch.from_numpy(read_idx(os.path.join(root, "train-images-idx3-ubyte")).astype(np.float32) / 255)[:, None]
    ytr = torch.from_numpy(read_idx(os.path.join(root, "train-labels-idx1-ubyte")).astype(np.int64))
    xte = torch.from_numpy(read_idx(os.path.join(root, "t10k-images-idx3-ubyte")).astype(np.float32) / 255)[:, None]
    yte = torch.from_numpy(read_idx(os.path.join(root, "t10k-labels-idx1-ubyte")).astype(np.int64))
    if a.limit:
        xtr, ytr = xtr[:a.limit], ytr[:a.limit]
    mean, std = xtr.mean().item(), xtr.std().item()
    xtr, xte = (xtr - mean) / std, (xte - mean) / std

    model = ResNet9() if a.model == "resnet9" else CifarResNet(a.blocks)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, nesterov=True, weight_decay=a.weight_decay)
    steps = (len(xtr) + a.batch - 1) // a.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, epochs=a.epochs, steps_per_epoch=steps)
    gen = torch.Generator().manual_seed(a.seed)
    for epoch in range(1, (a.max_epochs or a.epochs) + 1):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for s in range(steps):
            idx = perm[s * a.batch:(s + 1) * a.batch]
            x = augment(xtr[idx], a.pad, gen)
            loss = F.cross_entropy(model(x), ytr[idx], label_smoothing=a.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - start
        model.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(xte), 1000):
                correct += (model(xte[s:s + 1000]).argmax(1) == yte[s:s + 1000]).sum().item()
        print(json.dumps({"epoch": epoch, "seconds": round(seconds, 2), "train_loss": total / len(xtr),
                          "test_accuracy": correct / len(xte)}), flush=True)


if __name__ == "__main__":
    main()
