using System.Globalization;

namespace CnnSharp.Cli.Rendering;

/// <summary>An opaque 8-bit RGB colour of the charts.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B)
{
    public static Rgb White { get; } = new(255, 255, 255);
    public static Rgb Black { get; } = new(0, 0, 0);

    /// <summary>CSS hex form, <c>#1f77b4</c>.</summary>
    public string Hex => string.Create(CultureInfo.InvariantCulture, $"#{R:x2}{G:x2}{B:x2}");

    /// <summary>The colour <paramref name="t"/> of the way from <paramref name="a"/> to <paramref name="b"/> (t clamped to [0, 1]).</summary>
    public static Rgb Lerp(Rgb a, Rgb b, double t)
    {
        t = Math.Clamp(t, 0, 1);
        return new((byte)Math.Round(a.R + (b.R - a.R) * t), (byte)Math.Round(a.G + (b.G - a.G) * t), (byte)Math.Round(a.B + (b.B - a.B) * t));
    }

    /// <summary>Relative luminance in [0, 1] (BT.601 weights), to choose dark or light text on a fill.</summary>
    public double Luminance => (0.299 * R + 0.587 * G + 0.114 * B) / 255;
}
