#!/usr/bin/python3
"""Writes the model-zoo key fixtures and the PyTorch checkpoint (.pt) fixtures.

Offline, with Debian's python3-torch (PyTorch 1.13) and python3-torchvision (0.14); never run in CI. Usage:
    /usr/bin/python3 tests/reference/generate_torch_fixtures.py

tests/CnnSharp.Tests/Fixtures/models/<name>_state_dict.json, for resnet9, resnet20, resnet18 and mobilenet_v2:
    state_dict() keys in order with shapes and dtypes, named_parameters() names and the parameter count of the
    PyTorch model (torchvision's resnet18() and mobilenet_v2() with their defaults; ResNet-20 is CifarResNet(3) below,
    built from the same BasicBlock as bench/peers/torch_models.py).

tests/CnnSharp.Tests/Fixtures/torch/, every file written by torch.save (the zip format of PyTorch >= 1.6):
    <model>.pt       torch.save(model.state_dict(), path) after randomising batch norm (so eval mode is a real test)
    <model>_io.pt    torch.save({"input": float32 batch, "logits": float64 eval-mode logits}, path); the logits are
                     computed in float64 from the very float32 (or float16) weights in <model>.pt, so they are the
                     exact answer CnnSharp's float32 forward is compared with
    models: convnet (the seed ConvNet), lenet5, resnet18_w8 (torchvision's ResNet-18 layout and keys at width 8,
    10 classes: the full model's 45 MB is too big to commit), mobilenet_v2_w025 (torchvision's mobilenet_v2 at
    width_mult 0.25, 10 classes, saved as float16 to halve the file)
    views.pt + views.json   tensors that are views (a transpose, a slice with a storage offset, two tensors sharing one
                     storage, an expanded stride-0 tensor), an nn.Parameter, and one tensor of each storage dtype;
                     the JSON holds each tensor's values, contiguous, as the loader must materialise them
    protocol4.pt     a small state dict saved with pickle_protocol=4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL)
    checkpoint.pt    {"model": state_dict, "epoch": 3, "lr": 0.1, "name": "run"}: a training checkpoint
    legacy.pt        _use_new_zipfile_serialization=False: the pre-1.6 format, which the loader refuses by name
    hostile/*.pt     torch.save's zip layout around hand-written pickles that must be refused: see HOSTILE below
"""
import io
import json
import os
import struct
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "peers"))
from torch_models import BasicBlock, ConvNet, ResNet9, lenet5  # noqa: E402

FIXTURES = os.path.normpath(os.path.join(HERE, "..", "CnnSharp.Tests", "Fixtures"))
MODELS = os.path.join(FIXTURES, "models")
TORCH = os.path.join(FIXTURES, "torch")
SEED = 20261203


