namespace CnnSharp.Data.Transforms;

/// <summary>
/// A random rotation, translation and scaling about the image centre, like torchvision's
/// <c>RandomAffine(degrees, translate, scale, interpolation, fill)</c> on a tensor (no shear).
/// </summary>
/// <remarks>
/// <para>Parameters, drawn in torchvision's order: the angle <c>a</c> uniform in [<see cref="Degrees"/>.Min,
/// Max] (degrees; a positive angle turns the content clockwise on screen, the convention of torchvision's
/// <c>F.affine</c>, which <c>RandomAffine</c> calls); with <see cref="Translate"/> = (fx, fy), the shifts
/// <c>tx = round(u(-fx W, fx W))</c> and then <c>ty = round(u(-fy H, fy H))</c> in whole pixels (round half to even,
/// as Python's <c>round</c>); with <see cref="Scale"/>, the factor <c>s</c> uniform in [Min, Max], else 1. A range
/// with Min = Max draws nothing.</para>
/// <para>Mapping (torchvision's <c>_get_inverse_affine_matrix</c> with centre (0, 0) and <c>affine_grid</c> with
/// <c>align_corners=False</c>): in coordinates centred on the image, <c>x' = x - (W - 1) / 2</c>,
/// <c>y' = y - (H - 1) / 2</c> (y down), output pixel (x', y') samples the input at
/// <c>u' = ( cos a (x' - tx) + sin a (y' - ty)) / s</c>, <c>v' = (-sin a (x' - tx) + cos a (y' - ty)) / s</c>,
/// i.e. the inverse of "scale by s, rotate by a, shift by (tx, ty)".</para>
/// <para>Sampling (<c>grid_sample</c>, zero padding) and fill, as torchvision does it: every channel is sampled
/// together with a mask channel of ones. <see cref="Interpolation.Nearest"/> takes the pixel at the rounded position;
/// where that lies outside the image, <see cref="Fill"/>. <see cref="Interpolation.Bilinear"/> weights the four
/// neighbours (outside ones count as 0) giving <c>v</c>, the in-image weights sum to the mask <c>m</c>, and the output
/// is <c>v m + (1 - m) fill</c>; so at the border, where <c>m &lt; 1</c>, an image value is weighted by <c>m</c> twice,
/// exactly as in torchvision. Coordinates are computed in double precision.</para>
/// </remarks>
public sealed class RandomAffine : ITransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="degrees">Rotation range: the angle is uniform in [-degrees, degrees]; 0 disables rotation.</param>
    /// <param name="translate">Maximal shift as a fraction of the width and the height, each in [0, 1]; null for none.</param>
    /// <param name="scale">Scale range (Min &lt;= Max, both positive); null for none.</param>
    /// <param name="interpolation">Nearest (torchvision's default) or bilinear.</param>
    /// <param name="fill">Value of the pixels that come from outside the image (default 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range or not finite.</exception>
    public RandomAffine(float degrees, (float X, float Y)? translate = null, (float Min, float Max)? scale = null,
        Interpolation interpolation = Interpolation.Nearest, float fill = 0f)
        : this((-Math.Abs(degrees), Math.Abs(degrees)), translate, scale, interpolation, fill)
    {
    }

    /// <summary>Creates the transform with an explicit angle range.</summary>
    /// <param name="degrees">Rotation range in degrees (Min &lt;= Max).</param>
    /// <param name="translate">Maximal shift as a fraction of the width and the height, each in [0, 1]; null for none.</param>
    /// <param name="scale">Scale range (Min &lt;= Max, both positive); null for none.</param>
    /// <param name="interpolation">Nearest or bilinear.</param>
    /// <param name="fill">Value of the pixels that come from outside the image.</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range or not finite.</exception>
    public RandomAffine((float Min, float Max) degrees, (float X, float Y)? translate = null, (float Min, float Max)? scale = null,
        Interpolation interpolation = Interpolation.Nearest, float fill = 0f)
    {
        if (!float.IsFinite(degrees.Min) || !float.IsFinite(degrees.Max) || degrees.Min > degrees.Max)
            throw new ArgumentOutOfRangeException(nameof(degrees), degrees, "RandomAffine: degrees must be finite with Min <= Max");
        if (translate is { } t && !(t.X >= 0 && t.X <= 1 && t.Y >= 0 && t.Y <= 1))
            throw new ArgumentOutOfRangeException(nameof(translate), translate, "RandomAffine: translate fractions must be in [0, 1]");
        if (scale is { } s && !(s.Min > 0 && s.Min <= s.Max && float.IsFinite(s.Max)))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "RandomAffine: scale must be positive and finite with Min <= Max");
        if (!Enum.IsDefined(interpolation))
            throw new ArgumentOutOfRangeException(nameof(interpolation), interpolation, "RandomAffine: unknown interpolation");
        if (!float.IsFinite(fill))
            throw new ArgumentOutOfRangeException(nameof(fill), fill, "RandomAffine: fill must be finite");
        Degrees = degrees;
        Translate = translate;
        Scale = scale;
        Interpolation = interpolation;
        Fill = fill;
    }

    /// <summary>Rotation range in degrees.</summary>
    public (float Min, float Max) Degrees { get; }

    /// <summary>Maximal shift as fractions of width and height, or null.</summary>
    public (float X, float Y)? Translate { get; }

    /// <summary>Scale range, or null.</summary>
    public (float Min, float Max)? Scale { get; }

    /// <summary>The sampling mode.</summary>
    public Interpolation Interpolation { get; }

    /// <summary>Value of the pixels that come from outside the image.</summary>
    public float Fill { get; }

    /// <inheritdoc/>
    public Shape OutputShape(Shape input)
    {
        ImageShape.Chw(input, nameof(RandomAffine));
        return input;
    }

    /// <summary>Draws the parameters for an image of <paramref name="width"/> x <paramref name="height"/>: angle (degrees), shifts (pixels), scale.</summary>
    public (double Angle, int ShiftX, int ShiftY, double Scale) DrawParameters(int width, int height, Generator random)
    {
        ArgumentNullException.ThrowIfNull(random);
        double angle = Uniform(random, Degrees.Min, Degrees.Max);
        int tx = 0, ty = 0;
        if (Translate is { } t)
        {
            double maxX = t.X * (double)width, maxY = t.Y * (double)height;
            tx = (int)Math.Round(Uniform(random, -maxX, maxX), MidpointRounding.ToEven);
            ty = (int)Math.Round(Uniform(random, -maxY, maxY), MidpointRounding.ToEven);
        }
        double scale = Scale is { } s ? Uniform(random, s.Min, s.Max) : 1.0;
        return (angle, tx, ty, scale);
    }

    /// <inheritdoc/>
    public void Apply(ReadOnlySpan<float> source, Shape inputShape, Span<float> destination, Generator random)
    {
        var (c, h, w) = ImageShape.Chw(inputShape, nameof(RandomAffine));
        ImageShape.CheckSpans(source, inputShape, destination, inputShape, nameof(RandomAffine));
        var (angle, tx, ty, scale) = DrawParameters(w, h, random);
        Warp(source, c, h, w, destination, angle, tx, ty, scale, Interpolation, Fill);
    }

    /// <summary>Applies the affine map with fixed parameters (see the remarks for the exact formulas).</summary>
    internal static void Warp(ReadOnlySpan<float> source, int c, int h, int w, Span<float> destination,
        double angleDegrees, int tx, int ty, double scale, Interpolation interpolation, float fill)
    {
        double rad = angleDegrees * (Math.PI / 180.0);
        double cos = Math.Cos(rad) / scale, sin = Math.Sin(rad) / scale;
        double cx = (w - 1) * 0.5, cy = (h - 1) * 0.5;
        int plane = h * w;
        for (int y = 0; y < h; y++)
        {
            double dy = y - cy - ty;
            for (int x = 0; x < w; x++)
            {
                double dx = x - cx - tx;
                double u = cos * dx + sin * dy + cx;   // source column
                double v = -sin * dx + cos * dy + cy;  // source row
                int o = y * w + x;
                if (interpolation == Interpolation.Nearest)
                {
                    int su = (int)Math.Round(u, MidpointRounding.ToEven), sv = (int)Math.Round(v, MidpointRounding.ToEven);
                    bool inside = (uint)su < (uint)w && (uint)sv < (uint)h;
                    for (int ch = 0; ch < c; ch++)
                        destination[ch * plane + o] = inside ? source[ch * plane + sv * w + su] : fill;
                    continue;
                }
                double fu = Math.Floor(u), fv = Math.Floor(v);
                int u0 = (int)fu, v0 = (int)fv;
                double au = u - fu, av = v - fv;
                // Weights of the four neighbours, zeroed outside the image (grid_sample's zero padding).
                double w00 = Tap(u0, v0, w, h) * (1 - au) * (1 - av), w01 = Tap(u0 + 1, v0, w, h) * au * (1 - av);
                double w10 = Tap(u0, v0 + 1, w, h) * (1 - au) * av, w11 = Tap(u0 + 1, v0 + 1, w, h) * au * av;
                double mask = w00 + w01 + w10 + w11;
                for (int ch = 0; ch < c; ch++)
                {
                    var p = source.Slice(ch * plane, plane);
                    double value = 0;
                    if (w00 != 0) value += w00 * p[v0 * w + u0];
                    if (w01 != 0) value += w01 * p[v0 * w + u0 + 1];
                    if (w10 != 0) value += w10 * p[(v0 + 1) * w + u0];
                    if (w11 != 0) value += w11 * p[(v0 + 1) * w + u0 + 1];
                    destination[ch * plane + o] = (float)(value * mask + (1 - mask) * fill);
                }
            }
        }
    }

    private static double Tap(int u, int v, int w, int h) => (uint)u < (uint)w && (uint)v < (uint)h ? 1.0 : 0.0;

    /// <summary>Uniform in [min, max]; no draw when the range is a point (so a disabled parameter consumes nothing).</summary>
    private static double Uniform(Generator random, double min, double max) => min == max ? min : min + (max - min) * random.NextDouble();
}
