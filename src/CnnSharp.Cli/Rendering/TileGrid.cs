namespace CnnSharp.Cli.Rendering;

/// <summary>
/// Lays out equally sized images ("tiles": filters, feature maps) in a near-square grid on a raster, each pixel drawn as a
/// <c>zoom</c> x <c>zoom</c> block, with a gap of background between tiles. Values are min-max scaled per tile.
/// </summary>
internal static class TileGrid
{
    public const int Gap = 2;

    private static readonly Rgb s_background = new(200, 200, 200);

    /// <summary>Columns of the grid for <paramref name="count"/> tiles: the ceiling of the square root.</summary>
    public static int Columns(int count) => (int)Math.Ceiling(Math.Sqrt(count));

    /// <summary>
    /// Draws <paramref name="count"/> tiles of <paramref name="height"/> x <paramref name="width"/>; tile t's value at
    /// (channel c, y, x) is <paramref name="value"/>(t, c, y, x), with <paramref name="channels"/> 1 (gray) or 3 (RGB).
    /// </summary>
    /// <remarks>
    /// Each tile is scaled on its own from its minimum (black) to its maximum (white), over all its channels, as
    /// torchvision's <c>make_grid(normalize=True, scale_each=True)</c>; a constant tile is drawn black.
    /// </remarks>
    public static RasterCanvas Draw(int count, int channels, int height, int width, int zoom, Func<int, int, int, int, float> value)
    {
        int columns = Columns(count), rows = (count + columns - 1) / columns;
        var canvas = new RasterCanvas(Gap + columns * (width * zoom + Gap), Gap + rows * (height * zoom + Gap), s_background);
        for (int t = 0; t < count; t++)
        {
            float min = float.PositiveInfinity, max = float.NegativeInfinity;
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                    {
                        float v = value(t, c, y, x);
                        min = Math.Min(min, v);
                        max = Math.Max(max, v);
                    }
            double left = Gap + t % columns * (width * zoom + Gap), top = Gap + t / columns * (height * zoom + Gap);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    byte r = Scale(value(t, 0, y, x), min, max);
                    var color = channels == 3 ? new Rgb(r, Scale(value(t, 1, y, x), min, max), Scale(value(t, 2, y, x), min, max)) : new Rgb(r, r, r);
                    canvas.FillRectangle(left + x * zoom, top + y * zoom, zoom, zoom, color);
                }
        }
        return canvas;
    }

    /// <summary>The 8-bit level of <paramref name="v"/> in [min, max]; 0 when the range is empty or not finite.</summary>
    public static byte Scale(float v, float min, float max) =>
        max > min && float.IsFinite(max - min) ? (byte)Math.Round((v - min) / (max - min) * 255) : (byte)0;
}
