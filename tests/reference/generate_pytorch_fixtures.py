#!/usr/bin/python3
"""Writes tests/CnnSharp.Tests/Fixtures/pytorch/<name>.json: PyTorch reference values for CnnSharp's ops.

Run offline with Debian's PyTorch 1.13 (see README.md):  /usr/bin/python3 tests/reference/generate_pytorch_fixtures.py
Never run in CI. The JSON schema is documented in README.md.

Every fixture records "call", a Python expression over torch, F (= torch.nn.functional) and the named inputs. The
generator evaluates exactly that string, so the recorded call is the one that produced the numbers. Inputs are drawn as
float32 values (stored exactly), widened to float64, and the op runs in float64: outputs and gradients are float64
references for CnnSharp's float32 results.
"""
import json
import math
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

BASE_SEED = 20240917
OUT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "..", "CnnSharp.Tests", "Fixtures", "pytorch"))
FIXTURES = []

# The seed's worked examples (tests/../seed: convolution 4x4/3x3 stride 2 padding 1; pooling input).
SEED_CONV_INPUT = [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]
SEED_CONV_KERNEL = [[1, 1, 1], [0, 0, 0], [1, 1, 1]]
SEED_POOL_INPUT = [[1.0, 2.0, 3.0, 0.0], [4.0, 5.0, 6.0, 1.0], [3.0, 4.0, 7.0, 2.0], [1.0, 2.0, 1.0, 0.0]]


# ---- input makers (r: numpy Generator private to one fixture) ---------------------------------------------------

def randn(r, *shape, scale=1.0):
    return (r.standard_normal(shape) * scale).astype(np.float32)


def away_from_zero(r, *shape, gap=0.1):
    """Normal values pushed at least `gap` from 0 (ReLU is not differentiable at 0)."""
    x = r.standard_normal(shape)
    return (np.sign(x) * (np.abs(x) + gap)).astype(np.float32)


def distinct(r, *shape):
    """Normal values, checked pairwise distinct (no max ties)."""
    x = randn(r, *shape)
    assert len(np.unique(x)) == x.size
    return x


def positive(r, *shape, low=0.5, high=2.0):
    return r.uniform(low, high, shape).astype(np.float32)


def labels(r, n, classes):
    return r.integers(0, classes, n).astype(np.int64)


def const(values):
    return np.array(values, dtype=np.float32)


def pair(v):
    return [v, v] if isinstance(v, int) else list(v)


def tup(v):
    return "(%d, %d)" % tuple(pair(v))


def add(name, call, make, params, grad=("input",), outputs=("output",), state=(), note=None):
    FIXTURES.append(dict(name=name, call=call, make=make, params=params, grad=list(grad), outputs=list(outputs),
                         state=list(state), note=note))


# ---- fixture list -----------------------------------------------------------------------------------------------

