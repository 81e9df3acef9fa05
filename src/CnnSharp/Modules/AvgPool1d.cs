using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>1-D average pooling layer (PyTorch's <c>nn.AvgPool1d</c>); forwards to <see cref="F.AvgPool1d"/>.</summary>
/// <remarks>Input (N, C, L) or (C, L); output (N, C, OutL) as for <see cref="MaxPool1d"/> with dilation 1, the divisor rule
/// as <see cref="F.AvgPool2d(Tensor, int, int?, int, bool, bool, int?)"/>'s. No parameters or buffers.</remarks>
/// <example><code>var pool = new AvgPool1d(kernelSize: 4, stride: 2);</code></example>
/// <param name="kernelSize">Window length.</param>
/// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
/// <param name="padding">Implicit zero padding at both ends, at most kernelSize/2.</param>
/// <param name="ceilMode">Round the output size up instead of down.</param>
/// <param name="countIncludePad">Count padding taps in the divisor.</param>
public sealed class AvgPool1d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true) : Module
{
    /// <summary>Window length.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Padding at both ends.</summary>
    public int Padding { get; } = padding;
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; } = ceilMode;
    /// <summary>Whether padding taps count in the divisor.</summary>
    public bool CountIncludePad { get; } = countIncludePad;

    /// <summary>Pools <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">The input is not 2-D or 3-D, or the window does not fit the padded input.</exception>
    public override Tensor Forward(Tensor input) => F.AvgPool1d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"kernel_size=({KernelSize},), stride=({Stride},), padding=({Padding},)";
}
