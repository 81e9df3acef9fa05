using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// The window attributes shared by Conv, ConvTranspose and the pools (<c>kernel_shape</c>, <c>strides</c>,
/// <c>dilations</c>, <c>pads</c>, <c>auto_pad</c>), read and checked at load time for 1-D and 2-D windows.
/// </summary>
internal sealed class WindowAttributes
{
    private WindowAttributes() { }

    /// <summary>NOTSET, SAME_UPPER, SAME_LOWER or VALID.</summary>
    public string AutoPad { get; private init; } = "NOTSET";
    public int[]? Kernel { get; private init; }
    public int[]? Strides { get; private init; }
    public int[]? Dilations { get; private init; }
    /// <summary>[begin_0, begin_1, …, end_0, end_1, …].</summary>
    public int[]? Pads { get; private init; }

    /// <summary>Reads the attributes; <paramref name="hasDilations"/> is false for operators without them.</summary>
    public static WindowAttributes Read(OpBuilder b, bool kernelRequired, bool hasDilations)
    {
        var w = new WindowAttributes
        {
            AutoPad = b.Choice("auto_pad", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"),
            Kernel = b.Int32s("kernel_shape"),
            Strides = b.Int32s("strides"),
            Dilations = hasDilations ? b.Int32s("dilations") : null,
            Pads = b.Int32s("pads"),
        };
        if (kernelRequired && w.Kernel is null) throw b.Invalid("required attribute 'kernel_shape' is missing");
        int? rank = w.Kernel?.Length ?? w.Strides?.Length ?? w.Dilations?.Length ?? (w.Pads is { } p ? p.Length / 2 : null);
        if (rank is int r)
        {
            if (r is < 1 or > 2)
                throw b.Unsupported($"{r}-D windows are not supported (CnnSharp runs 1-D and 2-D {b.Node.OpType})", w.Kernel is not null ? "kernel_shape" : "strides");
            Check(b, "kernel_shape", w.Kernel, r, 1);
            Check(b, "strides", w.Strides, r, 1);
            Check(b, "dilations", w.Dilations, r, 1);
            Check(b, "pads", w.Pads, 2 * r, 0);
        }
        if (w.AutoPad != "NOTSET" && w.Pads is not null && w.Pads.Any(p => p != 0))
            throw b.Invalid($"has both auto_pad \"{w.AutoPad}\" and explicit pads");
        return w;
    }

    private static void Check(OpBuilder b, string name, int[]? values, int length, int min)
    {
        if (values is null) return;
        if (values.Length != length) throw b.Invalid($"attribute '{name}' has {values.Length} values, expected {length}");
        if (values.Any(v => v < min)) throw b.Invalid($"attribute '{name}' [{string.Join(", ", values)}] has a value below {min}");
    }

    /// <summary>The number of spatial dimensions from the attributes, or null when none say.</summary>
    public int? SpatialRank => Kernel?.Length ?? Strides?.Length ?? Dilations?.Length ?? (Pads is { } p ? p.Length / 2 : null);

    /// <summary>
    /// Begin and end padding of spatial axis <paramref name="axis"/> (of <paramref name="rank"/>) for an input of size
    /// <paramref name="input"/>: explicit pads, none (VALID), or SAME: output ⌈input/stride⌉ with the total padding split
    /// evenly and the odd element at the end (SAME_UPPER) or the beginning (SAME_LOWER).
    /// </summary>
    public (int Begin, int End) Padding(int axis, int rank, int input, int kernel)
    {
        int stride = Strides?[axis] ?? 1, dilation = Dilations?[axis] ?? 1;
        switch (AutoPad)
        {
            case "VALID":
                return (0, 0);
            case "SAME_UPPER":
            case "SAME_LOWER":
            {
                long output = (input + (long)stride - 1) / stride;
                long total = Math.Max(0, (output - 1) * stride + (long)(kernel - 1) * dilation + 1 - input);
                int small = (int)(total / 2), large = (int)(total - total / 2);
                return AutoPad == "SAME_UPPER" ? (small, large) : (large, small);
            }
            default:
                return Pads is null ? (0, 0) : (Pads[axis], Pads[axis + rank]);
        }
    }
}

/// <summary>
/// Conv (1-D and 2-D): <c>y[n,k,oh,ow] = B[k] + Σ_{c,i,j} x[n, g·C/G + c, oh·sH − padTop + i·dH, ow·sW − padLeft + j·dW] · W[k,c,i,j]</c>
/// with G = <c>group</c>, as an implicit GEMM (<see cref="ConvGemm"/>) with weights packed once at load time and bias and
/// a fused ReLU (or Clip(0, max), ReLU6) applied in the GEMM's epilogue. Depthwise and narrow grouped convolutions
/// (<see cref="GroupedConv2d.Prefers"/>) run on the direct <see cref="GroupedConv2d"/> kernel instead, with the same
/// epilogue. A 1-D convolution runs as a 2-D one of height 1.
/// </summary>
/// <remarks>
/// <see cref="GraphFusion"/> may give the step a fourth input, a residual r from a following <c>Add</c> fused in
/// (<see cref="FusedResidual"/>): then <c>y = relu?((conv + B) + r)</c>, computed in the epilogue when r has the output's
/// shape, else (broadcasting) as the Add would: the convolution, then the Add, then the Relu.
/// </remarks>
internal sealed class ConvOp : OnnxOp
{
    private readonly WindowAttributes _window;
    private readonly int _groups;

