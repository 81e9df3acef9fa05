#!/usr/bin/python3
"""Writes tests/CnnSharp.Tests/Fixtures/models/: PyTorch references for CnnSharp's VggSmall and ResNet8.

Offline, with Debian's python3-torch (PyTorch 1.13); never run in CI. Usage:
    /usr/bin/python3 tests/reference/generate_model_fixtures.py
The networks are the twins in bench/peers/torch_models.py (one definition for the benchmark peer and these fixtures).
Per model <name> (vgg_small, resnet8) it writes:

  <name>_state_dict.json   state_dict() keys in order with shapes and dtypes, and named_parameters() names
  <name>.safetensors       the weights the C# test loads: PyTorch's default init (torch.manual_seed), batch-norm
                           weight/bias and running statistics randomised (so eval mode is a real test) and
                           num_batches_tracked = 3; every float rounded to float16 and stored as F16, so the file is
                           half the size and float32 holds every value exactly
  <name>_io.safetensors    input (F32, batch 2), labels (I64), and F64 references: eval_output; then, in train mode,
                           train_output, loss (cross-entropy, mean), input_grad, the gradients of the first and last
                           weights (grad.<key>), and every running_mean / running_var after that one training forward
                           (after.<key>)

The input is redrawn until every ReLU input of the training forward is at least MARGIN away from 0 and every 2x2
max-pool window's largest value, unless 0, leads the next by MARGIN: at a kink, float32 rounding could take the other side and move
a whole patch of the gradient (one flipped ReLU in ResNet8's layer1 changes a 5x5x3 patch of the input gradient by
~20%), which no tolerance should have to absorb. The references are computed in float64 from the exactly representable float16/float32 values, so they are the exact
answers CnnSharp's float32 results are compared with. The safetensors files are written by hand (no safetensors package
in Debian): an 8-byte little-endian header length, a JSON header padded with spaces to a multiple of 8, the data.
"""
import copy
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "peers"))
from torch_models import ResNet8, VggSmall  # noqa: E402

OUT = os.path.normpath(os.path.join(HERE, "..", "CnnSharp.Tests", "Fixtures", "models"))
SEED = 20251203
MARGIN = 1e-5
DTYPES = {torch.float16: ("F16", "<f2"), torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"), torch.int64: ("I64", "<i8")}


def write_safetensors(path, tensors):
    """tensors: list of (name, torch tensor) in file order."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        code, np_dtype = DTYPES[t.dtype]
        data = t.detach().contiguous().numpy().astype(np_dtype).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def randomise(model, r):
    """Non-default batch-norm state, then every float rounded to float16 (exact in float32 and float64)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.from_numpy(r.uniform(0.5, 1.5, m.num_features)))
                m.bias.copy_(torch.from_numpy(r.normal(0, 0.1, m.num_features)))
                m.running_mean.copy_(torch.from_numpy(r.normal(0, 0.1, m.num_features)))
                m.running_var.copy_(torch.from_numpy(r.uniform(0.5, 2.0, m.num_features)))
                m.num_batches_tracked.fill_(3)
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.half().float())


class KinkWatch:
    """Records, while active, the smallest |input| of any ReLU and the smallest top-two gap of any 2x2 max-pool window."""

    def __init__(self):
        self.relu, self.pool = F.relu, F.max_pool2d
        self.closest = float("inf")

    def _relu(self, x, inplace=False):
        self.closest = min(self.closest, x.detach().abs().min().item())
        return self.relu(x, inplace=inplace)

    def _pool(self, x, *args, **kwargs):
        n, c, h, w = x.shape
        windows = x.detach()[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 2, 4, 3, 5)
        top = windows.reshape(n, c, h // 2, w // 2, 4).sort(dim=-1, descending=True).values
        # Windows of ReLU zeros tie exactly, and harmlessly: the gradient that reaches them is killed by the ReLU.
        gaps = (top[..., 0] - top[..., 1])[top[..., 0] > 0]
        if gaps.numel():
            self.closest = min(self.closest, gaps.min().item())
        return self.pool(x, *args, **kwargs)

    def __enter__(self):
        F.relu, F.max_pool2d = self._relu, self._pool
        return self

    def __exit__(self, *exc):
        F.relu, F.max_pool2d = self.relu, self.pool


def draw_input(model, r):
    """A batch-2 input (and labels) whose training forward stays MARGIN away from every ReLU and max-pool kink."""
    probe = copy.deepcopy(model).double().train()
    for attempt in range(200):
        x32 = torch.from_numpy(r.standard_normal((2, 3, 32, 32)).astype(np.float32))
        labels = torch.from_numpy(r.integers(0, 10, 2).astype(np.int64))
        with torch.no_grad(), KinkWatch() as watch:
            probe(x32.double())
        if watch.closest >= MARGIN:
            return x32, labels, attempt
    raise RuntimeError("no input kept its distance from the kinks in 200 draws")


def fixture(name, ctor):
    torch.manual_seed(SEED)
    r = np.random.default_rng([SEED, zlib.crc32(name.encode())])
    model = ctor()
    randomise(model, r)
    state = model.state_dict()
    keys = [{"key": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")} for k, v in state.items()]
    with open(os.path.join(OUT, name + "_state_dict.json"), "w") as f:
        json.dump({"generator": "tests/reference/generate_model_fixtures.py", "torch": torch.__version__,
                   "call": f"{ctor.__name__}(num_classes=10).state_dict()", "state_dict": keys,
                   "parameters": [n for n, _ in model.named_parameters()]}, f, indent=1)
        f.write("\n")
    write_safetensors(os.path.join(OUT, name + ".safetensors"),
                      [(k, v.half() if v.is_floating_point() else v) for k, v in state.items()])

    x32, labels, attempt = draw_input(model, r)
    model = model.double()
    x = x32.double().requires_grad_()
    model.eval()
    with torch.no_grad():
        eval_out = model(x)
    model.train()
    train_out = model(x)
    loss = nn.functional.cross_entropy(train_out, labels)
    loss.backward()
    params = dict(model.named_parameters())
    first, last = next(iter(params)), [k for k in params if k.endswith("weight")][-1]
    io = [("input", x32), ("labels", labels), ("eval_output", eval_out), ("train_output", train_out.detach()),
          ("loss", loss.detach()), ("input_grad", x.grad), ("grad." + first, params[first].grad),
          ("grad." + last, params[last].grad)]
    io += [("after." + k, v) for k, v in model.state_dict().items() if k.endswith(("running_mean", "running_var"))]
    write_safetensors(os.path.join(OUT, name + "_io.safetensors"), io)
    print(f"{name}: {len(keys)} state-dict entries, loss {loss.item():.6f}, input draw {attempt}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    fixture("vgg_small", VggSmall)
    fixture("resnet8", ResNet8)


if __name__ == "__main__":
    main()