def conv2d(name, n, c, h, w, o, k, stride=1, padding=0, dilation=1, groups=1, bias=True, make=None, note=None):
    kh, kw = pair(k)
    call = ("F.conv2d(input, weight, %s, stride=%s, padding=%s, dilation=%s, groups=%d)"
            % ("bias" if bias else "None", tup(stride), tup(padding), tup(dilation), groups))
    if make is None:
        def make(r):
            d = {"input": randn(r, n, c, h, w), "weight": randn(r, o, c // groups, kh, kw, scale=0.5)}
            if bias:
                d["bias"] = randn(r, o)
            return d
    params = {"stride": pair(stride), "padding": pair(padding), "dilation": pair(dilation), "groups": groups,
              "bias": bias, "kernel_size": [kh, kw], "in_channels": c, "out_channels": o}
    add(name, call, make, params, grad=["input", "weight"] + (["bias"] if bias else []), note=note)


conv2d("conv2d_seed_4x4_k3_s2_p1", 1, 1, 4, 4, 1, 3, stride=2, padding=1, bias=False,
       make=lambda r: {"input": const([[SEED_CONV_INPUT]]), "weight": const([[SEED_CONV_KERNEL]])},
       note="The seed's worked example. PyTorch's output is authoritative; the seed's hand arithmetic differs.")
conv2d("conv2d_n2_c3_o4_k3_s1_p1_7x6", 2, 3, 7, 6, 4, 3, stride=1, padding=1)
conv2d("conv2d_n1_c2_o3_k3x2_s2x1_p1x0_9x8", 1, 2, 9, 8, 3, (3, 2), stride=(2, 1), padding=(1, 0))
conv2d("conv2d_n2_c2_o3_k3_d2_p2_8x7", 2, 2, 8, 7, 3, 3, padding=2, dilation=2)
conv2d("conv2d_n2_c4_o6_k3_s2_p1_g2_7x7", 2, 4, 7, 7, 6, 3, stride=2, padding=1, groups=2)
conv2d("conv2d_n1_c3_o6_k3_d2x1_p1_g3_depthwise_6x9", 1, 3, 6, 9, 6, 3, padding=1, dilation=(2, 1), groups=3)
conv2d("conv2d_n1_c2_o2_k4_s3_p2_nobias_10x11", 1, 2, 10, 11, 2, 4, stride=3, padding=2, bias=False)
conv2d("conv2d_n2_c1_o4_k5_s1_p2_seed_layer1_10x10", 2, 1, 10, 10, 4, 5, stride=1, padding=2,
       note="The seed's layer1 geometry (kernel 5, stride 1, padding 2) on a small input.")
conv2d("conv2d_n1_c1_o1_k1_1x1", 1, 1, 1, 1, 1, 1)


def max_pool2d(name, shape, k, stride=None, padding=0, dilation=1, ceil_mode=False, make=None, note=None):
    stride = k if stride is None else stride
    call = ("F.max_pool2d(input, kernel_size=%s, stride=%s, padding=%s, dilation=%s, ceil_mode=%s, return_indices=True)"
            % (tup(k), tup(stride), tup(padding), tup(dilation), ceil_mode))
    params = {"kernel_size": pair(k), "stride": pair(stride), "padding": pair(padding), "dilation": pair(dilation),
              "ceil_mode": ceil_mode}
    add(name, call, make or (lambda r: {"input": distinct(r, *shape)}), params, outputs=("output", "indices"), note=note)


max_pool2d("max_pool2d_seed_k2_s2", None, 2, make=lambda r: {"input": const([[SEED_POOL_INPUT]])},
           note="The seed's pooling example (nn.MaxPool2d(kernel_size=2, stride=2, padding=0)).")
max_pool2d("max_pool2d_n2_c2_k3_s2_p1_7x7", (2, 2, 7, 7), 3, stride=2, padding=1)
max_pool2d("max_pool2d_n1_c2_k3_s2_p1_ceil_8x8", (1, 2, 8, 8), 3, stride=2, padding=1, ceil_mode=True)
max_pool2d("max_pool2d_n1_c1_k2_s2_ceil_7x7", (1, 1, 7, 7), 2, ceil_mode=True,
           note="ceil_mode adds a last window that starts inside the input and hangs over its edge.")
max_pool2d("max_pool2d_n1_c2_k3_s1_p1_d2_6x7", (1, 2, 6, 7), 3, stride=1, padding=1, dilation=2,
           note="PyTorch requires padding <= kernel_size // 2 (the undilated kernel), even with dilation.")
max_pool2d("max_pool2d_n2_c1_k3x2_s2x1_p1x0_7x6", (2, 1, 7, 6), (3, 2), stride=(2, 1), padding=(1, 0))
max_pool2d("max_pool2d_ties_k2_s1", None, 2, stride=1,
           make=lambda r: {"input": const([[[[1, 1, 0, 2], [1, 1, 2, 2], [3, 0, 3, 0], [0, 3, 0, 3]]]])},
           note="Ties: PyTorch keeps the first maximum in row-major window order; the gradient goes to that index only.")


def avg_pool2d(name, shape, k, stride=None, padding=0, ceil_mode=False, count_include_pad=True, make=None, note=None):
    stride = k if stride is None else stride
    call = ("F.avg_pool2d(input, kernel_size=%s, stride=%s, padding=%s, ceil_mode=%s, count_include_pad=%s)"
            % (tup(k), tup(stride), tup(padding), ceil_mode, count_include_pad))
    params = {"kernel_size": pair(k), "stride": pair(stride), "padding": pair(padding), "ceil_mode": ceil_mode,
              "count_include_pad": count_include_pad}
    add(name, call, make or (lambda r: {"input": randn(r, *shape)}), params, note=note)


avg_pool2d("avg_pool2d_seed_k2_s2", None, 2, make=lambda r: {"input": const([[SEED_POOL_INPUT]])},
           note="The seed's pooling example (nn.AvgPool2d(kernel_size=2, stride=2, padding=0)).")
avg_pool2d("avg_pool2d_n2_c2_k3_s2_p1_include_pad_7x7", (2, 2, 7, 7), 3, stride=2, padding=1, count_include_pad=True)
avg_pool2d("avg_pool2d_n2_c2_k3_s2_p1_exclude_pad_7x7", (2, 2, 7, 7), 3, stride=2, padding=1, count_include_pad=False)
avg_pool2d("avg_pool2d_n1_c2_k3_s2_p1_ceil_include_pad_8x8", (1, 2, 8, 8), 3, stride=2, padding=1, ceil_mode=True,
           count_include_pad=True,
           note="With ceil_mode the divisor counts padding but not the part of the last window beyond the padding.")
avg_pool2d("avg_pool2d_n1_c2_k3_s2_p1_ceil_exclude_pad_8x8", (1, 2, 8, 8), 3, stride=2, padding=1, ceil_mode=True,
           count_include_pad=False)
avg_pool2d("avg_pool2d_n1_c1_k2_s2_ceil_7x7", (1, 1, 7, 7), 2, ceil_mode=True)
avg_pool2d("avg_pool2d_n2_c1_k3x2_s2x1_p1x0_7x6", (2, 1, 7, 6), (3, 2), stride=(2, 1), padding=(1, 0))


def lp_pool2d(name, shape, k, stride=None, ceil_mode=False, make=None, note=None):
    stride = k if stride is None else stride
    call = "F.lp_pool2d(input, norm_type=2.0, kernel_size=%s, stride=%s, ceil_mode=%s)" % (tup(k), tup(stride), ceil_mode)
    params = {"norm_type": 2.0, "kernel_size": pair(k), "stride": pair(stride), "ceil_mode": ceil_mode}
    add(name, call, make or (lambda r: {"input": away_from_zero(r, *shape)}), params, note=note)


lp_pool2d("lp_pool2d_seed_norm2_k2_s2", None, 2, make=lambda r: {"input": const([[SEED_POOL_INPUT]])},
          note="The seed's L2-norm pooling on its pooling input.")
lp_pool2d("lp_pool2d_n2_c2_norm2_k3_s2_7x9", (2, 2, 7, 9), 3, stride=2)
lp_pool2d("lp_pool2d_n1_c1_norm2_k2x3_s1x2_5x7", (1, 1, 5, 7), (2, 3), stride=(1, 2))
lp_pool2d("lp_pool2d_n1_c1_norm2_k2_s2_ceil_5x5", (1, 1, 5, 5), 2, ceil_mode=True,
          note="PyTorch 1.13 computes avg_pool2d(x^2) * (kH*kW), then sqrt. avg_pool2d divides a window clipped at "
               "the input edge by its clipped size, so ceil_mode edge windows are scaled up, not plain sums.")


def adaptive(name, kind, shape, output_size, make=None, note=None):
    if kind == "avg":
        call = "F.adaptive_avg_pool2d(input, output_size=%s)" % tup(output_size)
        outputs = ("output",)
    else:
        call = "F.adaptive_max_pool2d(input, output_size=%s, return_indices=True)" % tup(output_size)
        outputs = ("output", "indices")
    add(name, call, make or (lambda r: {"input": distinct(r, *shape)}), {"output_size": pair(output_size)},
        outputs=outputs, note=note)


adaptive("adaptive_avg_pool2d_seed_global", "avg", None, 1, make=lambda r: {"input": const([[SEED_POOL_INPUT]])},
         note="The seed's global average pooling (nn.AdaptiveAvgPool2d(1)).")
adaptive("adaptive_avg_pool2d_n2_c3_7x6_to_1", "avg", (2, 3, 7, 6), 1)
adaptive("adaptive_avg_pool2d_n1_c2_5x7_to_3x4", "avg", (1, 2, 5, 7), (3, 4),
         note="Non-divisible: window i spans [floor(i*H/oH), ceil((i+1)*H/oH)), so windows overlap.")
adaptive("adaptive_avg_pool2d_n1_c1_3x3_to_5x5", "avg", (1, 1, 3, 3), 5, note="Output larger than input.")
adaptive("adaptive_max_pool2d_seed_global", "max", None, 1, make=lambda r: {"input": const([[SEED_POOL_INPUT]])})
adaptive("adaptive_max_pool2d_n2_c3_7x6_to_1", "max", (2, 3, 7, 6), 1)
adaptive("adaptive_max_pool2d_n1_c2_5x7_to_3x4", "max", (1, 2, 5, 7), (3, 4))


def batch_norm(name, shape, training, momentum=0.1, eps=1e-5, note=None):
    c = shape[1]
    call = ("F.batch_norm(input, running_mean, running_var, weight, bias, training=%s, momentum=%r, eps=%r)"
            % (training, momentum, eps))

    def make(r):
        return {"input": randn(r, *shape, scale=2.0) + np.float32(0.5), "running_mean": randn(r, c, scale=0.5),
                "running_var": positive(r, c), "weight": randn(r, c), "bias": randn(r, c)}
    add(name, call, make, {"training": training, "momentum": momentum, "eps": eps},
        grad=("input", "weight", "bias"), state=("running_mean", "running_var") if training else (), note=note)


batch_norm("batch_norm_train_n4_c3_5x6", (4, 3, 5, 6), True,
           note="Normalises with the biased batch variance; running_var is updated with the unbiased one (n/(n-1)).")
batch_norm("batch_norm_train_momentum0.3_eps1e-3_n2_c2_3x4", (2, 2, 3, 4), True, momentum=0.3, eps=1e-3)
batch_norm("batch_norm_train_n1_c2_1x3_small_count", (1, 2, 1, 3), True,
           note="Three values per channel: the unbiased factor n/(n-1) = 3/2 is large.")
batch_norm("batch_norm_eval_n2_c3_4x4", (2, 3, 4, 4), False,
           note="Eval mode normalises with the stored running statistics and leaves them unchanged.")

add("relu_n2_c3_4x5", "F.relu(input)", lambda r: {"input": away_from_zero(r, 2, 3, 4, 5)}, {})

LARGE_LOGITS = [[1000.0, 999.5, -1000.0, 0.0, 998.0], [-500.0, -501.0, -499.0, 250.0, 250.5],
                [88.0, 89.0, 90.0, -88.0, 0.0]]
add("softmax_dim1_n3_c5", "F.softmax(input, dim=1)", lambda r: {"input": randn(r, 3, 5)}, {"dim": 1})
add("softmax_dim1_large_n3_c5", "F.softmax(input, dim=1)", lambda r: {"input": const(LARGE_LOGITS)}, {"dim": 1},
    note="Magnitudes where exp overflows without subtracting the row maximum.")
add("softmax_dim1_n2_c4_3x2", "F.softmax(input, dim=1)", lambda r: {"input": randn(r, 2, 4, 3, 2)}, {"dim": 1},
    note="Softmax over channels of a 4-D tensor.")
add("log_softmax_dim1_n3_c5", "F.log_softmax(input, dim=1)", lambda r: {"input": randn(r, 3, 5)}, {"dim": 1})
add("log_softmax_dim1_large_n3_c5", "F.log_softmax(input, dim=1)", lambda r: {"input": const(LARGE_LOGITS)},
    {"dim": 1})

add("linear_n4_in7_out5_bias", "F.linear(input, weight, bias)",
    lambda r: {"input": randn(r, 4, 7), "weight": randn(r, 5, 7, scale=0.4), "bias": randn(r, 5)}, {"bias": True},
    grad=("input", "weight", "bias"))
add("linear_n3_in4_out2_nobias", "F.linear(input, weight)",
    lambda r: {"input": randn(r, 3, 4), "weight": randn(r, 2, 4)}, {"bias": False}, grad=("input", "weight"))

add("cross_entropy_mean_n6_c5", "F.cross_entropy(input, target, reduction='mean')",
    lambda r: {"input": randn(r, 6, 5, scale=2.0), "target": labels(r, 6, 5)}, {"reduction": "mean"})
add("cross_entropy_sum_n4_c3", "F.cross_entropy(input, target, reduction='sum')",
    lambda r: {"input": randn(r, 4, 3, scale=2.0), "target": labels(r, 4, 3)}, {"reduction": "sum"})
add("cross_entropy_mean_large_n3_c5", "F.cross_entropy(input, target, reduction='mean')",
    lambda r: {"input": const(LARGE_LOGITS), "target": np.array([2, 0, 4], dtype=np.int64)}, {"reduction": "mean"},
    note="Large logits: the first row's target logit is 2000 below the row maximum, so its probability underflows "
         "even in float64 and the loss must come from log-softmax (about 2000.47), not log(softmax).")
add("cross_entropy_smooth0.1_mean_n6_c5", "F.cross_entropy(input, target, reduction='mean', label_smoothing=0.1)",
    lambda r: {"input": randn(r, 6, 5, scale=2.0), "target": labels(r, 6, 5)}, {"reduction": "mean", "label_smoothing": 0.1})
add("cross_entropy_smooth0.3_sum_n4_c3", "F.cross_entropy(input, target, reduction='sum', label_smoothing=0.3)",
    lambda r: {"input": randn(r, 4, 3, scale=2.0), "target": labels(r, 4, 3)}, {"reduction": "sum", "label_smoothing": 0.3})
add("cross_entropy_smooth0.2_none_n5_c10", "F.cross_entropy(input, target, reduction='none', label_smoothing=0.2)",
    lambda r: {"input": randn(r, 5, 10, scale=2.0), "target": labels(r, 5, 10)}, {"reduction": "none", "label_smoothing": 0.2})
add("nll_loss_mean_n6_c5", "F.nll_loss(input, target, reduction='mean')",
    lambda r: {"input": F.log_softmax(torch.from_numpy(randn(r, 6, 5)), dim=1).numpy().astype(np.float32),
               "target": labels(r, 6, 5)}, {"reduction": "mean"},
    note="input holds log-probabilities (log_softmax of random values, rounded to float32).")
add("mse_loss_mean_n4_c3", "F.mse_loss(input, target, reduction='mean')",
    lambda r: {"input": randn(r, 4, 3), "target": randn(r, 4, 3)}, {"reduction": "mean"}, grad=("input", "target"))
add("mse_loss_sum_n2_c5", "F.mse_loss(input, target, reduction='sum')",
    lambda r: {"input": randn(r, 2, 5), "target": randn(r, 2, 5)}, {"reduction": "sum"}, grad=("input", "target"))

add("flatten_seed_n1_c1_4x4", "torch.flatten(input, start_dim=1, end_dim=-1)",
    lambda r: {"input": const([[SEED_POOL_INPUT]])}, {"start_dim": 1, "end_dim": -1},
    note="The seed's flattening example (nn.Flatten()).")
add("flatten_n2_c3_4x5", "torch.flatten(input, start_dim=1, end_dim=-1)", lambda r: {"input": randn(r, 2, 3, 4, 5)},
    {"start_dim": 1, "end_dim": -1})



def conv_transpose2d(name, n, c, h, w, o, k, stride=1, padding=0, output_padding=0, dilation=1, groups=1, bias=True,
                     note=None):
    kh, kw = pair(k)
    call = ("F.conv_transpose2d(input, weight, %s, stride=%s, padding=%s, output_padding=%s, groups=%d, dilation=%s)"
            % ("bias" if bias else "None", tup(stride), tup(padding), tup(output_padding), groups, tup(dilation)))

    def make(r):
        d = {"input": randn(r, n, c, h, w), "weight": randn(r, c, o // groups, kh, kw, scale=0.5)}
        if bias:
            d["bias"] = randn(r, o)
        return d
    params = {"stride": pair(stride), "padding": pair(padding), "output_padding": pair(output_padding),
              "dilation": pair(dilation), "groups": groups, "bias": bias, "kernel_size": [kh, kw],
              "in_channels": c, "out_channels": o}
    add(name, call, make, params, grad=["input", "weight"] + (["bias"] if bias else []), note=note)


conv_transpose2d("conv_transpose2d_n2_c3_o4_k3_s1_p0_4x5", 2, 3, 4, 5, 4, 3)
conv_transpose2d("conv_transpose2d_n2_c4_o2_k4_s2_p1_5x4", 2, 4, 5, 4, 2, 4, stride=2, padding=1,
                 note="The usual 2x upsampling layer (kernel 4, stride 2, padding 1).")
conv_transpose2d("conv_transpose2d_n1_c2_o3_k3_s2_p1_op1_4x4", 1, 2, 4, 4, 3, 3, stride=2, padding=1, output_padding=1,
                 note="output_padding adds rows/columns at the bottom/right only.")
conv_transpose2d("conv_transpose2d_n2_c4_o6_k3x2_s2x1_p1x0_g2_nobias_3x4", 2, 4, 3, 4, 6, (3, 2), stride=(2, 1),
                 padding=(1, 0), groups=2, bias=False)
conv_transpose2d("conv_transpose2d_n1_c2_o2_k3_s1_p2_d2_op1_5x5", 1, 2, 5, 5, 2, 3, padding=2, dilation=2,
                 output_padding=1, note="output_padding 1 >= stride 1 is allowed because it is below the dilation.")


def interpolate(name, shape, mode, size=None, scale_factor=None, align_corners=None, note=None):
    call = "F.interpolate(input, size=%s, scale_factor=%s, mode=%r%s)" % (
        None if size is None else tup(size), None if scale_factor is None else repr(scale_factor), mode,
        "" if align_corners is None else ", align_corners=%s" % align_corners)
    params = {"mode": mode, "size": None if size is None else pair(size),
              "scale_factor": None if scale_factor is None else [float(v) for v in pair(scale_factor)]
              if not isinstance(scale_factor, float) else [scale_factor, scale_factor],
              "align_corners": bool(align_corners)}
    add(name, call, lambda r: {"input": randn(r, *shape)}, params, note=note)


interpolate("interpolate_nearest_scale2_n2_c2_3x4", (2, 2, 3, 4), "nearest", scale_factor=2)
interpolate("interpolate_nearest_size5x7_n1_c2_3x4", (1, 2, 3, 4), "nearest", size=(5, 7),
            note="Nearest source index floor(dst * in / out), so some rows repeat and others do not.")
interpolate("interpolate_nearest_size2x3_down_n1_c1_5x7", (1, 1, 5, 7), "nearest", size=(2, 3))
interpolate("interpolate_nearest_scale1.5_n1_c1_4x5", (1, 1, 4, 5), "nearest", scale_factor=1.5,
            note="With scale_factor the kernel uses 1/scale_factor, not in/out (out = floor(in * scale)).")
interpolate("interpolate_bilinear_scale2_n2_c2_3x4", (2, 2, 3, 4), "bilinear", scale_factor=2, align_corners=False)
interpolate("interpolate_bilinear_size5x7_n1_c2_3x4", (1, 2, 3, 4), "bilinear", size=(5, 7), align_corners=False)
interpolate("interpolate_bilinear_align_size5x7_n1_c2_3x4", (1, 2, 3, 4), "bilinear", size=(5, 7), align_corners=True)
interpolate("interpolate_bilinear_align_scale2_n1_c1_1x3", (1, 1, 1, 3), "bilinear", scale_factor=2,
            align_corners=True, note="A 1-pixel axis with align_corners: every output reads pixel 0.")
interpolate("interpolate_bilinear_down_size3x2_n1_c2_7x5", (1, 2, 7, 5), "bilinear", size=(3, 2),
            align_corners=False)
interpolate("interpolate_bilinear_scale1.5_n1_c1_4x5", (1, 1, 4, 5), "bilinear", scale_factor=1.5,
            align_corners=False)


def group_norm(name, shape, groups, affine=True, eps=1e-5, note=None):
    c = shape[1]
    call = "F.group_norm(input, %d, %s, eps=%r)" % (groups, "weight, bias" if affine else "None, None", eps)

    def make(r):
        d = {"input": randn(r, *shape, scale=2.0) + np.float32(0.5)}
        if affine:
            d["weight"] = randn(r, c)
            d["bias"] = randn(r, c)
        return d
    add(name, call, make, {"num_groups": groups, "eps": eps, "affine": affine},
        grad=("input", "weight", "bias") if affine else ("input",), note=note)


group_norm("group_norm_g2_n2_c6_4x3", (2, 6, 4, 3), 2)
group_norm("group_norm_g1_n3_c4_2x3", (3, 4, 2, 3), 1, note="One group: LayerNorm over (C, H, W) per sample.")
group_norm("group_norm_g4_n2_c4_3x3_instance", (2, 4, 3, 3), 4, eps=1e-3, note="groups == channels: instance norm.")
group_norm("group_norm_g2_n2_c4_5_noaffine", (2, 4, 5), 2, affine=False, note="A 3-D (N, C, L) input.")


def layer_norm(name, shape, normalized_shape, affine=True, eps=1e-5, note=None):
    call = "F.layer_norm(input, %s, %s, eps=%r)" % (
        "(" + ", ".join(str(v) for v in normalized_shape) + ("," if len(normalized_shape) == 1 else "") + ")",
        "weight, bias" if affine else "None, None", eps)

    def make(r):
        d = {"input": randn(r, *shape, scale=2.0) + np.float32(0.5)}
        if affine:
            d["weight"] = randn(r, *normalized_shape)
            d["bias"] = randn(r, *normalized_shape)
        return d
    add(name, call, make, {"normalized_shape": list(normalized_shape), "eps": eps, "elementwise_affine": affine},
        grad=("input", "weight", "bias") if affine else ("input",), note=note)


layer_norm("layer_norm_last_n4_d6", (4, 6), (6,))
layer_norm("layer_norm_last2_n2_c3_4x5", (2, 3, 4, 5), (4, 5))
layer_norm("layer_norm_chw_n2_c3_2x2_eps1e-3", (2, 3, 2, 2), (3, 2, 2), eps=1e-3)
layer_norm("layer_norm_noaffine_n3_c2_7", (3, 2, 7), (7,), affine=False)

# ---- evaluation and output ---------------------------------------------------------------------------------------

def tensor_json(t, dtype):
    t = t.detach()
    if dtype == "int64":
        data = [int(v) for v in t.reshape(-1).tolist()]
    else:
        data = [float(v) for v in t.reshape(-1).tolist()]
        if not all(math.isfinite(v) for v in data):
            sys.exit("non-finite value")
    return {"dtype": dtype, "shape": list(t.shape), "data": data}


def to_torch(a):
    if a.dtype == np.float32:
        return torch.tensor(a.astype(np.float64), dtype=torch.float64)  # exact widening, copied
    if a.dtype == np.int64:
        return torch.tensor(a, dtype=torch.int64)
    raise TypeError(a.dtype)


def build(spec):
    r = np.random.default_rng([BASE_SEED, zlib.crc32(spec["name"].encode())])
    arrays = spec["make"](r)
    tensors = {k: to_torch(v) for k, v in arrays.items()}
    inputs = {k: tensor_json(t, "float32" if arrays[k].dtype == np.float32 else "int64") for k, t in tensors.items()}
    for k in spec["grad"]:
        tensors[k].requires_grad_(True)
    result = eval(spec["call"], {"torch": torch, "F": F}, dict(tensors))  # the recorded call, verbatim
    results = result if isinstance(result, tuple) else (result,)
    assert len(results) == len(spec["outputs"]), spec["name"]
    outputs = {}
    for k, t in zip(spec["outputs"], results):
        outputs[k] = tensor_json(t, "int64" if t.dtype == torch.int64 else "float64")
    for k in spec["state"]:  # buffers updated in place by the call (batch_norm running statistics)
        outputs[k] = tensor_json(tensors[k], "float64")
    primary = results[0]
    upstream = to_torch(randn(r, *primary.shape))
    grads = torch.autograd.grad(primary, [tensors[k] for k in spec["grad"]], upstream)
    doc = {
        "name": spec["name"],
        "call": spec["call"],
        "note": spec["note"],
        "generator": "tests/reference/generate_pytorch_fixtures.py",
        "torch_version": torch.__version__,
        "seed": [BASE_SEED, zlib.crc32(spec["name"].encode())],
        "params": spec["params"],
        "inputs": inputs,
        "outputs": outputs,
        "grad_outputs": {spec["outputs"][0]: tensor_json(upstream, "float32")},
        "grads": {k: tensor_json(g, "float64") for k, g in zip(spec["grad"], grads)},
    }
    return doc


def write(doc, path):
    """Top-level keys one per line, one tensor per line: readable and diffable."""
    lines = ["{"]
    items = list(doc.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if k in ("inputs", "outputs", "grad_outputs", "grads"):
            inner = [f"  {json.dumps(n)}: {json.dumps(t)}" for n, t in v.items()]
            lines.append(f" {json.dumps(k)}: {{" + ("\n" + ",\n".join(inner) + "\n }" if inner else "}") + comma)
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}{comma}")
    lines.append("}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def main():
    torch.set_num_threads(1)  # a fixed reduction order
    names = [s["name"] for s in FIXTURES]
    assert len(names) == len(set(names)), "duplicate fixture name"
    os.makedirs(OUT_DIR, exist_ok=True)
    for old in os.listdir(OUT_DIR):  # fixtures removed from the list disappear
        if old.endswith(".json"):
            os.remove(os.path.join(OUT_DIR, old))
    for spec in FIXTURES:
        write(build(spec), os.path.join(OUT_DIR, spec["name"] + ".json"))
    print(f"wrote {len(FIXTURES)} fixtures to {OUT_DIR}")


if __name__ == "__main__":
    main()