    public ConvOp(OpBuilder b)
    {
        b.Inputs(2, 3);
        b.Outputs(1);
        _window = WindowAttributes.Read(b, kernelRequired: false, hasDilations: true);
        long group = b.Int("group", 1);
        if (group < 1 || group > int.MaxValue) throw b.Invalid($"attribute 'group' = {group} must be positive");
        _groups = (int)group;
        if (b.ConstantInput(1) is { } weight)
        {
            if (weight.Rank is < 3 or > 4)
                throw b.Unsupported($"a weight of shape {Shape.Format(weight.Shape)} ({weight.Rank - 2}-D convolution) is not supported; CnnSharp runs 1-D and 2-D Conv");
            if (_window.SpatialRank is int r && r != weight.Rank - 2)
                throw b.Invalid($"the attributes describe a {r}-D window but the weight {Shape.Format(weight.Shape)} is {weight.Rank - 2}-D");
            if (_window.Kernel is { } k && !k.AsSpan().SequenceEqual(weight.Shape.AsSpan(2)))
                throw b.Invalid($"kernel_shape [{string.Join(", ", k)}] differs from the weight's {Shape.Format(weight.Shape)}");
        }
    }

    private ConvOp(ConvOp other, bool relu, bool residual, float max = float.PositiveInfinity)
    {
        _window = other._window;
        _groups = other._groups;
        _packed = other._packed;
        _packedFrom = other._packedFrom;
        FusedRelu = relu;
        FusedResidual = residual;
        FusedMax = max;
    }

    // Weights packed for the GEMM micro-kernel at load time (constant weights only), and the array they were packed from.
    private PackedConvWeights? _packed;
    private float[]? _packedFrom;

    /// <summary>
    /// Packs a load-time constant weight once for <see cref="Isa.Level"/>, so runs skip the per-call packing. The packed
    /// copy is used only while the weight input is that same (never mutated) constant array.
    /// </summary>
    public void Prepack(OnnxValue weight)
    {
        if (!weight.IsFloat || weight.Rank is < 3 or > 4) return;
        int k = weight.Shape[0], cg = weight.Shape[1], kh = weight.Rank == 4 ? weight.Shape[2] : 1, kw = weight.Shape[^1];
        if (k <= 0 || cg <= 0 || kh <= 0 || kw <= 0 || k % _groups != 0) return; // the run reports the shape error
        // The direct grouped kernel reads the weights as they are; its choice depends only on the channel counts.
        if (GroupedConv2d.Prefers(new Conv2dGeometry { C = cg * _groups, K = k, Groups = _groups })) return;
        _packed = new PackedConvWeights(weight.Floats, k, cg, kh, kw, _groups, Isa.Level);
        _packedFrom = weight.Floats;
    }

    /// <summary>Whether the output is clamped at zero (a following Relu fused in, see <see cref="GraphFusion"/>).</summary>
    public bool FusedRelu { get; }

