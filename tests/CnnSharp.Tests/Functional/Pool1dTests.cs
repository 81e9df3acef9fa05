using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

/// <summary>
/// <c>F.MaxPool1d</c>, <c>F.AvgPool1d</c>, <c>F.AdaptiveAvgPool1d</c> and their modules against float64 loops written from
/// PyTorch's definitions (values and gradients), batched and unbatched, with padding, dilation and ceil mode.
/// </summary>
public sealed class Pool1dTests
{
    private static int OutLength(int l, int k, int s, int p, int d, bool ceil)
    {
        int span = l + 2 * p - d * (k - 1) - 1;
        int o = (ceil ? (span + s - 1) / s : span / s) + 1;
        // Ceil mode drops a last window that would start in the end padding (PyTorch's rule).
        if (ceil && (o - 1) * s >= l + p) o--;
        return o;
    }

    private static double[] MaxRef(double[] x, int planes, int l, int k, int s, int p, int d, bool ceil)
    {
        int o = OutLength(l, k, s, p, d, ceil);
        var y = new double[planes * o];
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < o; i++)
            {
                double m = double.NegativeInfinity;
                for (int j = 0; j < k; j++)
                {
                    int t = i * s - p + j * d;
                    if (t >= 0 && t < l) m = Math.Max(m, x[pl * l + t]);
                }
                y[pl * o + i] = m;
            }
        return y;
    }

    private static double[] AvgRef(double[] x, int planes, int l, int k, int s, int p, bool ceil, bool countPad)
    {
        int o = OutLength(l, k, s, p, 1, ceil);
        var y = new double[planes * o];
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < o; i++)
            {
                int start = i * s - p, end = Math.Min(start + k, l + p);
                double sum = 0;
                int inside = 0;
                for (int t = start; t < end; t++)
                    if (t >= 0 && t < l) { sum += x[pl * l + t]; inside++; }
                y[pl * o + i] = sum / (countPad ? end - start : inside);
            }
        return y;
    }

    private static double[] AdaptiveRef(double[] x, int planes, int l, int o)
    {
        var y = new double[planes * o];
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < o; i++)
            {
                int start = i * l / o, end = ((i + 1) * l + o - 1) / o;
                double sum = 0;
                for (int t = start; t < end; t++) sum += x[pl * l + t];
                y[pl * o + i] = sum / (end - start);
            }
        return y;
    }

    public static TheoryData<int, int, int, int, bool> MaxCases => new()
    {
        { 2, 2, 0, 1, false }, { 3, 2, 1, 1, true }, { 3, 1, 1, 2, false }, { 4, 3, 2, 2, true }, { 5, 2, 2, 1, false },
    };

    [Theory]
    [MemberData(nameof(MaxCases))]
    public void MaxPool1d_matches_the_definition_with_gradients(int k, int s, int p, int d, bool ceil)
    {
        int[] shape = [2, 3, 13];
        var values = GradCheck.DistinctValues(2 * 3 * 13, seed: k * 10 + s);
        var y = F.MaxPool1d(new Tensor(values, new Shape(shape)), k, s, p, d, ceil);
        TensorAssert.ShapeIs(y, 2, 3, OutLength(13, k, s, p, d, ceil));
        GradCheck.Check(shape, values, t => F.MaxPool1d(t, k, s, p, d, ceil),
            x => MaxRef(x, 6, 13, k, s, p, d, ceil));
        Assert.Equal(y.ToArray(), new MaxPool1d(k, s, p, d, ceil).Forward(new Tensor(values, new Shape(shape))).ToArray());
        // Unbatched (C, L).
        TensorAssert.ShapeIs(F.MaxPool1d(new Tensor(values[..39], new Shape(3, 13)), k, s, p, d, ceil), 3, OutLength(13, k, s, p, d, ceil));
    }

    public static TheoryData<int, int, int, bool, bool> AvgCases => new()
    {
        { 2, 2, 0, false, true }, { 3, 2, 1, false, false }, { 3, 2, 1, true, true }, { 4, 3, 2, true, false }, { 3, 1, 1, false, true },
    };

    [Theory]
    [MemberData(nameof(AvgCases))]
    public void AvgPool1d_matches_the_definition_with_gradients(int k, int s, int p, bool ceil, bool countPad)
    {
        int[] shape = [2, 3, 14];
        var values = GradCheck.RandomValues(2 * 3 * 14, seed: k * 10 + s);
        GradCheck.Check(shape, values, t => F.AvgPool1d(t, k, s, p, ceil, countPad), x => AvgRef(x, 6, 14, k, s, p, ceil, countPad));
        var x0 = new Tensor(values, new Shape(shape));
        Assert.Equal(F.AvgPool1d(x0, k, s, p, ceil, countPad).ToArray(), new AvgPool1d(k, s, p, ceil, countPad).Forward(x0).ToArray());
        TensorAssert.ShapeIs(F.AvgPool1d(new Tensor(values[..42], new Shape(3, 14)), k, s, p, ceil, countPad), 3, OutLength(14, k, s, p, 1, ceil));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void AdaptiveAvgPool1d_matches_the_definition_with_gradients(int o)
    {
        int[] shape = [2, 3, 11];
        var values = GradCheck.RandomValues(2 * 3 * 11, seed: o);
        GradCheck.Check(shape, values, t => F.AdaptiveAvgPool1d(t, o), x => AdaptiveRef(x, 6, 11, o));
        var x0 = new Tensor(values, new Shape(shape));
        Assert.Equal(F.AdaptiveAvgPool1d(x0, o).ToArray(), new AdaptiveAvgPool1d(o).Forward(x0).ToArray());
        TensorAssert.ShapeIs(new AdaptiveAvgPool1d(o).Forward(x0), 2, 3, o);
    }

    [Fact]
    public void Wrong_rank_is_refused_by_name()
    {
        var x = Tensor.Zeros(1, 2, 3, 4);
        Assert.Contains("MaxPool1d", Assert.Throws<ShapeException>(() => F.MaxPool1d(x, 2)).Message, StringComparison.Ordinal);
        Assert.Contains("AvgPool1d", Assert.Throws<ShapeException>(() => F.AvgPool1d(x, 2)).Message, StringComparison.Ordinal);
        Assert.Contains("AdaptiveAvgPool1d", Assert.Throws<ShapeException>(() => F.AdaptiveAvgPool1d(x, 2)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAvgPool1d(0));
    }

    [Fact]
    public void Bad_parameters_are_refused_by_the_1d_name()
    {
        var x = Tensor.Zeros(1, 2, 5);
        AssertNamed("MaxPool1d", () => F.MaxPool1d(x, 0));
        AssertNamed("MaxPool1d", () => F.MaxPool1d(x, 9));
        AssertNamed("AvgPool1d", () => F.AvgPool1d(x, 3, padding: 2));
        AssertNamed("AdaptiveAvgPool1d", () => F.AdaptiveAvgPool1d(x, 0));

        static void AssertNamed(string op, Action call)
        {
            var message = Assert.Throws<ShapeException>(call).Message;
            Assert.StartsWith(op + ":", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Repr_matches_pytorch()
    {
        Assert.Equal("MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)", new MaxPool1d(2).ToString());
        Assert.Equal("AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))", new AvgPool1d(3, 2, 1).ToString());
        Assert.Equal("AdaptiveAvgPool1d(output_size=1)", new AdaptiveAvgPool1d(1).ToString());
    }
}
