#!/usr/bin/python3
"""Writes the optimizer and loss fixtures under tests/CnnSharp.Tests/Fixtures/pytorch/.

Offline, with Debian's python3-torch (PyTorch 1.13); never run in CI. Usage:
    /usr/bin/python3 tests/reference/generate_optim_loss_fixtures.py
Each fixture records the PyTorch call that produced it ("call"). Values are float32, written as the shortest
decimal that round-trips (so C# parses them to the same float).
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "CnnSharp.Tests", "Fixtures", "pytorch")


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
            json.dump({"generator": "tests/reference/generate_optim_loss_fixtures.py", "torch": torch.__version__, **case}, f)
            f.write("\n")


def loss_case(name, call, fn, inputs, targets_are_indices):
    """fn(inputs..., reduction) for each reduction; records outputs and input gradients for a fixed upstream gradient."""
    g = torch.Generator().manual_seed(99)
    result = {"name": name, "call": call, "inputs": [{"shape": list(t.shape), "values": flat(t)} for t in inputs[0]],
              "targets": inputs[1] if targets_are_indices else None, "reductions": {}}
    for reduction in ("none", "mean", "sum"):
        xs = [t.clone().requires_grad_() for t in inputs[0]]
        tgt = torch.tensor(inputs[1]) if targets_are_indices else None
        out = fn(*xs, tgt, reduction) if targets_are_indices else fn(*xs, reduction)
        upstream = torch.rand(out.shape, generator=g) + 0.5
        out.backward(upstream)
        result["reductions"][reduction] = {"output": flat(out), "output_shape": list(out.shape), "upstream": flat(upstream),
                                           "grads": [flat(x.grad) for x in xs]}
    with open(os.path.join(OUT, f"loss_{name}.json"), "w") as f:
        json.dump({"generator": "tests/reference/generate_optim_loss_fixtures.py", "torch": torch.__version__, **result}, f)
        f.write("\n")


def loss_fixtures():
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(6, 5, generator=g) * 3
    logits[2] = torch.tensor([1000.0, -1000.0, 999.0, 0.0, 998.5])  # overflow test for the stable log-sum-exp
    targets = [0, 4, 2, 1, 3, 4]
    loss_case("cross_entropy", "F.cross_entropy(logits, targets, reduction=r)",
              lambda x, t, r: torch.nn.functional.cross_entropy(x, t, reduction=r), ([logits], targets), True)
    log_probs = torch.log_softmax(torch.randn(6, 5, generator=g), dim=1)
    loss_case("nll", "F.nll_loss(log_probs, targets, reduction=r)",
              lambda x, t, r: torch.nn.functional.nll_loss(x, t, reduction=r), ([log_probs], targets), True)
    a = torch.randn(3, 4, generator=g)
    b = torch.randn(3, 4, generator=g)
    loss_case("mse", "F.mse_loss(input, target, reduction=r) with gradients for both",
              lambda x, y, r: torch.nn.functional.mse_loss(x, y, reduction=r), ([a, b], None), False)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    optim_fixtures()
    loss_fixtures()
