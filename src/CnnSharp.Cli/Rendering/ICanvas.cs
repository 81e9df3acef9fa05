namespace CnnSharp.Cli.Rendering;

/// <summary>Where a text's x coordinate is: its left end, centre or right end.</summary>
internal enum TextAnchor
{
    Start,
    Middle,
    End,
}

/// <summary>
/// The drawing surface of the charts, in pixels with y down: the same chart code draws an SVG document
/// (<see cref="SvgCanvas"/>) or a raster image for PNG (<see cref="RasterCanvas"/>).
/// </summary>
/// <remarks>
/// Text uses the metrics of <see cref="BitmapFont"/> in both, so a layout computed for one fits the other: each character
/// is <see cref="BitmapFont.CellWidth"/> x <see cref="BitmapFont.CellHeight"/> pixels times the scale.
/// The optional <c>role</c> names what a shape shows (<c>series train_loss</c>, <c>cell 2 3</c>); the SVG keeps it as
/// attributes so scripts and tests can find the parts, the raster ignores it.
/// </remarks>
internal interface ICanvas
{
    int Width { get; }

    int Height { get; }

    /// <summary>Fills the rectangle from (x, y) of size w x h.</summary>
    void FillRectangle(double x, double y, double w, double h, Rgb color, string? role = null);

    /// <summary>A straight line <paramref name="thickness"/> pixels wide.</summary>
    void Line(double x1, double y1, double x2, double y2, Rgb color, double thickness = 1);

    /// <summary>Connected line segments through <paramref name="points"/> (at least one; one point draws a dot).</summary>
    void Polyline(IReadOnlyList<(double X, double Y)> points, Rgb color, double thickness, string? role = null);

    /// <summary>One line of text whose vertical centre is at <paramref name="y"/>, anchored at <paramref name="x"/>.</summary>
    void Text(double x, double y, string text, Rgb color, TextAnchor anchor = TextAnchor.Start, int scale = 1);
}
