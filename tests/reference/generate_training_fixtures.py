#!/usr/bin/python3
"""Writes the optimizer and ConvNet fixtures under tests/CnnSharp.Tests/Fixtures/training/.

Offline, with Debian's python3-torch (PyTorch 1.13); never run in CI. Usage:
    /usr/bin/python3 tests/reference/generate_training_fixtures.py
They live apart from Fixtures/pytorch/ because their schema differs (a sequence of optimizer steps, a key list) and
generate_pytorch_fixtures.py owns that folder. Each fixture records the PyTorch call that produced it ("call"). Values are float32, written as the shortest
decimal that round-trips (so C# parses them to the same float).
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "CnnSharp.Tests", "Fixtures", "training")


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def optim_case(name, ctor, call, kwargs, steps=6, none_grad=None):
    """Runs `steps` optimizer steps on two parameters with fixed gradients; none_grad = (step, param) whose grad is None."""
    g = torch.Generator().manual_seed(1234)
    shapes = [(3, 4), (5,)]
    params = [torch.randn(s, generator=g).requires_grad_() for s in shapes]
    initial = [flat(p) for p in params]
    opt = ctor(params, **kwargs)
    grads, after = [], []
    for step in range(steps):
        step_grads = []
        for i, p in enumerate(params):
            if none_grad == (step, i):
                p.grad = None
                step_grads.append(None)
            else:
                p.grad = torch.randn(p.shape, generator=g)
                step_grads.append(flat(p.grad))
        opt.step()
        grads.append(step_grads)
        after.append([flat(p) for p in params])
    state = {}
    for i, p in enumerate(params):
        for key, value in opt.state[p].items():
            if value is None:  # SGD without momentum keeps momentum_buffer = None
                continue
            state[f"state.{i}.{key}"] = flat(value) if torch.is_tensor(value) else [float(value)]
    return {"name": name, "call": call, "kwargs": kwargs, "shapes": [list(s) for s in shapes], "initial": initial,
            "grads": grads, "params_after": after, "state": state}


def optim_fixtures():
    adam = torch.optim.Adam
    sgd = torch.optim.SGD
    cases = [
        optim_case("adam_default", adam, "torch.optim.Adam(params)", {}),
        optim_case("adam_lr_betas_eps", adam, "torch.optim.Adam(params, lr=0.01, betas=(0.8, 0.99), eps=1e-6)",
                   {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6}),
        optim_case("adam_weight_decay_amsgrad", adam, "torch.optim.Adam(params, lr=0.005, weight_decay=0.1, amsgrad=True)",
                   {"lr": 0.005, "weight_decay": 0.1, "amsgrad": True}),
        optim_case("adam_skips_none_grad", adam, "torch.optim.Adam(params, lr=0.01); param 1 has grad None at step 2",
                   {"lr": 0.01}, none_grad=(2, 1)),
        optim_case("sgd_plain", sgd, "torch.optim.SGD(params, lr=0.1)", {"lr": 0.1}),
        optim_case("sgd_momentum_dampening_weight_decay", sgd,
                   "torch.optim.SGD(params, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)",
                   {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
        optim_case("sgd_nesterov", sgd, "torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001)",
                   {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.001}),
    ]
    for case in cases:
        path = os.path.join(OUT, f"optim_{case['name']}.json")
        with open(path, "w") as f:
            json.dump({"generator": "tests/reference/generate_training_fixtures.py", "torch": torch.__version__, **case}, f)
            f.write("\n")


def convnet_state_dict():
    """The seed's ConvNet, verbatim, and its state_dict keys, shapes and dtypes in order."""
    import torch.nn as nn

    class ConvNet(nn.Module):
        def __init__(self, num_classes=10):
            super(ConvNet, self).__init__()
            self.layer1 = nn.Sequential(
                nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2),
                nn.BatchNorm2d(16),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2))
            self.layer2 = nn.Sequential(
                nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
                nn.BatchNorm2d(32),
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=2, stride=2))
            self.fc = nn.Linear(7*7*32, num_classes)

    model = ConvNet(10)
    entries = [{"key": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")} for k, v in model.state_dict().items()]
    parameters = [k for k, _ in model.named_parameters()]
    with open(os.path.join(OUT, "convnet_state_dict.json"), "w") as f:
        json.dump({"generator": "tests/reference/generate_training_fixtures.py", "torch": torch.__version__,
                   "call": "ConvNet(num_classes=10).state_dict() (the seed's class)", "state_dict": entries,
                   "parameters": parameters, "repr": str(model)}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    torch.set_num_threads(1)  # a fixed reduction order
    os.makedirs(OUT, exist_ok=True)
    optim_fixtures()
    convnet_state_dict()
