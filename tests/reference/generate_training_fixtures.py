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
    adamw = torch.optim.AdamW
    rmsprop = torch.optim.RMSprop
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
        optim_case("adamw_default", adamw, "torch.optim.AdamW(params)", {}),
        optim_case("adamw_lr_weight_decay_amsgrad", adamw,
                   "torch.optim.AdamW(params, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True)",
                   {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True}),
        optim_case("adamw_skips_none_grad", adamw, "torch.optim.AdamW(params, lr=0.01); param 0 has grad None at step 1",
                   {"lr": 0.01}, none_grad=(1, 0)),
        optim_case("rmsprop_default", rmsprop, "torch.optim.RMSprop(params)", {}),
        optim_case("rmsprop_alpha_eps_weight_decay", rmsprop,
                   "torch.optim.RMSprop(params, lr=0.005, alpha=0.9, eps=1e-4, weight_decay=0.05)",
                   {"lr": 0.005, "alpha": 0.9, "eps": 1e-4, "weight_decay": 0.05}),
        optim_case("rmsprop_momentum_centered", rmsprop,
                   "torch.optim.RMSprop(params, lr=0.01, momentum=0.8, centered=True)",
                   {"lr": 0.01, "momentum": 0.8, "centered": True}),
        optim_case("rmsprop_momentum", rmsprop, "torch.optim.RMSprop(params, lr=0.002, momentum=0.5, weight_decay=0.01)",
                   {"lr": 0.002, "momentum": 0.5, "weight_decay": 0.01}),
    ]
    for case in cases:
        path = os.path.join(OUT, f"optim_{case['name']}.json")
        with open(path, "w") as f:
            json.dump({"generator": "tests/reference/generate_training_fixtures.py", "torch": torch.__version__, **case}, f)
            f.write("\n")


def scheduler_fixtures():
    """Learning rates of torch.optim.lr_scheduler runs on a one-parameter SGD (lr as Python floats, float64)."""
    import warnings
    from torch.optim import lr_scheduler as S
    warnings.simplefilter("ignore")  # step(epoch) is deprecated in 1.13 but still PyTorch's closed form

    def run(name, call, make, steps=None, epochs=None, metrics=None, lr=0.1):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        sched = make(opt)
        lrs = [opt.param_groups[0]["lr"]]
        if metrics is not None:
            for m in metrics:
                opt.step()
                sched.step(m)
                lrs.append(opt.param_groups[0]["lr"])
        elif epochs is not None:
            for e in epochs:
                opt.step()
                sched.step(e)
                lrs.append(opt.param_groups[0]["lr"])
        else:
            for _ in range(steps):
                opt.step()
                sched.step()
                lrs.append(opt.param_groups[0]["lr"])
        return {"name": name, "call": call, "initial_lr": lr, "epochs": epochs, "metrics": metrics,
                "steps": len(lrs) - 1, "lrs": lrs}

    cases = [
        run("step_lr", "StepLR(opt, step_size=3, gamma=0.5)", lambda o: S.StepLR(o, step_size=3, gamma=0.5), steps=10),
        run("step_lr_closed_form", "StepLR(opt, step_size=3, gamma=0.5); step(epoch)",
            lambda o: S.StepLR(o, step_size=3, gamma=0.5), epochs=[4, 9, 2, 6, 6, 12]),
        run("multi_step_lr", "MultiStepLR(opt, milestones=[2, 5, 5, 8], gamma=0.1)",
            lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 8], gamma=0.1), steps=10),
        run("multi_step_lr_closed_form", "MultiStepLR(opt, milestones=[2, 5, 5, 8], gamma=0.1); step(epoch)",
            lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 8], gamma=0.1), epochs=[1, 5, 9, 3]),
        run("cosine_annealing_lr", "CosineAnnealingLR(opt, T_max=6, eta_min=0.001)",
            lambda o: S.CosineAnnealingLR(o, T_max=6, eta_min=0.001), steps=15),
        run("cosine_annealing_lr_closed_form", "CosineAnnealingLR(opt, T_max=6, eta_min=0.001); step(epoch)",
            lambda o: S.CosineAnnealingLR(o, T_max=6, eta_min=0.001), epochs=[2, 5, 9, 1]),
        run("linear_lr", "LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=4)",
            lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4), steps=7),
        run("linear_lr_decay", "LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=5)",
            lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=5), steps=7),
        run("linear_lr_closed_form", "LinearLR(opt, start_factor=0.25, total_iters=4); step(epoch)",
            lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4), epochs=[2, 6, 1]),
        run("one_cycle_lr", "OneCycleLR(opt, max_lr=0.5, total_steps=12, cycle_momentum=False)",
            lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=12, cycle_momentum=False), steps=11),
        run("one_cycle_lr_pct", "OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.25, div_factor=10.0, "
            "final_div_factor=100.0, cycle_momentum=False)",
            lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.25, div_factor=10.0,
                                   final_div_factor=100.0, cycle_momentum=False), steps=9),
        run("sequential_linear_cosine", "SequentialLR(opt, [LinearLR(opt, start_factor=0.1, total_iters=3), "
            "CosineAnnealingLR(opt, T_max=7)], milestones=[3])",
            lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=3), S.CosineAnnealingLR(o, T_max=7)],
                                     milestones=[3]), steps=12),
        run("sequential_linear_step", "SequentialLR(opt, [LinearLR(opt, start_factor=0.5, total_iters=2), "
            "StepLR(opt, step_size=2, gamma=0.5)], milestones=[4])",
            lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=2), S.StepLR(o, step_size=2, gamma=0.5)],
                                     milestones=[4]), steps=10),
        run("plateau_min", "ReduceLROnPlateau(opt, mode='min', factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.01)",
            lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.01),
            metrics=[1.0, 0.9, 0.895, 0.894, 0.893, 0.89, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.78, 0.79,
                     0.8, 0.81, 0.82, 0.83]),
        run("plateau_max", "ReduceLROnPlateau(opt, mode='max', factor=0.1, patience=1)",
            lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.1, patience=1),
            metrics=[0.5, 0.6, 0.6, 0.6, 0.7, 0.69, 0.68, 0.67, 0.9, 0.9, 0.9, 0.9]),
    ]
    for case in cases:
        with open(os.path.join(OUT, f"sched_{case['name']}.json"), "w") as f:
            json.dump({"generator": "tests/reference/generate_training_fixtures.py", "torch": torch.__version__, **case}, f)
            f.write("\n")


