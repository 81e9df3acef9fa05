using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>1-D max pooling layer (PyTorch's <c>nn.MaxPool1d</c>); forwards to <see cref="F.MaxPool1d"/>.</summary>
/// <remarks>Input (N, C, L) or (C, L); output (N, C, OutL) with
/// <c>OutL = floor_or_ceil((L + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1</c>. No parameters or buffers.</remarks>
/// <example><code>var pool = new MaxPool1d(kernelSize: 2); // halves the length</code></example>
/// <param name="kernelSize">Window length.</param>
/// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
/// <param name="padding">Implicit -inf padding at both ends, at most kernelSize/2.</param>
/// <param name="dilation">Spacing between window taps.</param>
/// <param name="ceilMode">Round the output size up instead of down.</param>
public sealed class MaxPool1d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module
{
    /// <summary>Window length.</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Step between windows.</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Padding at both ends.</summary>
    public int Padding { get; } = padding;
    /// <summary>Tap spacing.</summary>
    public int Dilation { get; } = dilation;
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <summary>Pools <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">The input is not 2-D or 3-D, or the window does not fit the padded input.</exception>
    public override Tensor Forward(Tensor input) => F.MaxPool1d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, ceil_mode={Repr.Bool(CeilMode)}";
}
