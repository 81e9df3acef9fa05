using System.Buffers;
using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// MaxPool and AveragePool over 1-D and 2-D windows on CnnSharp's pooling kernels:
/// <c>y[n,c,oh,ow] = max / mean over taps (oh·sH − padTop + i·dH, ow·sW − padLeft + j·dW)</c> inside the input.
/// Max ignores padding. Average divides by the in-range taps, or with <c>count_include_pad=1</c> by the window clipped to
/// the padded input. <c>ceil_mode=1</c> rounds the output size up but drops a last window that would start in the end
/// padding (PyTorch's rule). MaxPool's optional Indices output holds flat indices into the input
/// (<c>((n·C + c)·H + h)·W + w</c>, or <c>((n·C + c)·W + w)·H + h</c> with <c>storage_order=1</c>).
/// </summary>
internal sealed class PoolOp : OnnxOp
{
    private readonly bool _max;
    private readonly WindowAttributes _window;
    private readonly bool _ceilMode;
    private readonly bool _countIncludePad;
    private readonly bool _columnMajorIndices;

    public PoolOp(OpBuilder b, bool max)
    {
        _max = max;
        b.Inputs(1, 1);
        b.Outputs(max && b.Opset >= 8 ? 2 : 1);
        _window = WindowAttributes.Read(b, kernelRequired: true, hasDilations: max && b.Opset >= 10);
        if (b.Opset >= 10) _ceilMode = b.Flag("ceil_mode", false);
        if (!max && b.Opset >= 7) _countIncludePad = b.Flag("count_include_pad", false);
        if (max && b.Opset >= 8) _columnMajorIndices = b.Flag("storage_order", false);
    }

    private string Name => _max ? "MaxPool" : "AveragePool";

    /// <summary>True for MaxPool (read by the load-time fusions).</summary>
    internal bool IsMax => _max;

    /// <summary>The window attributes.</summary>
    internal WindowAttributes Window => _window;

    /// <summary>The <c>ceil_mode</c> attribute.</summary>
    internal bool CeilMode => _ceilMode;

    /// <summary>AveragePool's <c>count_include_pad</c> attribute (read by the compiled-plan mapping).</summary>
    internal bool CountIncludePad => _countIncludePad;

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        int spatial = _window.Kernel!.Length;
        if (!x.IsFloat || x.Rank != spatial + 2)
            throw new ShapeException($"{Name}: expected a floating-point input with {spatial} spatial dimension(s) for kernel_shape [{string.Join(", ", _window.Kernel)}], got {x}");
        bool one = spatial == 1;
        int h = one ? 1 : x.Shape[2], w = x.Shape[^1];
        var ph = one ? (0, 0) : _window.Padding(0, 2, h, _window.Kernel[0]);
        var pw = _window.Padding(spatial - 1, spatial, w, _window.Kernel[^1]);
        var g = Pool2dGeometry.Create([x.Shape[0], x.Shape[1], h, w],
            (one ? 1 : _window.Kernel[0], _window.Kernel[^1]),
            (one ? 1 : _window.Strides?[0] ?? 1, _window.Strides?[^1] ?? 1),
            (ph.Item1, pw.Begin, ph.Item2, pw.End),
            (one ? 1 : _window.Dilations?[0] ?? 1, _window.Dilations?[^1] ?? 1), _ceilMode, Name);
        int[] outShape = one ? [g.N, g.C, g.OutW] : [g.N, g.C, g.OutH, g.OutW];
        var y = ctx.Floats(outShape);
        if (!_max)
        {
            Pool2dKernels.AvgForward(x.Floats, y.Floats, g, _countIncludePad, 0);
            outputs[0] = y;
            return;
        }
        if (!ctx.IsRequested(1))
        {
            Pool2dKernels.MaxForward(x.Floats, y.Floats, Span<int>.Empty, g);
            outputs[0] = y;
            return;
        }
        int[] argmax = ArrayPool<int>.Shared.Rent(y.Count);
        try
        {
            var arg = argmax.AsSpan(0, y.Count);
            Pool2dKernels.MaxForward(x.Floats, y.Floats, arg, g);
            var indices = ctx.Longs((int[])outShape.Clone());
            int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW;
            for (int i = 0; i < arg.Length; i++)
            {
                long planeStart = (long)(i / outPlane) * inPlane;
                int a = arg[i];
                indices.Longs[i] = a < 0 ? -1 : planeStart + (_columnMajorIndices ? (a % g.W) * g.H + a / g.W : a);
            }
            outputs[1] = indices;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(argmax);
        }
        outputs[0] = y;
    }
}

/// <summary>GlobalAveragePool and GlobalMaxPool: each (n, c) plane reduced to its mean or maximum, output (N, C, 1, …, 1).</summary>
internal sealed class GlobalPoolOp : OnnxOp
{
    private readonly bool _max;

    /// <summary>True for GlobalMaxPool.</summary>
    internal bool IsMax => _max;

    public GlobalPoolOp(OpBuilder b, bool max)
    {
        _max = max;
        b.Inputs(1, 1);
        b.Outputs(1);
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        string name = _max ? "GlobalMaxPool" : "GlobalAveragePool";
        if (!x.IsFloat || x.Rank < 3) throw new ShapeException($"{name}: expected a floating-point (N, C, D1, ...) input, got {x}");
        int planes = x.Shape[0] * x.Shape[1], size = Layout.Product(x.Shape, 2, x.Rank);
        if (size == 0) throw new ShapeException($"{name}: the spatial dimensions of {Shape.Format(x.Shape)} are empty");
        int[] shape = [x.Shape[0], x.Shape[1], .. Enumerable.Repeat(1, x.Rank - 2)];
        var y = ctx.Floats(shape);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Floats.AsSpan(p * size, size);
            y.Floats[p] = _max ? TensorPrimitives.Max(plane) : TensorPrimitives.Sum(plane) / size;
        }
        outputs[0] = y;
    }
}
