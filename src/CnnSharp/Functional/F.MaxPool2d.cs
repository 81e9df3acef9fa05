using CnnSharp.Kernels;
using CnnSharp.Compile;

namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>2-D max pooling with a square window (PyTorch's <c>F.max_pool2d</c>).</summary>
    /// <remarks>
    /// <c>out[n, c, oh, ow] = max over m &lt; kH, k &lt; kW of in[n, c, oh*sH - pH + m*dH, ow*sW - pW + k*dW]</c>, where taps in the
    /// padding are ignored (implicit -inf). Output size per axis:
    /// <c>floor_or_ceil((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1</c>; in ceil mode a last window that would
    /// start in the end padding is dropped (<see cref="Pool2dGeometry.OutputSize"/>). On ties the gradient goes to the first
    /// maximum in row-major window order; a NaN in a window is the maximum, as in PyTorch.
    /// </remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit -inf padding on every side, at most <c>kernelSize/2</c>.</param>
    /// <param name="dilation">Spacing between window taps.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <returns>Shape (N, C, OutH, OutW), or (C, OutH, OutW).</returns>
    /// <example><code>var pooled = F.MaxPool2d(x, kernelSize: 2); // (N, C, 28, 28) -> (N, C, 14, 14)</code></example>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, a parameter is out of range, or the window does not fit the padded input.</exception>
    public static Tensor MaxPool2d(Tensor x, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        MaxPool2d(x, (kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), (dilation, dilation), ceilMode);

    /// <summary>2-D max pooling with a rectangular window (PyTorch's <c>F.max_pool2d</c> with tuple arguments).</summary>
    /// <remarks>See <see cref="MaxPool2d(Tensor, int, int?, int, int, bool)"/> for the formula and output size.</remarks>
    /// <param name="x">Shape (N, C, H, W), or (C, H, W) unbatched.</param>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Step (vertical, horizontal); defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit -inf padding (rows, columns) on each side, at most half the window.</param>
    /// <param name="dilation">Tap spacing (vertical, horizontal); defaults to (1, 1).</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <returns>Shape (N, C, OutH, OutW), or (C, OutH, OutW).</returns>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, a parameter is out of range, or the window does not fit the padded input.</exception>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default,
        (int H, int W)? dilation = null, bool ceilMode = false) =>
        MaxPool2d(x, kernelSize, stride, padding, dilation, ceilMode, "MaxPool2d");

    /// <summary>The 2-D op, its errors naming <paramref name="op"/> (MaxPool1d runs on a height-1 view through it).</summary>
    internal static Tensor MaxPool2d(Tensor x, (int H, int W) kernelSize, (int H, int W)? stride, (int H, int W) padding,
        (int H, int W)? dilation, bool ceilMode, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        var g = Pool2dGeometry.Create(x.Shape.Dims, kernelSize, stride ?? kernelSize, padding, dilation ?? (1, 1), ceilMode, op);
        var y = Tensor.Uninitialized(PoolOutput.Of(x, g.N, g.C, g.OutH, g.OutW));
        if (!PoolOutput.Records(x))
        {
            // No backward: the kernel needs no argmax and takes its vectorised path.
            Pool2dKernels.MaxForward(x.Data, y.Data, Span<int>.Empty, g);
            return y;
        }
        var argmax = PoolOutput.ArgmaxBuffer(y.Numel, record: true);
        Pool2dKernels.MaxForward(x.Data, y.Data, argmax.AsSpan(0, y.Numel), g);
        y.SetGradFn(new ArgmaxPoolBackward(x, argmax, g.Planes, g.H * g.W, g.OutH * g.OutW));
        if (Tracer.Current is not null) Tracer.Describe(y, new MaxPool2dSpec(g));
        return y;
    }
}
