using CnnSharp.Autograd;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    private static void TraceInterpolate(Tensor y, (int H, int W)? size, (double H, double W)? scaleFactor, InterpolationMode mode, bool? alignCorners) =>
        Tracer.Describe(y, new InterpolateSpec(size, scaleFactor, mode, alignCorners ?? false, i => Interpolate(i[0], size, scaleFactor, mode, alignCorners)));

    /// <summary>Resizes the spatial dimensions of (N, C, H, W) input (PyTorch 1.13's <c>F.interpolate</c> for 4-D input, nearest and bilinear).</summary>
    /// <remarks>
    /// <para>Give exactly one of <paramref name="size"/> (the output (OutH, OutW)) and <paramref name="scaleFactor"/>
    /// (then <c>OutH = floor(H · sH)</c>, likewise W). As in PyTorch with <c>recompute_scale_factor=None</c>, a given scale
    /// factor is also the sampling step: the source coordinate uses <c>scale = 1/sH</c>, not <c>H/OutH</c> (they differ when
    /// H·sH is not whole); with <paramref name="size"/> the step is <c>H/OutH</c>.</para>
    /// <para>Nearest: <c>src = min(floor(dst · scale), H − 1)</c>, with scale and the product in float32 as PyTorch computes them.</para>
    /// <para>Bilinear, <paramref name="alignCorners"/> false (default): <c>src = max(scale·(dst + 0.5) − 0.5, 0)</c>; true:
    /// <c>src = dst·(H − 1)/(OutH − 1)</c> (0 when OutH = 1) and the scale factor only sets the size. The output mixes pixels
    /// <c>i0 = floor(src)</c> and <c>min(i0 + 1, H − 1)</c> with weights <c>1 − (src − i0)</c> and <c>src − i0</c>, per axis.</para>
    /// <para>The gradient scatters each output gradient back with the same weights.</para>
    /// </remarks>
    /// <param name="x">Shape (N, C, H, W).</param>
    /// <param name="size">Output (OutH, OutW), each ≥ 1; or null when <paramref name="scaleFactor"/> is given.</param>
    /// <param name="scaleFactor">Per-axis multipliers (finite, &gt; 0); or null when <paramref name="size"/> is given.</param>
    /// <param name="mode">Nearest or bilinear.</param>
    /// <param name="alignCorners">Bilinear only (null means false); must be null for nearest, as in PyTorch.</param>
    /// <returns>Shape (N, C, OutH, OutW).</returns>
    /// <exception cref="ShapeException">The input is not 4-D, or the output size is not positive or too large.</exception>
    /// <exception cref="ArgumentException">Both or neither of size and scale factor, a non-positive or non-finite scale factor,
    /// an unknown mode, or align_corners with nearest.</exception>
    public static Tensor Interpolate(Tensor x, (int H, int W)? size = null, (double H, double W)? scaleFactor = null,
        InterpolationMode mode = InterpolationMode.Nearest, bool? alignCorners = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        string d = $"input {x.Shape}, size {(size is { } s ? $"({s.H}, {s.W})" : "none")}, scale_factor {(scaleFactor is { } f ? $"({f.H}, {f.W})" : "none")}, mode {mode}";
        if (!Enum.IsDefined(mode)) throw new ArgumentException($"Interpolate: unknown mode {(int)mode} ({d})", nameof(mode));
        if (x.Rank != 4) throw new ShapeException($"Interpolate: expected a 4-D input (N, C, H, W) ({d})");
        if (size.HasValue == scaleFactor.HasValue) throw new ArgumentException($"Interpolate: give exactly one of size and scale_factor ({d})");
        if (scaleFactor is { } sf && !(sf.H > 0 && sf.W > 0 && double.IsFinite(sf.H) && double.IsFinite(sf.W)))
            throw new ArgumentException($"Interpolate: scale_factor must be finite and positive ({d})", nameof(scaleFactor));
        if (mode == InterpolationMode.Nearest && alignCorners.HasValue)
            throw new ArgumentException($"Interpolate: align_corners only applies to bilinear mode ({d})", nameof(alignCorners));
        int h = x.Shape[2], w = x.Shape[3];
        double outH = size?.H ?? Math.Floor(h * scaleFactor!.Value.H), outW = size?.W ?? Math.Floor(w * scaleFactor!.Value.W);
        if (!(outH >= 1 && outW >= 1)) throw new ShapeException($"Interpolate: the output size ({outH}, {outW}) must be positive ({d})");
        if ((double)x.Shape[0] * x.Shape[1] * outH * outW > Array.MaxLength)
            throw new ShapeException($"Interpolate: the output ({x.Shape[0]}, {x.Shape[1]}, {outH}, {outW}) is too large ({d})");
        bool align = alignCorners ?? false;
        var rows = Axis(h, (int)outH, scaleFactor?.H, mode, align);
        var cols = Axis(w, (int)outW, scaleFactor?.W, mode, align);
        var y = Tensor.Uninitialized(new Shape(x.Shape[0], x.Shape[1], (int)outH, (int)outW));
        InterpolateForward(x.Data, y.Data, x.Shape[0] * x.Shape[1], h, w, rows, cols);
        y.SetGradFn(new InterpolateBackward(x, rows, cols));
        if (Tracer.Current is not null) TraceInterpolate(y, size, scaleFactor, mode, alignCorners);
        return y;
    }

    /// <summary>Per output index along one axis: the two source indices and their weights (nearest: one index, weight 1).</summary>
    private static InterpolationAxis Axis(int inSize, int outSize, double? scaleFactor, InterpolationMode mode, bool alignCorners)
    {
        var axis = new InterpolationAxis(outSize);
        if (mode == InterpolationMode.Nearest)
        {
            // PyTorch's nearest_idx: identity and exact 2x are special-cased; otherwise float32 arithmetic throughout.
            float scale = scaleFactor is { } s ? (float)(1.0 / s) : (float)inSize / outSize;
            for (int i = 0; i < outSize; i++)
            {
                int src = outSize == inSize ? i : outSize == 2 * inSize ? i >> 1 : Math.Min((int)MathF.Floor(i * scale), inSize - 1);
                axis.Set(i, src, src, 1.0, 0.0);
            }
            return axis;
        }
        double step = alignCorners
            ? (outSize > 1 ? (inSize - 1) / (double)(outSize - 1) : 0.0)
            : scaleFactor is { } f ? 1.0 / f : inSize / (double)outSize;
        for (int i = 0; i < outSize; i++)
        {
            double src = alignCorners ? step * i : Math.Max(step * (i + 0.5) - 0.5, 0.0);
            int i0 = Math.Min((int)src, inSize - 1);
            int i1 = i0 < inSize - 1 ? i0 + 1 : i0;
            double l1 = src - i0;
            axis.Set(i, i0, i1, 1.0 - l1, l1);
        }
        return axis;
    }

    private static void InterpolateForward(ReadOnlySpan<float> x, Span<float> y, int planes, int h, int w, InterpolationAxis rows, InterpolationAxis cols)
    {
        int oh = rows.Length, ow = cols.Length;
        for (int p = 0; p < planes; p++)
        {
            var src = x.Slice(p * h * w, h * w);
            var dst = y.Slice(p * oh * ow, oh * ow);
            for (int i = 0; i < oh; i++)
            {
                int r0 = rows.Index0[i] * w, r1 = rows.Index1[i] * w;
                double a0 = rows.Weight0[i], a1 = rows.Weight1[i];
                for (int j = 0; j < ow; j++)
                {
                    int c0 = cols.Index0[j], c1 = cols.Index1[j];
                    double b0 = cols.Weight0[j], b1 = cols.Weight1[j];
                    dst[i * ow + j] = (float)(a0 * (b0 * src[r0 + c0] + b1 * src[r0 + c1]) + a1 * (b0 * src[r1 + c0] + b1 * src[r1 + c1]));
                }
            }
        }
    }
}

