namespace CnnSharp.Cli.Rendering;

/// <summary>
/// An <see cref="ICanvas"/> on an 8-bit RGB pixel buffer, for PNG output: axis-aligned fills, lines stamped with a square
/// pen (no anti-aliasing) and text in <see cref="BitmapFont"/>.
/// </summary>
internal sealed class RasterCanvas : ICanvas
{
    /// <summary>The largest side accepted: the charts are at most a few thousand pixels; this bounds the buffer.</summary>
    public const int MaxSide = 16_384;

    public RasterCanvas(int width, int height, Rgb background)
    {
        if (width is < 1 or > MaxSide || height is < 1 or > MaxSide)
            throw new ArgumentOutOfRangeException(nameof(width), $"a raster image is 1 to {MaxSide} pixels a side, got {width}x{height}");
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 3];
        FillRectangle(0, 0, width, height, background);
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Row-major RGB bytes, <c>Width * Height * 3</c>.</summary>
    public byte[] Pixels { get; }

    /// <summary>The colour at (x, y).</summary>
    public Rgb this[int x, int y]
    {
        get
        {
            int i = (y * Width + x) * 3;
            return new Rgb(Pixels[i], Pixels[i + 1], Pixels[i + 2]);
        }
    }

    public void FillRectangle(double x, double y, double w, double h, Rgb color, string? role = null)
    {
        int x0 = Math.Max(0, (int)Math.Round(x)), y0 = Math.Max(0, (int)Math.Round(y));
        int x1 = Math.Min(Width, (int)Math.Round(x + w)), y1 = Math.Min(Height, (int)Math.Round(y + h));
        for (int py = y0; py < y1; py++)
            for (int px = x0; px < x1; px++) Set(px, py, color);
    }

    public void Line(double x1, double y1, double x2, double y2, Rgb color, double thickness = 1)
    {
        int pen = Math.Max(1, (int)Math.Round(thickness));
        double steps = Math.Max(1, Math.Ceiling(Math.Max(Math.Abs(x2 - x1), Math.Abs(y2 - y1))));
        for (int i = 0; i <= steps; i++)
        {
            double t = i / steps;
            Stamp(x1 + (x2 - x1) * t, y1 + (y2 - y1) * t, pen, color);
        }
    }

    public void Polyline(IReadOnlyList<(double X, double Y)> points, Rgb color, double thickness, string? role = null)
    {
        if (points.Count == 1)
        {
            Stamp(points[0].X, points[0].Y, Math.Max(2, (int)Math.Round(2 * thickness)), color);
            return;
        }
        for (int i = 1; i < points.Count; i++) Line(points[i - 1].X, points[i - 1].Y, points[i].X, points[i].Y, color, thickness);
    }

    public void Text(double x, double y, string text, Rgb color, TextAnchor anchor = TextAnchor.Start, int scale = 1)
    {
        int width = BitmapFont.Measure(text, scale);
        int left = (int)Math.Round(anchor switch { TextAnchor.Middle => x - width / 2.0, TextAnchor.End => x - width, _ => x });
        // Centre the 7 rows above the baseline on y.
        int top = (int)Math.Round(y - 3.5 * scale);
        for (int i = 0; i < text.Length; i++)
        {
            var glyph = BitmapFont.Glyph(text[i]);
            int gx = left + i * BitmapFont.CellWidth * scale;
            for (int r = 0; r < BitmapFont.GlyphRows; r++)
                for (int c = 0; c < 5; c++)
                    if (glyph[r, c]) FillRectangle(gx + c * scale, top + r * scale, scale, scale, color);
        }
    }

    /// <summary>A square of side <paramref name="pen"/> centred on (x, y).</summary>
    private void Stamp(double x, double y, int pen, Rgb color) => FillRectangle(x - pen / 2.0, y - pen / 2.0, pen, pen, color);

    private void Set(int x, int y, Rgb color)
    {
        int i = (y * Width + x) * 3;
        Pixels[i] = color.R;
        Pixels[i + 1] = color.G;
        Pixels[i + 2] = color.B;
    }
}
