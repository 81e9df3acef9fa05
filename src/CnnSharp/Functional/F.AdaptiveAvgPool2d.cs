using CnnSharp.Autograd;
using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Adaptive 2-D average pooling to a square output (PyTorch's <c>F.adaptive_avg_pool2d</c>); output 1 is global average pooling.</summary>
    /// <remarks>
    /// <c>out[n, c, i, j] = mean of in[n, c, h, w]</c> over <c>floor(i*H/OutH) &lt;= h &lt; ceil((i+1)*H/OutH)</c> and
    /// <c>floor(j*W/OutW) &lt;= w &lt; ceil((j+1)*W/OutW)</c> (<see cref="AdaptivePool2dGeometry"/>). With output 1 this is the
    /// tutorial's global average <c>sum in[n, c, :, :] / (H*W)</c>.
    /// </remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="outputSize">Output height and width, positive.</param>
    /// <returns>Shape (N, C, outputSize, outputSize), or (C, outputSize, outputSize).</returns>
    /// <example><code>var gap = F.AdaptiveAvgPool2d(x, 1); // (N, C, H, W) -> (N, C, 1, 1)</code></example>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, has an empty non-batch dimension, or the output size is not positive.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor x, int outputSize) => AdaptiveAvgPool2d(x, (outputSize, outputSize));

    /// <summary>Adaptive 2-D average pooling to (OutH, OutW) (PyTorch's <c>F.adaptive_avg_pool2d</c> with a tuple).</summary>
    /// <remarks>See <see cref="AdaptiveAvgPool2d(Tensor, int)"/>.</remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="outputSize">Output (height, width), both positive.</param>
    /// <returns>Shape (N, C, OutH, OutW), or (C, OutH, OutW).</returns>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, has an empty non-batch dimension, or an output size is not positive.</exception>
    public static Tensor AdaptiveAvgPool2d(Tensor x, (int H, int W) outputSize) => AdaptiveAvgPool2d(x, outputSize, "AdaptiveAvgPool2d");

    /// <summary>The 2-D op, its errors naming <paramref name="op"/> (AdaptiveAvgPool1d runs on a height-1 view through it).</summary>
    internal static Tensor AdaptiveAvgPool2d(Tensor x, (int H, int W) outputSize, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        var g = AdaptivePool2dGeometry.Create(x.Shape.Dims, outputSize, op);
        var y = Tensor.Uninitialized(PoolOutput.Of(x, g.N, g.C, g.OutH, g.OutW));
        AdaptivePool2dKernels.AvgForward(x.Data, y.Data, g);
        y.SetGradFn(new AdaptiveAvgPool2dBackward(x, g));
        if (Tracer.Current is not null) Tracer.Describe(y, new AdaptiveAvgPool2dSpec(g));
        return y;
    }
}

/// <summary>Spreads each output gradient evenly over its adaptive window.</summary>
file sealed class AdaptiveAvgPool2dBackward(Tensor x, AdaptivePool2dGeometry geometry) : Node(x)
{
    protected internal override void Backward(Tensor gradOutput)
    {
        var gx = GradOf(x);
        if (!gx.IsEmpty) AdaptivePool2dKernels.AvgBackward(gradOutput.Data, gx, geometry);
    }
}
