using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>2-D power-average pooling layer (PyTorch's <c>nn.LPPool2d</c>); normType 2 is the tutorial's L2-norm pooling.</summary>
/// <remarks>
/// <c>out = (sum over the window of x^p)^(1/p)</c>, no padding; see <see cref="F.LpPool2d(Tensor, double, int, int?, bool)"/> for the
/// ceil-mode scaling and the gradient at zero-norm windows. No parameters or buffers.
/// </remarks>
/// <example><code>var l2 = new LPPool2d(normType: 2, kernelSize: 2);</code></example>
public sealed class LPPool2d : Module
{
    private readonly (int H, int W)? _stride;

    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="normType">The exponent p, positive and finite.</param>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows; defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is not positive and finite.</exception>
    public LPPool2d(double normType, int kernelSize, int? stride = null, bool ceilMode = false)
        : this(normType, (kernelSize, kernelSize), stride is int s ? (s, s) : null, ceilMode)
    {
    }

    /// <summary>Creates the layer with a rectangular window.</summary>
    /// <param name="normType">The exponent p, positive and finite.</param>
    /// <param name="kernelSize">Window (height, width).</param>
    /// <param name="stride">Step (vertical, horizontal); defaults to <paramref name="kernelSize"/>.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="normType"/> is not positive and finite.</exception>
    public LPPool2d(double normType, (int H, int W) kernelSize, (int H, int W)? stride = null, bool ceilMode = false)
    {
        if (!(normType > 0) || double.IsInfinity(normType))
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "LPPool2d: normType must be positive and finite");
        NormType = normType;
        KernelSize = kernelSize;
        _stride = stride;
        CeilMode = ceilMode;
    }

    /// <summary>The exponent p.</summary>
    public double NormType { get; }
    /// <summary>Window (height, width).</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Step between windows (the kernel size unless given).</summary>
    public (int H, int W) Stride => _stride ?? KernelSize;
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }

    /// <summary>Pools <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D, or the window does not fit the input.</exception>
    public override Tensor Forward(Tensor input) => F.LpPool2d(input, NormType, KernelSize, Stride, CeilMode);

    /// <inheritdoc />
    protected override string ExtraRepr() =>
        $"norm_type={Repr.Number(NormType)}, kernel_size={Repr.Pair(KernelSize)}, stride={(_stride is { } s ? Repr.Pair(s) : "None")}, ceil_mode={Repr.Bool(CeilMode)}";
}
