using System.Globalization;
using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Spatial resizing layer (PyTorch's <c>nn.Upsample</c>): <c>y = F.Interpolate(x, Size, ScaleFactor, Mode, AlignCorners)</c>.</summary>
/// <remarks>Input (N, C, H, W); give an output size or a scale factor (see <see cref="F.Interpolate"/> for the exact sampling). No parameters.</remarks>
/// <example><code>var up = new Upsample(scaleFactor: 2.0, mode: InterpolationMode.Bilinear);</code></example>
public sealed class Upsample : Module
{
    private readonly bool _scalarScale;

    /// <summary>Creates the layer with one scale factor for both axes.</summary>
    /// <param name="scaleFactor">Multiplier of H and W (finite, &gt; 0).</param>
    /// <param name="mode">Nearest or bilinear.</param>
    /// <param name="alignCorners">Bilinear only (null means false).</param>
    /// <exception cref="ArgumentException">A bad scale factor, or align_corners with nearest.</exception>
    public Upsample(double scaleFactor, InterpolationMode mode = InterpolationMode.Nearest, bool? alignCorners = null)
        : this(null, (scaleFactor, scaleFactor), mode, alignCorners) => _scalarScale = true;

    /// <summary>Creates the layer with an output size or per-axis scale factors (exactly one of them).</summary>
    /// <param name="size">Output (OutH, OutW), each ≥ 1.</param>
    /// <param name="scaleFactor">Per-axis multipliers (finite, &gt; 0).</param>
    /// <param name="mode">Nearest or bilinear.</param>
    /// <param name="alignCorners">Bilinear only (null means false).</param>
    /// <exception cref="ArgumentException">Both or neither of size and scale factor, a bad scale factor, or align_corners with nearest.</exception>
    /// <exception cref="ShapeException">A non-positive size.</exception>
    public Upsample((int H, int W)? size = null, (double H, double W)? scaleFactor = null, InterpolationMode mode = InterpolationMode.Nearest,
        bool? alignCorners = null)
    {
        if (size.HasValue == scaleFactor.HasValue) throw new ArgumentException("Upsample: give exactly one of size and scale_factor");
        if (size is { } s && (s.H <= 0 || s.W <= 0)) throw new ShapeException($"Upsample: size must be positive, got ({s.H}, {s.W})");
        if (scaleFactor is { } f && !(f.H > 0 && f.W > 0 && double.IsFinite(f.H) && double.IsFinite(f.W)))
            throw new ArgumentException($"Upsample: scale_factor must be finite and positive, got ({f.H}, {f.W})", nameof(scaleFactor));
        if (!Enum.IsDefined(mode)) throw new ArgumentException($"Upsample: unknown mode {(int)mode}", nameof(mode));
        if (mode == InterpolationMode.Nearest && alignCorners.HasValue)
            throw new ArgumentException("Upsample: align_corners only applies to bilinear mode", nameof(alignCorners));
        Size = size;
        ScaleFactor = scaleFactor;
        Mode = mode;
        AlignCorners = alignCorners;
    }

    /// <summary>The output size, or null when a scale factor is used.</summary>
    public (int H, int W)? Size { get; }
    /// <summary>The per-axis scale factors, or null when a size is used.</summary>
    public (double H, double W)? ScaleFactor { get; }
    /// <summary>The sampling mode.</summary>
    public InterpolationMode Mode { get; }
    /// <summary>Bilinear corner alignment (null: false).</summary>
    public bool? AlignCorners { get; }

    /// <summary>Resizes <paramref name="input"/> (N, C, H, W).</summary>
    /// <exception cref="ShapeException">The input is not 4-D or the output would be empty.</exception>
    public override Tensor Forward(Tensor input) => F.Interpolate(input, Size, ScaleFactor, Mode, AlignCorners);

    /// <summary>PyTorch's repr, e.g. <c>scale_factor=2.0, mode=nearest</c> or <c>size=(5, 7), mode=bilinear</c>.</summary>
    protected override string ExtraRepr()
    {
        string mode = Mode == InterpolationMode.Nearest ? "nearest" : "bilinear";
        if (ScaleFactor is not { } f) return $"size=({Size!.Value.H}, {Size.Value.W}), mode={mode}";
        string scale = _scalarScale ? PyFloat(f.H) : $"({PyFloat(f.H)}, {PyFloat(f.W)})";
        return $"scale_factor={scale}, mode={mode}";
    }

    // Python's repr of a float: whole numbers keep ".0".
    private static string PyFloat(double v) =>
        v == Math.Floor(v) && Math.Abs(v) < 1e16 ? v.ToString("0.0", CultureInfo.InvariantCulture) : Repr.Number(v);
}
