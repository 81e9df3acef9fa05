using System.Globalization;

namespace CnnSharp.Cli.Rendering;

/// <summary>
/// Draws a metrics log as two panels, loss and accuracy against epoch, with one line per measured series (train,
/// validation, test) and a legend. A series with no value at all is left out; a null inside a series breaks its line.
/// </summary>
internal static class TrainingCurves
{
    public const int Width = 960, Height = 440;

    /// <summary>The series in drawing order: metric property, legend label, colour.</summary>
    private static readonly (string Name, string Label, Rgb Color)[] s_series =
    [
        ("train", "train", new Rgb(31, 119, 180)),
        ("val", "validation", new Rgb(255, 127, 14)),
        ("test", "test", new Rgb(44, 160, 44)),
    ];

    private static readonly Rgb s_axis = new(60, 60, 60), s_grid = new(225, 225, 225);

    /// <summary>Draws <paramref name="epochs"/> on <paramref name="canvas"/> (<see cref="Width"/> x <see cref="Height"/>).</summary>
    public static void Draw(ICanvas canvas, IReadOnlyList<EpochMetrics> epochs, string title)
    {
        canvas.FillRectangle(0, 0, canvas.Width, canvas.Height, Rgb.White);
        canvas.Text(canvas.Width / 2.0, 18, title, Rgb.Black, TextAnchor.Middle, 2);
        var loss = Series(epochs, e => [e.TrainLoss, e.ValLoss, e.TestLoss]);
        var accuracy = Series(epochs, e => [e.TrainAccuracy, e.ValAccuracy, e.TestAccuracy]);
        int first = epochs.Min(e => e.Epoch), last = epochs.Max(e => e.Epoch);
        Panel(canvas, 60, 50, 400, 320, "loss", "loss", loss, first, last, percent: false);
        Panel(canvas, 540, 50, 400, 320, "accuracy", "accuracy", accuracy, first, last, percent: true);
        Legend(canvas, loss.Concat(accuracy).Where(s => s.Points.Count > 0).Select(s => s.Index).Distinct().Order());
    }

    private sealed record Line(int Index, string Metric, List<(int Epoch, double? Value)> Points);

    /// <summary>Per series, the (epoch, value) pairs in epoch order; a series never measured has no points.</summary>
    private static List<Line> Series(IReadOnlyList<EpochMetrics> epochs, Func<EpochMetrics, double?[]> values)
    {
        var ordered = epochs.OrderBy(e => e.Epoch).ToList();
        var lines = new List<Line>();
        for (int s = 0; s < s_series.Length; s++)
        {
            var points = ordered.Select(e => (e.Epoch, values(e)[s])).ToList();
            lines.Add(new Line(s, s_series[s].Name, points.Any(p => p.Item2 is not null) ? points : []));
        }
        return lines;
    }

    private static void Panel(ICanvas canvas, double left, double top, double width, double height, string title, string metric,
        List<Line> lines, int first, int last, bool percent)
    {
        double right = left + width, bottom = top + height;
        canvas.Text(left + width / 2, top - 12, title, Rgb.Black, TextAnchor.Middle);
        var values = lines.SelectMany(l => l.Points).Where(p => p.Value is not null).Select(p => p.Value!.Value).ToList();
        if (values.Count == 0)
        {
            canvas.Text(left + width / 2, top + height / 2, "not measured", s_axis, TextAnchor.Middle);
            Frame(canvas, left, top, right, bottom);
            return;
        }
        // Loss from 0; accuracy around its values, within [0, 1] when they are (both bounds are multiples of any step).
        var y = AxisScale.Nice(percent ? values.Min() : Math.Min(values.Min(), 0), values.Max());
        if (percent) y = y with { Min = Math.Max(y.Min, 0), Max = values.Max() <= 1 ? Math.Min(y.Max, 1) : y.Max };
        var x = new AxisScale(first - 0.5, last + 0.5, 1);
        foreach (double tick in y.Ticks())
        {
            double py = y.Map(tick, bottom, top);
            canvas.Line(left, py, right, py, s_grid);
            canvas.Text(left - 6, py, percent ? (tick * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%" : tick.ToString("0.###", CultureInfo.InvariantCulture),
                s_axis, TextAnchor.End);
        }
        int epochStep = Math.Max(1, (int)AxisScale.Nice(0, last - first + 1, 8).Step);
        for (int e = first; e <= last; e += epochStep)
        {
            double px = x.Map(e, left, right);
            canvas.Line(px, bottom, px, bottom + 4, s_axis);
            canvas.Text(px, bottom + 12, e.ToString(CultureInfo.InvariantCulture), s_axis, TextAnchor.Middle);
        }
        canvas.Text(left + width / 2, bottom + 30, "epoch", s_axis, TextAnchor.Middle);
        Frame(canvas, left, top, right, bottom);
        foreach (var line in lines.Where(l => l.Points.Count > 0))
        {
            var color = s_series[line.Index].Color;
            string role = $"series {line.Metric}_{metric}";
            // Consecutive measured epochs form one segment; a null ends it.
            var segment = new List<(double X, double Y)>();
            foreach (var (epoch, value) in line.Points.Append((int.MaxValue, null)))
            {
                if (value is double v)
                {
                    segment.Add((x.Map(epoch, left, right), y.Map(v, bottom, top)));
                    continue;
                }
                if (segment.Count > 0) canvas.Polyline(segment, color, 2, role);
                segment = [];
            }
        }
    }

    private static void Frame(ICanvas canvas, double left, double top, double right, double bottom)
    {
        canvas.Line(left, top, right, top, s_axis);
        canvas.Line(left, bottom, right, bottom, s_axis);
        canvas.Line(left, top, left, bottom, s_axis);
        canvas.Line(right, top, right, bottom, s_axis);
    }

    private static void Legend(ICanvas canvas, IEnumerable<int> present)
    {
        double x = canvas.Width / 2.0 - 150;
        foreach (int s in present)
        {
            var (_, label, color) = s_series[s];
            canvas.FillRectangle(x, Height - 26, 24, 4, color, $"legend {s_series[s].Name}");
            canvas.Text(x + 30, Height - 24, label, Rgb.Black);
            x += 40 + BitmapFont.Measure(label, 1) + 20;
        }
    }
}