    /// <summary>Whether a following Add is fused in: input 3 is the residual added before the Relu.</summary>
    public bool FusedResidual { get; }

    /// <summary>
    /// Upper clamp applied after the fused Relu (a following <c>Clip(0, max)</c>, ReLU6, fused in); +∞ when none.
    /// Only set together with <see cref="FusedRelu"/>.
    /// </summary>
    public float FusedMax { get; } = float.PositiveInfinity;

    /// <summary>The window attributes (read by the load-time fusions).</summary>
    internal WindowAttributes Window => _window;

    /// <summary>The <c>group</c> attribute.</summary>
    internal int Groups => _groups;

    /// <summary>The same convolution followed by an in-place Relu.</summary>
    public ConvOp WithFusedRelu() => new(this, relu: true, FusedResidual);

    /// <summary>The same convolution followed by an in-place <c>Clip(0, max)</c> (<paramref name="max"/> ≥ 0).</summary>
    public ConvOp WithFusedClip(float max) => new(this, relu: true, FusedResidual, max);

    /// <summary>The same convolution followed by an Add of input 3 (only before any Relu is fused in).</summary>
    public ConvOp WithFusedResidual() =>
        FusedRelu ? throw new InvalidOperationException("Conv: a residual Add cannot follow a fused Relu") : new(this, relu: false, residual: true);

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var w = inputs[1]!;
        var bias = inputs.Length > 2 ? inputs[2] : null;
        if (!x.IsFloat || !w.IsFloat || (bias is not null && !bias.IsFloat))
            throw new ShapeException($"Conv: expected floating-point operands, got x {x}, W {w}");
        var g = Geometry(x.Shape, w.Shape, "Conv");
        if (bias is not null && bias.Count != g.K)
            throw new ShapeException($"Conv: bias of shape {Shape.Format(bias.Shape)} does not match the {g.K} output channels of weight {Shape.Format(w.Shape)}");
        int[] outShape = x.Rank == 3 ? [g.N, g.K, g.OutW] : [g.N, g.K, g.OutH, g.OutW];
        var y = ctx.Floats(outShape);
        var residual = FusedResidual ? inputs[3]! : null;
        bool residualFits = residual is null || (residual.IsFloat && residual.Shape.AsSpan().SequenceEqual(outShape));
        var b = bias is null ? default : bias.Floats.AsSpan();
        if (GroupedConv2d.Prefers(g))
        {
            GroupedConv2d.Forward(x.Floats, w.Floats, b, residual is not null && residualFits ? residual.Floats : default, y.Floats, g,
                FusedRelu && residualFits ? 0f : float.NegativeInfinity, residualFits ? FusedMax : float.PositiveInfinity);
            outputs[0] = residualFits ? y : AddThenClamp(ctx, y, residual!);
            return;
        }
        var level = Isa.Level;
        var packed = _packed is { } p && ReferenceEquals(_packedFrom, w.Floats) && p.Matches(g, level)
            ? p
            : new PackedConvWeights(w.Floats, g.K, g.CPerGroup, g.KH, g.KW, g.Groups, level);
        if (!residualFits)
        {
            // A residual of another shape (broadcast) or type: the fused nodes one after the other.
            ConvGemm.Forward(x.Floats, packed, b, y.Floats, g, relu: false);
            outputs[0] = AddThenClamp(ctx, y, residual!);
            return;
        }
        ConvGemm.Forward(x.Floats, packed, b, residual is null ? default : residual.Floats, y.Floats, g, FusedRelu,
            Parallelism.MaxThreads, ConvGemm.ParallelThresholdMacs, FusedMax);
        outputs[0] = y;
    }

    /// <summary>The fused Add (broadcasting) and then the fused Relu/Clip, as the original nodes compute them.</summary>
    private OnnxValue AddThenClamp(OpContext ctx, OnnxValue y, OnnxValue residual)
    {
        var sum = BinaryOp.Compute(ctx, Arithmetic.Add, y, residual, "Add");
        // The sum is float: Add rejects a non-float residual next to the float convolution output.
        if (FusedRelu) TensorPrimitives.Max(sum.Floats, 0f, sum.Floats);
        if (FusedMax < float.PositiveInfinity) TensorPrimitives.Min(sum.Floats, FusedMax, sum.Floats);
        return sum;
    }

