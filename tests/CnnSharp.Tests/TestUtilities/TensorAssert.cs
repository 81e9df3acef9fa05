using System.Globalization;

namespace CnnSharp.Tests.TestUtilities;

/// <summary>Element-wise comparisons whose failure message names the index, both values and the worst error.</summary>
public static class TensorAssert
{
    public static void Close(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, Tolerance tol, string what = "values")
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        int bad = -1, badCount = 0;
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!tol.IsClose(expected[i], actual[i]))
            {
                badCount++;
                if (bad < 0) bad = i;
            }
            if (err > worst || double.IsNaN(err)) worst = err;
        }
        if (bad >= 0)
        {
            Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                $"{what}: {badCount}/{expected.Length} elements differ; first at [{bad}]: actual {actual[bad]}, expected {expected[bad]}; max abs error {worst} (rtol {tol.Rtol}, atol {tol.Atol})"));
        }
    }

    public static void Close(ReadOnlySpan<double> expected, Tensor actual, Tolerance tol, string what = "values") =>
        Close(expected, actual.Data, tol, what);

    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, Tolerance tol, string what = "values")
    {
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++) e[i] = expected[i];
        Close(e, actual, tol, what);
    }

    public static void ShapeIs(Tensor t, params int[] dims) =>
        Assert.True(t.Shape.Equals(dims), $"shape {t.Shape}, expected {Shape.Format(dims)}");

    public static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var r = new double[values.Length];
        for (int i = 0; i < r.Length; i++) r[i] = values[i];
        return r;
    }
}
