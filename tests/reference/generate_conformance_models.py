#!/usr/bin/python3
"""Writes tests/conformance/pytorch-models/resnet18_narrow/ and refreshes tests/conformance/SHA256SUMS.

Offline, with Debian's python3-torch, python3-torchvision and python3-onnx (PyTorch 1.13, torchvision 0.14,
ONNX 1.12); never run in CI. Usage:
    /usr/bin/python3 tests/reference/generate_conformance_models.py

resnet18_narrow stands in, in the repository, for the full suite's pytorch-models/resnet18 (45 MB, kept out): the
same network as torchvision's resnet18 (7x7 stride-2 stem, 3x3 stride-2 max pool, two torchvision BasicBlocks per
layer, stride-2 1x1 downsample projections, global average pool, fc to 1000 classes) at a quarter of the width
(16/32/64/128 channels, 2.8 MB of weights). Its input is 1x3x256x256 rather than 224x224 so that every residual
3x3 convolution does as much work as ResNet-18's (over the ONNX runtime's 2^23 multiply-add threshold) and layers
1 to 3 have at least 16 4x4 tiles: it takes the same runtime path (direct-convolution chains with the residual
Add, the batch-1 Winograd split in layers 1 to 3, the fallback in layer 4).

Like the other pytorch-models cases: seeded random weights (PyTorch's default initialisation), seeded random
batch-norm statistics and affine parameters, a seeded standard-normal input, eval mode, exported with
torch.onnx.export at opset 13 (batch norm folded into the convolutions by PyTorch's constant folding), and the output
computed by PyTorch in float32. The files follow the ONNX backend-test layout: model.onnx,
test_data_set_0/input_0.pb and output_0.pb (serialized onnx.TensorProto named "input" and "output"). There is no
state_dict.safetensors: CnnSharp has no ResNet module to load one into; the case is for the ONNX runtime.
Deterministic (fixed seeds, one thread): rerunning it with the same packages rewrites the same bytes.
"""
import hashlib
import os

import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance"))
# Documentation files of the vendored suite, not covered by SHA256SUMS.
DOCUMENTS = {"README.md", "SHA256SUMS", "onnx/LICENSE"}


class NarrowResNet(nn.Module):
    """torchvision's ResNet with BasicBlocks [2, 2, 2, 2] and configurable widths (torchvision fixes 64..512)."""

    def __init__(self, widths=(16, 32, 64, 128), num_classes=1000):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(widths[0], 1)
        self.layer2 = self._make_layer(widths[1], 2)
        self.layer3 = self._make_layer(widths[2], 2)
        self.layer4 = self._make_layer(widths[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], num_classes)

    def _make_layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def randomize_batch_norm(model, generator):
    """Batch-norm statistics and affine parameters away from the identity, so that folding them is tested."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=generator) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(c, generator=generator) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=generator) * 0.5 + 0.75)


def write_tensor(array, name, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def resnet18_narrow():
    torch.manual_seed(20240918)
    model = NarrowResNet()
    randomize_batch_norm(model, torch.Generator().manual_seed(20240919))
    model.eval()
    x = torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(20240920))
    with torch.no_grad():
        y = model(x)
    folder = os.path.join(ROOT, "pytorch-models", "resnet18_narrow")
    os.makedirs(folder, exist_ok=True)
    torch.onnx.export(model, x, os.path.join(folder, "model.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"])
    onnx.checker.check_model(onnx.load(os.path.join(folder, "model.onnx")))
    write_tensor(x.numpy(), "input", os.path.join(folder, "test_data_set_0", "input_0.pb"))
    write_tensor(y.numpy(), "output", os.path.join(folder, "test_data_set_0", "output_0.pb"))
    print(f"resnet18_narrow: {sum(p.numel() for p in model.parameters())} parameters, "
          f"output range [{y.min():.4f}, {y.max():.4f}], std {y.std():.4f}")


def write_sums():
    """SHA256SUMS over every data file of the vendored suite, in the format of `sha256sum` (checked by the tests)."""
    lines = []
    for folder, _, files in os.walk(ROOT):
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
            if rel in DOCUMENTS:
                continue
            with open(path, "rb") as f:
                lines.append((rel, hashlib.sha256(f.read()).hexdigest()))
    lines.sort()
    with open(os.path.join(ROOT, "SHA256SUMS"), "w", encoding="ascii", newline="\n") as f:
        f.writelines(f"{digest}  {rel}\n" for rel, digest in lines)
    print(f"SHA256SUMS: {len(lines)} files")


if __name__ == "__main__":
    torch.set_num_threads(1)
    resnet18_narrow()
    write_sums()