/// <summary>The sampling table of one axis of <see cref="F.Interpolate"/>.</summary>
internal sealed class InterpolationAxis(int length)
{
    public int Length => Index0.Length;
    public int[] Index0 { get; } = new int[length];
    public int[] Index1 { get; } = new int[length];
    public double[] Weight0 { get; } = new double[length];
    public double[] Weight1 { get; } = new double[length];

    public void Set(int i, int index0, int index1, double weight0, double weight1)
    {
        Index0[i] = index0;
        Index1[i] = index1;
        Weight0[i] = weight0;
        Weight1[i] = weight1;
    }
}

/// <summary>Scatters each output gradient onto the (up to four) source pixels with the forward's weights.</summary>
file sealed class InterpolateBackward(Tensor x, InterpolationAxis rows, InterpolationAxis cols) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (gx.IsEmpty) return;
        int h = x.Shape[2], w = x.Shape[3], oh = rows.Length, ow = cols.Length;
        int planes = x.Shape[0] * x.Shape[1];
        ReadOnlySpan<float> dy = gradOutput.Data;
        var acc = new double[h * w];
        for (int p = 0; p < planes; p++)
        {
            Array.Clear(acc);
            var g = dy.Slice(p * oh * ow, oh * ow);
            for (int i = 0; i < oh; i++)
            {
                int r0 = rows.Index0[i] * w, r1 = rows.Index1[i] * w;
                double a0 = rows.Weight0[i], a1 = rows.Weight1[i];
                for (int j = 0; j < ow; j++)
                {
                    double v = g[i * ow + j];
                    int c0 = cols.Index0[j], c1 = cols.Index1[j];
                    double b0 = cols.Weight0[j] * v, b1 = cols.Weight1[j] * v;
                    acc[r0 + c0] += a0 * b0;
                    acc[r0 + c1] += a0 * b1;
                    acc[r1 + c0] += a1 * b0;
                    acc[r1 + c1] += a1 * b1;
                }
            }
            var dst = gx.Slice(p * h * w, h * w);
            for (int k = 0; k < acc.Length; k++) dst[k] += (float)acc[k];
        }
    }
}
