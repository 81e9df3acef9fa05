using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>2-D average pooling layer (PyTorch's <c>nn.AvgPool2d</c>); forwards to <see cref="F.AvgPool2d(Tensor, ValueTuple{int, int}, ValueTuple{int, int}?, ValueTuple{int, int}, bool, bool, int?)"/>.</summary>
/// <remarks>
/// Input (N, C, H, W) or (C, H, W); output (N, C, OutH, OutW) as for <see cref="MaxPool2d"/> with dilation 1. The divisor
/// rule (countIncludePad, ceil mode, divisorOverride) is documented on <see cref="F.AvgPool2d(Tensor, int, int?, int, bool, bool, int?)"/>.
/// No parameters or buffers.
/// </remarks>
/// <example><code>var pool = new AvgPool2d(kernelSize: 2, stride: 2);</code></example>
public sealed class AvgPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit zero padding on every side, at most kernelSize/2.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Count padding taps in the divisor.</param>
    /// <param name="divisorOverride">A fixed positive divisor for every window.</param>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true, int? divisorOverride = null)
        : this((kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), ceilMode, countIncludePad, divisorOverride)
    {
    }

    /// <summary>Creates the layer with a rectangular window.</summary>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Step (vertical, horizontal); defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit zero padding (rows, columns) on each side.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Count padding taps in the divisor.</param>
    /// <param name="divisorOverride">A fixed positive divisor for every window.</param>
    public AvgPool2d((int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null)
    {
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding;
        CeilMode = ceilMode;
        CountIncludePad = countIncludePad;
        DivisorOverride = divisorOverride;
    }

    /// <summary>Window (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Step between windows.</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Padding on each side.</summary>
    public (int H, int W) Padding { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }
    /// <summary>Whether padding taps count in the divisor.</summary>
    public bool CountIncludePad { get; }
    /// <summary>Fixed divisor, or null for the window size.</summary>
    public int? DivisorOverride { get; }

    /// <summary>Pools <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, or the window does not fit the padded input.</exception>
    public override Tensor Forward(Tensor input) => F.AvgPool2d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad, DivisorOverride);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"kernel_size={Repr.Pair(KernelSize)}, stride={Repr.Pair(Stride)}, padding={Repr.Pair(Padding)}";
}
