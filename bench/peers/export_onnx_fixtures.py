#!/usr/bin/env python3
"""Exports the ONNX benchmark fixtures for bench/compare-onnx.sh: torchvision 0.14's MobileNet-v2 and ShuffleNet-v2 x1.0
with seeded random weights (torch.manual_seed(0) before building each model; no pretrained download), eval mode,
opset 13, input 1x3x224x224 with a dynamic batch axis, into DIR/<name>/model.onnx (atomically: temp file + rename).

Run with Debian's python3-torch 1.13 / python3-torchvision 0.14 / python3-onnx:
    /usr/bin/python3 bench/peers/export_onnx_fixtures.py [--out bench/fixtures] [--models mobilenet_v2,shufflenet_v2_x1_0]
The exported files are committed (14 MB and 9 MB, under the project's ~15 MB-per-fixture limit; hashes in
bench/fixtures/SHA256SUMS), so the benchmark runs where the Python packages are not installed; compare-onnx.sh still runs
this script when a file is missing and the packages are present.
"""
import argparse, os, sys

import torch
import torchvision

BUILDERS = {
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
    "shufflenet_v2_x1_0": lambda: torchvision.models.shufflenet_v2_x1_0(weights=None),
}


def export(name, out_dir):
    torch.manual_seed(0)
    model = BUILDERS[name]().eval()
    # Random BN running statistics too, so folding BatchNormalization is exercised with non-trivial values.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    tmp = path + ".tmp"
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(model, x, tmp, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    os.replace(tmp, path)
    print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
    p.add_argument("--models", default=",".join(BUILDERS))
    a = p.parse_args()
    for name in a.models.split(","):
        if name not in BUILDERS:
            sys.exit(f"unknown model {name}; known: {', '.join(BUILDERS)}")
        export(name, a.out)


if __name__ == "__main__":
    main()
