namespace CnnSharp.Functional;

public static partial class F
{
    /// <summary>1-D max pooling (PyTorch's <c>F.max_pool1d</c>).</summary>
    /// <remarks>
    /// <c>out[n, c, o] = max over j &lt; kernelSize of in[n, c, o*stride - padding + j*dilation]</c>, padding taps being -inf;
    /// <c>OutL = floor_or_ceil((L + 2*padding - dilation*(kernelSize - 1) - 1) / stride) + 1</c>. It runs as
    /// <see cref="MaxPool2d(Tensor, ValueTuple{int, int}, ValueTuple{int, int}?, ValueTuple{int, int}, ValueTuple{int, int}?, bool)"/>
    /// on the (N, C, 1, L) view (a reshape, no copy), so it shares that op's kernels, backward and compiled form.
    /// </remarks>
    /// <param name="x">Shape (N, C, L), or (C, L) unbatched.</param>
    /// <param name="kernelSize">Window length.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit -inf padding at both ends, at most kernelSize/2.</param>
    /// <param name="dilation">Spacing between window taps.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <returns>Shape (N, C, OutL), or (C, OutL).</returns>
    /// <exception cref="ShapeException">The input is not 2-D or 3-D, a parameter is out of range, or the window does not fit the padded input.</exception>
    public static Tensor MaxPool1d(Tensor x, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        var rows = AsRows(x, "MaxPool1d");
        return FromRows(MaxPool2d(rows, (1, kernelSize), (1, stride ?? kernelSize), (0, padding), (1, dilation), ceilMode, "MaxPool1d"), x.Rank);
    }

    /// <summary>1-D average pooling (PyTorch's <c>F.avg_pool1d</c>).</summary>
    /// <remarks>
    /// <c>out[n, c, o] = (sum over j &lt; kernelSize of in[n, c, o*stride - padding + j]) / divisor</c>, padding taps counting as
    /// zeros, with the divisor rule of <see cref="AvgPool2d(Tensor, int, int?, int, bool, bool, int?)"/>. It runs as that op
    /// on the (N, C, 1, L) view (a reshape, no copy), so it shares its kernels, backward and compiled form.
    /// </remarks>
    /// <param name="x">Shape (N, C, L), or (C, L) unbatched.</param>
    /// <param name="kernelSize">Window length.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit zero padding at both ends, at most kernelSize/2.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Count padding taps in the divisor (PyTorch's default true).</param>
    /// <returns>Shape (N, C, OutL), or (C, OutL).</returns>
    /// <exception cref="ShapeException">The input is not 2-D or 3-D, a parameter is out of range, or the window does not fit the padded input.</exception>
    public static Tensor AvgPool1d(Tensor x, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        var rows = AsRows(x, "AvgPool1d");
        return FromRows(AvgPool2d(rows, (1, kernelSize), (1, stride ?? kernelSize), (0, padding), ceilMode, countIncludePad, null, "AvgPool1d"), x.Rank);
    }

    /// <summary>Adaptive 1-D average pooling (PyTorch's <c>F.adaptive_avg_pool1d</c>); output size 1 is global average pooling.</summary>
    /// <remarks>Output o averages input positions <c>[floor(o*L/OutL), ceil((o+1)*L/OutL))</c>; it runs as
    /// <see cref="AdaptiveAvgPool2d(Tensor, ValueTuple{int, int})"/> on the (N, C, 1, L) view.</remarks>
    /// <param name="x">Shape (N, C, L), or (C, L) unbatched.</param>
    /// <param name="outputSize">Output length, positive.</param>
    /// <returns>Shape (N, C, outputSize), or (C, outputSize).</returns>
    /// <exception cref="ShapeException">The input is not 2-D or 3-D, has an empty non-batch dimension, or the output size is not positive.</exception>
    public static Tensor AdaptiveAvgPool1d(Tensor x, int outputSize)
    {
        var rows = AsRows(x, "AdaptiveAvgPool1d");
        return FromRows(AdaptiveAvgPool2d(rows, (1, outputSize), "AdaptiveAvgPool1d"), x.Rank);
    }

    /// <summary>(N, C, L) as (N, C, 1, L), (C, L) as (C, 1, L): a view the 2-D pooling ops take.</summary>
    private static Tensor AsRows(Tensor x, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x.Rank switch
        {
            3 => x.Reshape(x.Size(0), x.Size(1), 1, x.Size(2)),
            2 => x.Reshape(x.Size(0), 1, x.Size(1)),
            _ => throw new ShapeException($"{op}: expected a 3-D (N, C, L) or 2-D (C, L) input, got {x.Shape}"),
        };
    }

    /// <summary>Drops the height-1 axis <see cref="AsRows"/> added.</summary>
    private static Tensor FromRows(Tensor y, int rank) =>
        rank == 3 ? y.Reshape(y.Size(0), y.Size(1), y.Size(3)) : y.Reshape(y.Size(0), y.Size(2));
}
