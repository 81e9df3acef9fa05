using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Kernels;

namespace CnnSharp.Functional;

public static partial class F
{
    // No compiled form: an eager island (graph break) inside a compiled model rather than the whole model running eagerly.
    // A separate method so the replay closure is allocated only while tracing.
    private static void TraceLpPool2d(Tensor y, double normType, (int H, int W) kernelSize, (int H, int W)? stride, bool ceilMode) =>
        Tracer.Describe(y, new EagerSpec(i => LpPool2d(i[0], normType, kernelSize, stride, ceilMode)));

    /// <summary>2-D power-average (Lp) pooling with a square window (PyTorch's <c>F.lp_pool2d</c>); normType 2 is the tutorial's L2-norm pooling.</summary>
    /// <remarks>
    /// <c>out[n, c, oh, ow] = (sum over the window of in^p)^(1/p)</c>, no padding, dilation 1. PyTorch computes this as
    /// <c>(avg_pool2d(x^p, ceil_mode) * kH*kW)^(1/p)</c>, and so does this op: a ceil-mode window cut short by the input's end
    /// has its sum scaled by <c>kH*kW / taps</c>. For non-integer p, negative inputs give NaN (as <c>pow</c> does).
    /// The gradient is <c>d out / d x_i = x_i^(p-1) * out^(1-p)</c> (times that scale); where a window's output is 0 the
    /// gradient is defined as 0 (PyTorch returns NaN there for p &gt; 1).
    /// </remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="normType">The exponent p, positive and finite.</param>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <returns>Shape (N, C, OutH, OutW), or (C, OutH, OutW).</returns>
    /// <example><code>var l2 = F.LpPool2d(x, normType: 2, kernelSize: 2); // sqrt of the sum of squares per 2x2 window</code></example>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, a parameter is out of range, or the window does not fit the input.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is not positive and finite.</exception>
    public static Tensor LpPool2d(Tensor x, double normType, int kernelSize, int? stride = null, bool ceilMode = false) =>
        LpPool2d(x, normType, (kernelSize, kernelSize), stride is int s ? (s, s) : null, ceilMode);

    /// <summary>2-D Lp pooling with a rectangular window (PyTorch's <c>F.lp_pool2d</c> with tuple arguments).</summary>
    /// <remarks>See <see cref="LpPool2d(Tensor, double, int, int?, bool)"/>.</remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="normType">The exponent p, positive and finite.</param>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Step (vertical, horizontal); defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <returns>Shape (N, C, OutH, OutW), or (C, OutH, OutW).</returns>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, a parameter is out of range, or the window does not fit the input.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is not positive and finite.</exception>
    public static Tensor LpPool2d(Tensor x, double normType, (int H, int W) kernelSize, (int H, int W)? stride = null, bool ceilMode = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!(normType > 0) || double.IsInfinity(normType))
            throw new ArgumentOutOfRangeException(nameof(normType), normType, $"LpPool2d: normType must be positive and finite (input {x.Shape})");
        var g = Pool2dGeometry.Create(x.Shape.Dims, kernelSize, stride ?? kernelSize, (0, 0), (1, 1), ceilMode, "LpPool2d");
        var y = Tensor.Uninitialized(PoolOutput.Of(x, g.N, g.C, g.OutH, g.OutW));
        Pool2dKernels.LpForward(x.Data, y.Data, g, normType);
        y.SetGradFn(new LpPool2dBackward(x, y.Storage, g, normType));
        if (Tracer.Current is not null) TraceLpPool2d(y, normType, kernelSize, stride, ceilMode);
        return y;
    }
}

/// <summary>Lp-pool backward: needs the input and the pooled output.</summary>
file sealed class LpPool2dBackward(Tensor x, float[] output, Pool2dGeometry geometry, double normType) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (!gx.IsEmpty) Pool2dKernels.LpBackward(x.Data, output, gradOutput.Data, gx, geometry, normType);
    }
}
