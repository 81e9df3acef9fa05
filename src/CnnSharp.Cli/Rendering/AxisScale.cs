namespace CnnSharp.Cli.Rendering;

/// <summary>A linear axis from <see cref="Min"/> to <see cref="Max"/> with "nice" tick values (1, 2 or 5 times a power of ten).</summary>
internal sealed record AxisScale(double Min, double Max, double Step)
{
    /// <summary>An axis covering [<paramref name="low"/>, <paramref name="high"/>] with about <paramref name="ticks"/> ticks on round values.</summary>
    public static AxisScale Nice(double low, double high, int ticks = 5)
    {
        if (!(high > low))
        {
            // One value (or none): a unit-wide axis around it.
            double pad = Math.Abs(low) > 0 ? Math.Abs(low) * 0.1 : 0.5;
            (low, high) = (low - pad, high + pad);
        }
        double raw = (high - low) / ticks;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double fraction = raw / magnitude;
        double step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
        return new AxisScale(Math.Floor(low / step) * step, Math.Ceiling(high / step) * step, step);
    }

    /// <summary>The tick values from <see cref="Min"/> to <see cref="Max"/>.</summary>
    public IEnumerable<double> Ticks()
    {
        int count = (int)Math.Round((Max - Min) / Step);
        for (int i = 0; i <= count; i++) yield return Min + i * Step;
    }

    /// <summary>Maps <paramref name="value"/> to the pixel range [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public double Map(double value, double from, double to) => from + (value - Min) / (Max - Min) * (to - from);
}