    /// <summary>The convolution's geometry for input <paramref name="xShape"/> and weight <paramref name="wShape"/>; a 1-D
    /// conv is a height-1 2-D one. The planner maps 1-D convs with it.</summary>
    internal Conv2dGeometry Geometry(int[] xShape, int[] wShape, string op)
    {
        if (xShape.Length is < 3 or > 4 || wShape.Length != xShape.Length)
            throw new ShapeException($"{op}: expected input (N, C, L) or (N, C, H, W) and a weight of the same rank, got input {Shape.Format(xShape)}, weight {Shape.Format(wShape)}");
        int spatial = xShape.Length - 2;
        if (_window.SpatialRank is int r && r != spatial)
            throw new ShapeException($"{op}: the attributes describe a {r}-D window but input {Shape.Format(xShape)} is {spatial}-D");
        if (_window.Kernel is { } kernel && !kernel.AsSpan().SequenceEqual(wShape.AsSpan(2)))
            throw new ShapeException($"{op}: kernel_shape [{string.Join(", ", kernel)}] differs from weight {Shape.Format(wShape)}");
        int[] x4 = spatial == 1 ? [xShape[0], xShape[1], 1, xShape[2]] : xShape;
        int[] w4 = spatial == 1 ? [wShape[0], wShape[1], 1, wShape[2]] : wShape;
        (int Begin, int End) ph = (0, 0), pw;
        (int H, int W) stride, dilation;
        if (spatial == 1)
        {
            pw = _window.Padding(0, 1, xShape[2], wShape[2]);
            stride = (1, _window.Strides?[0] ?? 1);
            dilation = (1, _window.Dilations?[0] ?? 1);
        }
        else
        {
            ph = _window.Padding(0, 2, xShape[2], wShape[2]);
            pw = _window.Padding(1, 2, xShape[3], wShape[3]);
            stride = (_window.Strides?[0] ?? 1, _window.Strides?[1] ?? 1);
            dilation = (_window.Dilations?[0] ?? 1, _window.Dilations?[1] ?? 1);
        }
        return Conv2dGeometry.Create(x4, w4, stride, (ph.Begin, pw.Begin, ph.End, pw.End), dilation, _groups, op);
    }
}

/// <summary>
/// ConvTranspose (1-D and 2-D), the adjoint of Conv: every input pixel scatters <c>x[n,c,ih,iw]·W[c,k,i,j]</c> to
/// <c>y[n, g·K/G + k, ih·sH − padTop + i·dH, iw·sW − padLeft + j·dW]</c>, plus B[k]. W is (C, K/G, kH, kW). The output
/// size is <c>s·(in − 1) + output_padding + d·(k − 1) + 1 − padBegin − padEnd</c>; <c>output_shape</c> or SAME auto_pad
/// (output <c>in·s</c>) fix the size and derive the padding, split as the ONNX specification says. Runs on the
/// convolution's backward-data kernel.
/// </summary>
internal sealed class ConvTransposeOp : OnnxOp
{
    private readonly WindowAttributes _window;
    private readonly int _groups;
    private readonly int[]? _outputPadding;
    private readonly int[]? _outputShape;

