using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>Adaptive 2-D max pooling to a square output (PyTorch's <c>F.adaptive_max_pool2d</c>); output 1 is global max pooling.</summary>
    /// <remarks>
    /// <c>out[n, c, i, j] = max of in[n, c, h, w]</c> over the adaptive window of <see cref="AdaptiveAvgPool2d(Tensor, int)"/>.
    /// The gradient goes to the first maximum in row-major window order; a NaN is the maximum, as in PyTorch.
    /// </remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="outputSize">Output height and width, positive.</param>
    /// <returns>Shape (N, C, outputSize, outputSize), or (C, outputSize, outputSize).</returns>
    /// <example><code>var gmp = F.AdaptiveMaxPool2d(x, 1); // (N, C, H, W) -> (N, C, 1, 1)</code></example>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, has an empty non-batch dimension, or the output size is not positive.</exception>
    public static Tensor AdaptiveMaxPool2d(Tensor x, int outputSize) => AdaptiveMaxPool2d(x, (outputSize, outputSize));

    /// <summary>Adaptive 2-D max pooling to (OutH, OutW) (PyTorch's <c>F.adaptive_max_pool2d</c> with a tuple).</summary>
    /// <remarks>See <see cref="AdaptiveMaxPool2d(Tensor, int)"/>.</remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="outputSize">Output (height, width), both positive.</param>
    /// <returns>Shape (N, C, OutH, OutW), or (C, OutH, OutW).</returns>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, has an empty non-batch dimension, or an output size is not positive.</exception>
    public static Tensor AdaptiveMaxPool2d(Tensor x, (int H, int W) outputSize)
    {
        ArgumentNullException.ThrowIfNull(x);
        var g = AdaptivePool2dGeometry.Create(x.Shape.Dims, outputSize, "AdaptiveMaxPool2d");
        var y = Tensor.Uninitialized(PoolOutput.Of(x, g.N, g.C, g.OutH, g.OutW));
        bool record = PoolOutput.Records(x);
        var argmax = PoolOutput.ArgmaxBuffer(y.Numel, record);
        AdaptivePool2dKernels.MaxForward(x.Data, y.Data, argmax.AsSpan(0, y.Numel), g);
        if (record) y.SetGradFn(new ArgmaxPoolBackward(x, argmax, g.Planes, g.H * g.W, g.OutH * g.OutW));
        else PoolOutput.Release(argmax, record);
        if (record && Tracer.Current is not null) TraceAdaptiveMaxPool2d(y, outputSize);
        return y;
    }

    private static void TraceAdaptiveMaxPool2d(Tensor y, (int H, int W) outputSize) =>
        Tracer.Describe(y, new AdaptiveMaxPool2dSpec(outputSize, i => AdaptiveMaxPool2d(i[0], outputSize)));
}