class CifarResNet(nn.Module):
    """Models/CifarResNet.cs: 3x3 stem, three stages of n BasicBlocks (16, 32/2, 64/2, projection shortcuts), fc."""

    def __init__(self, n, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(*[BasicBlock(16, 16) for _ in range(n)])
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), *[BasicBlock(32, 32) for _ in range(n - 1)])
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), *[BasicBlock(64, 64) for _ in range(n - 1)])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x))))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class NarrowResNet18(torchvision.models.ResNet):
    """torchvision's ResNet-18 (same class, same keys) with every channel count divided by 64 / width."""

    def __init__(self, width, num_classes):
        super().__init__(torchvision.models.resnet.BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._make_layer(torchvision.models.resnet.BasicBlock, width, 2)
        self.layer2 = self._make_layer(torchvision.models.resnet.BasicBlock, 2 * width, 2, stride=2)
        self.layer3 = self._make_layer(torchvision.models.resnet.BasicBlock, 4 * width, 2, stride=2)
        self.layer4 = self._make_layer(torchvision.models.resnet.BasicBlock, 8 * width, 2, stride=2)
        self.fc = nn.Linear(8 * width, num_classes)


def key_fixture(name, call, model):
    state = model.state_dict()
    with open(os.path.join(MODELS, name + "_state_dict.json"), "w") as f:
        json.dump({"generator": "tests/reference/generate_torch_fixtures.py", "torch": torch.__version__,
                   "torchvision": torchvision.__version__, "call": call,
                   "parameter_count": sum(p.numel() for p in model.parameters()),
                   "state_dict": [{"key": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")} for k, v in state.items()],
                   "parameters": [n for n, _ in model.named_parameters()]}, f, indent=1)
        f.write("\n")


def randomise(model, r):
    """Non-default batch-norm weights and running statistics, so an eval-mode forward depends on every buffer."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.from_numpy(r.uniform(0.5, 1.5, m.num_features)))
                m.bias.copy_(torch.from_numpy(r.normal(0, 0.1, m.num_features)))
                m.running_mean.copy_(torch.from_numpy(r.normal(0, 0.1, m.num_features)))
                m.running_var.copy_(torch.from_numpy(r.uniform(0.5, 2.0, m.num_features)))
                m.num_batches_tracked.fill_(7)


def checkpoint_fixture(name, model, input_shape, half=False):
    torch.manual_seed(SEED)
    r = np.random.default_rng([SEED, len(name)])
    randomise(model, r)
    model.eval()
    if half:
        model = model.half()
    torch.save(model.state_dict(), os.path.join(TORCH, name + ".pt"))
    x = torch.from_numpy(r.standard_normal(input_shape).astype(np.float32))
    reference = model.double()
    with torch.no_grad():
        logits = reference(x.double())
    torch.save({"input": x, "logits": logits}, os.path.join(TORCH, name + "_io.pt"))
    size = os.path.getsize(os.path.join(TORCH, name + ".pt"))
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, {size} bytes, logits up to {logits.abs().max().item():.3f}")


def views_fixture():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    shared = torch.arange(10, dtype=torch.float32) * 0.5
    tensors = OrderedDict([
        ("transposed", base.t()),                            # strides (1, 6)
        ("sliced", base[1:3, 2:5]),                          # storage offset 8, strides (6, 1)
        ("every_other", base[:, ::2]),                       # strides (6, 2)
        ("shared_head", shared[:4]),                         # two views of one storage
        ("shared_tail", shared[6:].view(2, 2)),
        ("expanded", torch.tensor([1.5, -2.0]).unsqueeze(1).expand(2, 3)),  # stride 0
        ("scalar", torch.tensor(3.25)),
        ("empty", torch.zeros(0, 3)),
        ("parameter", nn.Parameter(torch.tensor([[0.5, -0.25]]))),
        ("float64", torch.tensor([1.0 / 3, -2.5], dtype=torch.float64)),
        ("float16", torch.tensor([0.5, -65504.0, 1e-4], dtype=torch.float16)),
        ("bfloat16", torch.tensor([1.5, -3.0e38], dtype=torch.bfloat16)),
        ("int64", torch.tensor([-(2 ** 40), 7], dtype=torch.int64)),
        ("int32", torch.tensor([[-5, 6]], dtype=torch.int32)),
        ("int16", torch.tensor([-300], dtype=torch.int16)),
        ("int8", torch.tensor([-7, 8], dtype=torch.int8)),
        ("uint8", torch.tensor([0, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
    ])
    torch.save(tensors, os.path.join(TORCH, "views.pt"))
    expected = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                    "data": v.detach().double().flatten().tolist()} for k, v in tensors.items()}
    with open(os.path.join(TORCH, "views.json"), "w") as f:
        json.dump({"generator": "tests/reference/generate_torch_fixtures.py", "torch": torch.__version__, "tensors": expected}, f, indent=1)
        f.write("\n")


def small_state_dict():
    torch.manual_seed(SEED)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 3)).state_dict()


# ---- hostile pickles: every one must be refused, and nothing in them may run -------------------------------------

def write_zip(path, data_pkl, storages=(), prefix="archive"):
    """torch.save's zip layout (archive/data.pkl, archive/data/<key>, archive/version), stored, fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        def add(name, data):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)
        add(f"{prefix}/data.pkl", data_pkl)
        for key, data in storages:
            add(f"{prefix}/data/{key}", data)
        add(f"{prefix}/version", b"3\n")
    with open(path, "wb") as f:
        f.write(buffer.getvalue())


def unicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def global_(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


PROTO2 = b"\x80\x02"
ORDERED_DICT = global_("collections", "OrderedDict") + b")R"      # OrderedDict() on the stack


def tensor(key, numel, size, stride, offset=0, storage="FloatStorage"):
    """The pickle of torch._utils._rebuild_tensor_v2 for one float tensor, as torch.save writes it (protocol 2)."""
    def ints(values):
        return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"
    pid = b"(" + unicode("storage") + global_("torch", storage) + unicode(key) + unicode("cpu") + b"J" + struct.pack("<i", numel) + b"t"
    return (global_("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"Q" + b"J" + struct.pack("<i", offset)
            + ints(size) + ints(stride) + b"\x89" + ORDERED_DICT + b"tR")


HOSTILE = {
    # name: (why, data.pkl, storages)
    "posix_system_reduce": ("GLOBAL posix.system + REDUCE: the classic os.system payload as pickled on Linux",
                            PROTO2 + global_("posix", "system") + b"(" + unicode("touch cnnsharp-pwned") + b"tR.", []),
    "os_system_reduce": ("GLOBAL os.system + REDUCE", PROTO2 + global_("os", "system") + unicode("touch cnnsharp-pwned") + b"\x85R.", []),
    "builtins_eval": ("STACK_GLOBAL builtins.eval (protocol 4) + REDUCE",
                      b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x1b__import__('os').system('x')\x94\x85\x94R\x94.", []),
    "nested_reduce": ("a well-formed state dict whose second value is os.system(...) applied inside the dict",
                      PROTO2 + ORDERED_DICT + b"(" + unicode("fc.weight") + tensor("0", 2, [2], [1])
                      + unicode("fc.bias") + global_("os", "system") + b"(" + unicode("touch cnnsharp-pwned") + b"tR" + b"u.",
                      [("0", struct.pack("<2f", 1, 2))]),
    "subprocess_popen": ("GLOBAL subprocess.Popen", PROTO2 + global_("subprocess", "Popen") + b"(" + unicode("sh") + b"tR.", []),
    "inst_opcode": ("INST os.system: the protocol-0 opcode that imports and calls in one step",
                    b"(" + unicode("touch cnnsharp-pwned") + b"ios\nsystem\n.", []),
    "obj_opcode": ("OBJ on an allowed class: OBJ instantiates whatever class is on the stack, so it is refused outright",
                   PROTO2 + b"(" + global_("collections", "OrderedDict") + b"o.", []),
    "build_setstate": ("BUILD on a tensor: BUILD calls __setstate__ / sets attributes, allowed only on an OrderedDict",
                       PROTO2 + tensor("0", 2, [2], [1]) + b"}" + b"b.", [("0", struct.pack("<2f", 1, 2))]),
    "reduce_storage_class": ("REDUCE of torch.FloatStorage: a storage type is allowed only inside a persistent id",
                             PROTO2 + global_("torch", "FloatStorage") + b")R.", []),
    "truncated": ("a valid state-dict pickle cut off in the middle of a tensor",
                  (PROTO2 + ORDERED_DICT + b"(" + unicode("w") + tensor("0", 2, [2], [1]) + b"u.")[:60], [("0", struct.pack("<2f", 1, 2))]),
    "huge_string_length": ("BINUNICODE claiming 2^31 - 1 bytes in a 20-byte pickle", PROTO2 + b"X\xff\xff\xff\x7fabc.", []),
    "memo_out_of_range": ("BINGET 200 with an empty memo", PROTO2 + b"h\xc8.", []),
    "missing_storage": ("a tensor whose storage key 7 has no archive/data/7 entry",
                        PROTO2 + ORDERED_DICT + b"(" + unicode("w") + tensor("7", 2, [2], [1]) + b"u.", [("0", struct.pack("<2f", 1, 2))]),
    "stride_beyond_storage": ("size (10, 10) with strides (10, 1) over a storage of 50 floats",
                              PROTO2 + ORDERED_DICT + b"(" + unicode("w") + tensor("0", 50, [10, 10], [10, 1]) + b"u.",
                              [("0", struct.pack("<50f", *range(50)))]),
    "storage_size_mismatch": ("the persistent id claims 1000 floats, the storage entry holds 2",
                              PROTO2 + ORDERED_DICT + b"(" + unicode("w") + tensor("0", 1000, [1000], [1]) + b"u.",
                              [("0", struct.pack("<2f", 1, 2))]),
    "negative_size": ("a tensor of size -1", PROTO2 + ORDERED_DICT + b"(" + unicode("w") + tensor("0", 2, [-1], [1]) + b"u.",
                      [("0", struct.pack("<2f", 1, 2))]),
    "storage_key_path": ("a storage key that climbs out of the archive ('../../etc/passwd')",
                         PROTO2 + ORDERED_DICT + b"(" + unicode("w") + tensor("../../etc/passwd", 2, [2], [1]) + b"u.", []),
}


def hostile_fixtures():
    folder = os.path.join(TORCH, "hostile")
    for old in os.listdir(folder):
        os.remove(os.path.join(folder, old))
    readme = ["# Hostile .pt files (generated by tests/reference/generate_torch_fixtures.py; never edit by hand)", "",
              "Each is torch.save's zip layout around a hand-written data.pkl. CnnSharp must refuse every one with a typed",
              "error before anything is allocated from its claims, and nothing in them is ever executed.", "",
              "| file | what it tries |", "|---|---|"]
    for name, (why, data_pkl, storages) in HOSTILE.items():
        write_zip(os.path.join(folder, name + ".pt"), data_pkl, storages)
        readme.append(f"| `{name}.pt` | {why} |")
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("\n".join(readme) + "\n")


def main():
    torch.set_num_threads(1)
    os.makedirs(TORCH, exist_ok=True)
    key_fixture("resnet20", "CifarResNet(3, num_classes=10)", CifarResNet(3))
    key_fixture("resnet9", "ResNet9(num_classes=10, in_channels=1, width=16)", ResNet9())
    key_fixture("resnet18", "torchvision.models.resnet18()", torchvision.models.resnet18())
    key_fixture("mobilenet_v2", "torchvision.models.mobilenet_v2()", torchvision.models.mobilenet_v2())

    torch.manual_seed(SEED)
    checkpoint_fixture("convnet", ConvNet(), (2, 1, 28, 28))
    torch.manual_seed(SEED)
    checkpoint_fixture("lenet5", lenet5(), (2, 1, 28, 28))
    torch.manual_seed(SEED)
    checkpoint_fixture("resnet9", ResNet9(), (2, 1, 28, 28))
    torch.manual_seed(SEED)
    checkpoint_fixture("resnet18_w8", NarrowResNet18(8, 10), (2, 3, 64, 64))
    torch.manual_seed(SEED)
    checkpoint_fixture("mobilenet_v2_w025", torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.25), (2, 3, 32, 32), half=True)

    views_fixture()
    torch.save(small_state_dict(), os.path.join(TORCH, "protocol4.pt"), pickle_protocol=4)
    torch.save({"model": small_state_dict(), "epoch": 3, "lr": 0.1, "name": "run"}, os.path.join(TORCH, "checkpoint.pt"))
    torch.save(small_state_dict(), os.path.join(TORCH, "legacy.pt"), _use_new_zipfile_serialization=False)
    hostile_fixtures()


if __name__ == "__main__":
    main()
