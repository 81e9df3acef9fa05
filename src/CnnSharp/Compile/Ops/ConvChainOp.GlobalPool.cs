using System.Numerics.Tensors;

namespace CnnSharp.Compile.Ops;

/// <summary>The chain's output pooled globally image by image (<see cref="ChainPoolOp"/>, inference plans).</summary>
internal sealed unsafe partial class ConvChainOp
{
    // The plan value receiving each output image's channel means (N x K), or -1.
    private int _pooled = -1;

    /// <summary>Whether the chain is planned for backward (training plans).</summary>
    internal bool Differentiable => _differentiable;

    /// <summary>From now on every forward also writes the global average pool of each output image into plan value
    /// <paramref name="value"/> (N x K x 1 x 1), as <see cref="AdaptiveAvgPool2dOp"/> computes it.</summary>
    internal void PoolOutputInto(int value)
    {
        if (_differentiable) throw new InvalidOperationException("ConvChainOp: only inference chains pool their output");
        _pooled = value;
    }

    // Image n's channel means from its NCHW output, just written: AdaptiveAvgPool2dOp's sum of each plane on the same
    // addresses (the chain's output value), so the same bits.
    private void PoolImage(int n)
    {
        var last = _layers[^1];
        int k = last.Geometry.K, s = last.PoolH * last.PoolW;
        var x = _exec!.Data[Output];
        var y = _exec.Data[_pooled];
        for (int c = 0; c < k; c++)
        {
            int p = n * k + c;
            y[p] = TensorPrimitives.Sum(x.AsSpan(p * s, s)) / s;
        }
    }
}
