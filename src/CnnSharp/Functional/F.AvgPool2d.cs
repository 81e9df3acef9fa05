using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>2-D average pooling with a square window (PyTorch's <c>F.avg_pool2d</c>).</summary>
    /// <remarks>
    /// <c>out[n, c, oh, ow] = (sum over m &lt; kH, k &lt; kW of in[n, c, oh*sH - pH + m, ow*sW - pW + k]) / divisor</c>, padding
    /// taps counting as zeros. With <c>h0 = oh*sH - pH</c> and <c>h1 = min(h0 + kH, H + pH)</c> (the window clipped to the
    /// padded input; likewise w0, w1), the divisor is <paramref name="divisorOverride"/> if given, else
    /// <c>(h1 - h0)*(w1 - w0)</c> when <paramref name="countIncludePad"/>, else the number of taps inside the input.
    /// So in ceil mode a last window that runs past the padded input divides by its clipped size, not by kH*kW (PyTorch's rule).
    /// Output size as for <see cref="MaxPool2d(Tensor, int, int?, int, int, bool)"/> with dilation 1.
    /// </remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit zero padding on every side, at most <c>kernelSize/2</c>.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Count padding taps in the divisor (PyTorch's default true).</param>
    /// <param name="divisorOverride">A fixed positive divisor for every window instead of the window size.</param>
    /// <returns>Shape (N, C, OutH, OutW), or (C, OutH, OutW).</returns>
    /// <example><code>var pooled = F.AvgPool2d(x, kernelSize: 2); // the tutorial's 2x2 average pooling</code></example>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, a parameter is out of range, or the window does not fit the padded input.</exception>
    public static Tensor AvgPool2d(Tensor x, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPool2d(x, (kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), ceilMode, countIncludePad, divisorOverride);

    /// <summary>2-D average pooling with a rectangular window (PyTorch's <c>F.avg_pool2d</c> with tuple arguments).</summary>
    /// <remarks>See <see cref="AvgPool2d(Tensor, int, int?, int, bool, bool, int?)"/> for the formula and the divisor rule.</remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Step (vertical, horizontal); defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit zero padding (rows, columns) on each side, at most half the window.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Count padding taps in the divisor.</param>
    /// <param name="divisorOverride">A fixed positive divisor for every window.</param>
    /// <returns>Shape (N, C, OutH, OutW), or (C, OutH, OutW).</returns>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, a parameter is out of range, or the window does not fit the padded input.</exception>
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default,
        bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null) =>
        AvgPool2d(x, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride, "AvgPool2d");

    /// <summary>The 2-D op, its errors naming <paramref name="op"/> (AvgPool1d runs on a height-1 view through it).</summary>
    internal static Tensor AvgPool2d(Tensor x, (int H, int W) kernelSize, (int H, int W)? stride, (int H, int W) padding,
        bool ceilMode, bool countIncludePad, int? divisorOverride, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        var g = Pool2dGeometry.Create(x.Shape.Dims, kernelSize, stride ?? kernelSize, padding, (1, 1), ceilMode, op);
        if (divisorOverride is <= 0)
            throw new ShapeException($"{op}: divisorOverride must be positive, got {divisorOverride} (input {x.Shape}, kernel ({kernelSize.H}, {kernelSize.W}))");
        int divisor = divisorOverride ?? 0;
        var y = Tensor.Uninitialized(PoolOutput.Of(x, g.N, g.C, g.OutH, g.OutW));
        Pool2dKernels.AvgForward(x.Data, y.Data, g, countIncludePad, divisor);
        y.SetGradFn(new AvgPool2dBackward(x, g, countIncludePad, divisor));
        if (Tracer.Current is not null) Tracer.Describe(y, new AvgPool2dSpec(g, countIncludePad, divisor));
        return y;
    }
}

/// <summary>Spreads each output gradient evenly (1/divisor) over its window's input taps.</summary>
file sealed class AvgPool2dBackward(Tensor x, Pool2dGeometry geometry, bool countIncludePad, int divisorOverride) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (!gx.IsEmpty) Pool2dKernels.AvgBackward(gradOutput.Data, gx, geometry, countIncludePad, divisorOverride);
    }
}
