using System.Globalization;

namespace CnnSharp.Cli.Rendering;

/// <summary>
/// Draws a confusion matrix as a heatmap: row i is true class i, column j predicted class j, each cell shaded from
/// white (0) to dark blue (the largest count in the matrix), with its count written in it when it fits, the class names
/// down the left and the class indices along the top.
/// </summary>
internal static class ConfusionHeatmap
{
    /// <summary>The colour of a count of 0 and of the largest count.</summary>
    public static readonly Rgb Low = new(247, 251, 255), High = new(8, 48, 107);

    private const int Margin = 20, TitleHeight = 40;

    /// <summary>Side of one cell in pixels for <paramref name="classes"/> classes: large enough to hold a count, the whole at most about 800 pixels.</summary>
    public static int CellSize(int classes) => Math.Clamp(800 / classes, 1, 56);

    /// <summary>The image size for <paramref name="matrix"/>.</summary>
    public static (int Width, int Height) Size(ConfusionMatrix matrix)
    {
        int n = matrix.Classes.Count, cell = CellSize(n);
        return (LabelWidth(matrix) + n * cell + 2 * Margin, TitleHeight + 2 * BitmapFont.CellHeight + n * cell + 2 * Margin + BitmapFont.CellHeight);
    }

    /// <summary>The fill of a cell holding <paramref name="count"/> when the largest is <paramref name="max"/>.</summary>
    public static Rgb Fill(long count, long max) => Rgb.Lerp(Low, High, max == 0 ? 0 : (double)count / max);

    public static void Draw(ICanvas canvas, ConfusionMatrix matrix, string title)
    {
        int n = matrix.Classes.Count, cell = CellSize(n);
        long max = matrix.Counts.Max(r => r.Max());
        double left = Margin + LabelWidth(matrix), top = TitleHeight + 2 * BitmapFont.CellHeight;
        canvas.FillRectangle(0, 0, canvas.Width, canvas.Height, Rgb.White);
        canvas.Text(canvas.Width / 2.0, 18, title, Rgb.Black, TextAnchor.Middle, 2);
        canvas.Text(left + n * cell / 2.0, top - 2 * BitmapFont.CellHeight, "predicted", Rgb.Black, TextAnchor.Middle);
        canvas.Text(Margin, top - 2 * BitmapFont.CellHeight, "true", Rgb.Black);
        bool labels = cell >= BitmapFont.CellHeight;
        for (int i = 0; i < n; i++)
        {
            string index = i.ToString(CultureInfo.InvariantCulture);
            if (labels && BitmapFont.Measure(index, 1) <= cell)
                canvas.Text(left + (i + 0.5) * cell, top - BitmapFont.CellHeight / 2.0, index, Rgb.Black, TextAnchor.Middle);
            if (labels) canvas.Text(left - 6, top + (i + 0.5) * cell, RowLabel(matrix, i), Rgb.Black, TextAnchor.End);
            for (int j = 0; j < n; j++)
            {
                long count = matrix.Counts[i][j];
                var fill = Fill(count, max);
                canvas.FillRectangle(left + j * cell, top + i * cell, cell, cell, fill, $"cell {i} {j}");
                string text = count.ToString(CultureInfo.InvariantCulture);
                if (labels && BitmapFont.Measure(text, 1) <= cell - 2)
                    canvas.Text(left + (j + 0.5) * cell, top + (i + 0.5) * cell, text, fill.Luminance < 0.5 ? Rgb.White : Rgb.Black, TextAnchor.Middle);
            }
        }
    }

    /// <summary>"3 Dress", or "3" when the class is named by its index.</summary>
    private static string RowLabel(ConfusionMatrix m, int i)
    {
        string index = i.ToString(CultureInfo.InvariantCulture);
        string name = m.Classes[i].Length > 24 ? m.Classes[i][..23] + "~" : m.Classes[i];
        return name == index ? index : $"{index} {name}";
    }

    private static int LabelWidth(ConfusionMatrix m) =>
        CellSize(m.Classes.Count) >= BitmapFont.CellHeight ? Enumerable.Range(0, m.Classes.Count).Max(i => BitmapFont.Measure(RowLabel(m, i), 1)) + 10 : 0;
}