def clip_fixtures():
    """torch.nn.utils.clip_grad_norm_ / clip_grad_value_ on three float32 gradients."""
    cases = [
        ("clip_grad_norm_l2", "clip_grad_norm_(params, max_norm=1.0, norm_type=2.0)",
         lambda ps: torch.nn.utils.clip_grad_norm_(ps, max_norm=1.0, norm_type=2.0), {"max_norm": 1.0, "norm_type": 2.0}),
        ("clip_grad_norm_l2_unclipped", "clip_grad_norm_(params, max_norm=100.0)",
         lambda ps: torch.nn.utils.clip_grad_norm_(ps, max_norm=100.0), {"max_norm": 100.0, "norm_type": 2.0}),
        ("clip_grad_norm_inf", "clip_grad_norm_(params, max_norm=0.5, norm_type=inf)",
         lambda ps: torch.nn.utils.clip_grad_norm_(ps, max_norm=0.5, norm_type=float("inf")),
         {"max_norm": 0.5, "norm_type": "inf"}),
        ("clip_grad_value", "clip_grad_value_(params, clip_value=0.3)",
         lambda ps: torch.nn.utils.clip_grad_value_(ps, clip_value=0.3), {"clip_value": 0.3}),
    ]
    for name, call, fn, kwargs in cases:
        g = torch.Generator().manual_seed(99)
        shapes = [(3, 4), (5,), (2, 2, 2)]
        params = [torch.zeros(s, requires_grad=True) for s in shapes]
        for p in params:
            p.grad = torch.randn(p.shape, generator=g) * 0.7
        before = [flat(p.grad) for p in params]
        total = fn(params)
        doc = {"generator": "tests/reference/generate_training_fixtures.py", "torch": torch.__version__, "name": name,
               "call": call, "kwargs": kwargs, "shapes": [list(s) for s in shapes], "grads": before,
               "total_norm": None if total is None else float(total), "grads_after": [flat(p.grad) for p in params]}
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(doc, f)
            f.write("\n")


def module_state_dicts():
    """State-dict keys, shapes and reprs of the layers added for issue 10."""
    import torch.nn as nn
    modules = {
        "conv_transpose2d": ("nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2)",
                             nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2)),
        "conv_transpose2d_nobias": ("nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1, bias=False, dilation=2)",
                                    nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1, bias=False, dilation=2)),
        "dropout2d": ("nn.Dropout2d(0.3)", nn.Dropout2d(0.3)),
        "upsample_nearest": ("nn.Upsample(scale_factor=2, mode='nearest')", nn.Upsample(scale_factor=2, mode="nearest")),
        "upsample_bilinear": ("nn.Upsample(size=(5, 7), mode='bilinear', align_corners=True)",
                              nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True)),
        "group_norm": ("nn.GroupNorm(2, 6)", nn.GroupNorm(2, 6)),
        "group_norm_noaffine": ("nn.GroupNorm(3, 6, eps=0.001, affine=False)", nn.GroupNorm(3, 6, eps=0.001, affine=False)),
        "layer_norm": ("nn.LayerNorm((4, 5))", nn.LayerNorm((4, 5))),
        "layer_norm_noaffine": ("nn.LayerNorm(6, eps=1e-06, elementwise_affine=False)",
                                nn.LayerNorm(6, eps=1e-06, elementwise_affine=False)),
    }
    out = {}
    for key, (call, m) in modules.items():
        out[key] = {"call": call, "repr": repr(m),
                    "state_dict": [{"key": k, "shape": list(v.shape)} for k, v in m.state_dict().items()],
                    "values": {k: flat(v) for k, v in m.state_dict().items()}}
    with open(os.path.join(OUT, "modules_state_dict.json"), "w") as f:
        json.dump({"generator": "tests/reference/generate_training_fixtures.py", "torch": torch.__version__,
                   "modules": out}, f, indent=1)
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
    scheduler_fixtures()
    clip_fixtures()
    module_state_dicts()
    convnet_state_dict()