    public ConvTransposeOp(OpBuilder b)
    {
        b.Inputs(2, 3);
        b.Outputs(1);
        _window = WindowAttributes.Read(b, kernelRequired: false, hasDilations: true);
        long group = b.Int("group", 1);
        if (group < 1 || group > int.MaxValue) throw b.Invalid($"attribute 'group' = {group} must be positive");
        _groups = (int)group;
        _outputPadding = b.Int32s("output_padding");
        _outputShape = b.Int32s("output_shape");
        if (_outputPadding is not null && _outputPadding.Any(p => p < 0)) throw b.Invalid("attribute 'output_padding' has a negative value");
        if (b.ConstantInput(1) is { } weight && weight.Rank is < 3 or > 4)
            throw b.Unsupported($"a weight of shape {Shape.Format(weight.Shape)} ({weight.Rank - 2}-D convolution) is not supported; CnnSharp runs 1-D and 2-D ConvTranspose");
    }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var w = inputs[1]!;
        var bias = inputs.Length > 2 ? inputs[2] : null;
        if (!x.IsFloat || !w.IsFloat || (bias is not null && !bias.IsFloat))
            throw new ShapeException($"ConvTranspose: expected floating-point operands, got x {x}, W {w}");
        if (x.Rank is < 3 or > 4 || w.Rank != x.Rank)
            throw new ShapeException($"ConvTranspose: expected input (N, C, L) or (N, C, H, W) and a weight of the same rank, got input {Shape.Format(x.Shape)}, weight {Shape.Format(w.Shape)}");
        int spatial = x.Rank - 2;
        if (_window.SpatialRank is int r && r != spatial)
            throw new ShapeException($"ConvTranspose: the attributes describe a {r}-D window but input {Shape.Format(x.Shape)} is {spatial}-D");
        int n = x.Shape[0], c = x.Shape[1];
        if (w.Shape[0] != c)
            throw new ShapeException($"ConvTranspose: input has {c} channels but weight {Shape.Format(w.Shape)} expects {w.Shape[0]}");
        int k = w.Shape[1] * _groups;
        var outSpatial = new int[spatial];
        var begin = new int[spatial];
        var end = new int[spatial];
        for (int a = 0; a < spatial; a++)
        {
            int input = x.Shape[2 + a], kernel = w.Shape[2 + a];
            int stride = _window.Strides?[a] ?? 1, dilation = _window.Dilations?[a] ?? 1;
            int extra = _outputPadding?[a] ?? 0;
            if (extra >= Math.Max(stride, dilation))
                throw new ShapeException($"ConvTranspose: output_padding {extra} must be smaller than the stride {stride} or the dilation {dilation}");
            long natural = (long)stride * (input - 1) + extra + (long)dilation * (kernel - 1) + 1;
            if (_outputShape is not null || _window.AutoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                long target = _outputShape is { } os ? os[os.Length - spatial + a] : (long)input * stride;
                long total = natural - target;
                if (total < 0) throw new ShapeException($"ConvTranspose: output size {target} exceeds the {natural} the input can produce");
                int half = (int)(total / 2), rest = (int)(total - total / 2);
                (begin[a], end[a]) = _window.AutoPad == "SAME_UPPER" ? (half, rest) : (rest, half);
            }
            else
            {
                (begin[a], end[a]) = _window.Padding(a, spatial, input, kernel);
            }
            long size = natural - begin[a] - end[a];
            if (size <= 0) throw new ShapeException($"ConvTranspose: padding leaves no output along spatial axis {a} (input {Shape.Format(x.Shape)}, weight {Shape.Format(w.Shape)})");
            outSpatial[a] = (int)size;
        }
        if (bias is not null && bias.Count != k)
            throw new ShapeException($"ConvTranspose: bias of shape {Shape.Format(bias.Shape)} does not match the {k} output channels");

        // The transposed convolution of x is the data gradient of the convolution from y's shape to x's shape.
        bool one = spatial == 1;
        int outH = one ? 1 : outSpatial[0], outW = outSpatial[spatial - 1];
        var g = Conv2dGeometry.Create([n, k, outH, outW], [c, w.Shape[1], one ? 1 : w.Shape[2], w.Shape[^1]],
            (one ? 1 : _window.Strides?[0] ?? 1, _window.Strides?[spatial - 1] ?? 1),
            (one ? 0 : begin[0], begin[spatial - 1], one ? 0 : end[0], end[spatial - 1]),
            (one ? 1 : _window.Dilations?[0] ?? 1, _window.Dilations?[spatial - 1] ?? 1), _groups, "ConvTranspose");
        if (g.OutH != (one ? 1 : x.Shape[2]) || g.OutW != x.Shape[^1])
            throw new ShapeException($"ConvTranspose: geometry mismatch for input {Shape.Format(x.Shape)} and output ({n}, {k}, {string.Join(", ", outSpatial)})");
        var y = ctx.Floats([n, k, .. outSpatial]);
        int plane = outH * outW;
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < k; ch++)
                y.Floats.AsSpan((b * k + ch) * plane, plane).Fill(bias is null ? 0f : bias.Floats[ch]);
        Conv2dKernels.BackwardInput(x.Floats, w.Floats, y.Floats, g);
        outputs[0] = y;
    }
}
