using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>2-D max pooling layer (PyTorch's <c>nn.MaxPool2d</c>); forwards to <see cref="F.MaxPool2d(Tensor, ValueTuple{int, int}, ValueTuple{int, int}?, ValueTuple{int, int}, ValueTuple{int, int}?, bool)"/>.</summary>
/// <remarks>
/// Input (N, C, H, W) or (C, H, W); output (N, C, OutH, OutW) with
/// <c>OutH = floor_or_ceil((H + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1</c> (ceil mode drops a last window
/// that would start in the end padding). No parameters or buffers.
/// </remarks>
/// <example><code>var pool = new MaxPool2d(kernelSize: 2, stride: 2); // the tutorial's ConvNet pooling</code></example>
public sealed class MaxPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit -inf padding on every side, at most kernelSize/2.</param>
    /// <param name="dilation">Spacing between window taps.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
        : this((kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), (dilation, dilation), ceilMode)
    {
    }

    /// <summary>Creates the layer with a rectangular window.</summary>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Step (vertical, horizontal); defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="padding">Implicit -inf padding (rows, columns) on each side.</param>
    /// <param name="dilation">Tap spacing; defaults to (1, 1).</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public MaxPool2d((int H, int W) kernelSize, (int H, int W)? stride = null, (int H, int W) padding = default,
        (int H, int W)? dilation = null, bool ceilMode = false)
    {
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        Padding = padding;
        Dilation = dilation ?? (1, 1);
        CeilMode = ceilMode;
    }

    /// <summary>Window (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Step between windows.</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Padding on each side.</summary>
    public (int H, int W) Padding { get; }
    /// <summary>Tap spacing.</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }

    /// <summary>Pools <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, or the window does not fit the padded input.</exception>
    public override Tensor Forward(Tensor input) => F.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"kernel_size={Repr.Pair(KernelSize)}, stride={Repr.Pair(Stride)}, padding={Repr.Pair(Padding)}, dilation={Repr.Pair(Dilation)}, ceil_mode={Repr.Bool(CeilMode)}";
}
