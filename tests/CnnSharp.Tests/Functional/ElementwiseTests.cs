using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class ElementwiseTests
{
    public static TheoryData<int[], int[]> BroadcastShapes => new()
    {
        { [2, 3], [2, 3] },
        { [2, 3], [3] },
        { [2, 1, 4], [3, 1] },
        { [1], [2, 3] },
        { [4, 1, 1], [1, 2, 3] },
    };

    /// <summary>For every output element of broadcasting <paramref name="sa"/> with <paramref name="sb"/>: the flat indices it reads in a and b.</summary>
    internal static (int[] A, int[] B) BroadcastIndices(int[] sa, int[] sb)
    {
        int rank = Math.Max(sa.Length, sb.Length);
        int[] Pad(int[] s) => Enumerable.Repeat(1, rank - s.Length).Concat(s).ToArray();
        int[] pa = Pad(sa), pb = Pad(sb);
        var so = pa.Zip(pb, Math.Max).ToArray();
        int n = so.Aggregate(1, (x, y) => x * y);
        var ia = new int[n];
        var ib = new int[n];
        var idx = new int[rank];
        for (int i = 0; i < n; i++)
        {
            int rem = i;
            for (int d = rank - 1; d >= 0; d--) { idx[d] = rem % so[d]; rem /= so[d]; }
            for (int d = 0; d < rank; d++)
            {
                ia[i] = ia[i] * pa[d] + (pa[d] == 1 ? 0 : idx[d]);
                ib[i] = ib[i] * pb[d] + (pb[d] == 1 ? 0 : idx[d]);
            }
        }
        return (ia, ib);
    }

    internal static double[] RefBinary(double[] a, int[] sa, double[] b, int[] sb, Func<double, double, double> f)
    {
        var (ia, ib) = BroadcastIndices(sa, sb);
        var result = new double[ia.Length];
        for (int i = 0; i < result.Length; i++) result[i] = f(a[ia[i]], b[ib[i]]);
        return result;
    }

    [Theory, MemberData(nameof(BroadcastShapes))]
    public void Binary_ops_match_reference_and_finite_differences(int[] sa, int[] sb)
    {
        int na = sa.Aggregate(1, (x, y) => x * y), nb = sb.Aggregate(1, (x, y) => x * y);
        var a = GradCheck.RandomValues(na, 1);
        var b = GradCheck.RandomValues(nb, 2, 0.5f, 2f); // away from zero for division
        var ops = new (Func<Tensor, Tensor, Tensor> Op, Func<double, double, double> Ref)[]
        {
            (F.Add, (x, y) => x + y), (F.Sub, (x, y) => x - y), (F.Mul, (x, y) => x * y), (F.Div, (x, y) => x / y),
        };
        foreach (var (op, refFn) in ops)
        {
            var y = op(Tensor.FromArray(a, sa), Tensor.FromArray(b, sb));
            TensorAssert.Close(RefBinary(TensorAssert.ToDouble(a), sa, TensorAssert.ToDouble(b), sb, refFn), y, Tolerance.Float32);
            GradCheck.Check([sa, sb], [a, b], t => op(t[0], t[1]), d => RefBinary(d[0], sa, d[1], sb, refFn));
        }
    }

    [Fact]
    public void Incompatible_shapes_throw_naming_both()
    {
        var ex = Assert.Throws<ShapeException>(() => F.Add(Tensor.Zeros(2, 3), Tensor.Zeros(4)));
        Assert.Contains("(2, 3)", ex.Message);
        Assert.Contains("(4)", ex.Message);
    }

    [Fact]
    public void Unary_ops_match_reference_and_finite_differences()
    {
        var x = GradCheck.RandomValues(12, 3, 0.2f, 2f);
        GradCheck.Check([3, 4], x, F.Exp, d => d.Select(v => Math.Exp(v)).ToArray());
        GradCheck.Check([3, 4], x, F.Log, d => d.Select(v => Math.Log(v)).ToArray());
        GradCheck.Check([3, 4], x, t => F.Affine(t, -1.5f, 0.25f), d => d.Select(v => v * -1.5 + 0.25).ToArray());
        TensorAssert.Close(x.Select(v => Math.Exp(v)).ToArray(), F.Exp(Tensor.FromArray(x, 12)), Tolerance.Float32);
    }

    [Fact]
    public void Reductions_match_reference_and_finite_differences()
    {
        var x = GradCheck.RandomValues(24, 4);
        int[] shape = [2, 3, 4];
        double[] SumDim(double[] d, int dim, double scale)
        {
            var (outer, size, inner) = dim switch { 0 => (1, 2, 12), 1 => (2, 3, 4), _ => (6, 4, 1) };
            var r = new double[outer * inner];
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < size; k++)
                    for (int i = 0; i < inner; i++)
                        r[o * inner + i] += d[(o * size + k) * inner + i] * scale;
            return r;
        }
        for (int dim = 0; dim < 3; dim++)
        {
            int d = dim;
            GradCheck.Check(shape, x, t => F.Sum(t, d), v => SumDim(v, d, 1));
            GradCheck.Check(shape, x, t => F.Mean(t, d, keepDim: true), v => SumDim(v, d, 1.0 / shape[d]));
        }
        GradCheck.Check(shape, x, F.Sum, v => [v.Sum()]);
        GradCheck.Check(shape, x, F.Mean, v => [v.Average()]);
        TensorAssert.ShapeIs(F.Sum(Tensor.FromArray(x, shape), 1), 2, 4);
        TensorAssert.ShapeIs(F.Mean(Tensor.FromArray(x, shape), 1, keepDim: true), 2, 1, 4);
    }

    [Fact]
    public void ArgMax_returns_first_index_of_the_maximum_per_row()
    {
        var x = Tensor.FromArray([1f, 5f, 5f, 0f, -1f, -2f, 3f, 3f], 2, 4);
        Assert.Equal(new[] { 1, 2 }, F.ArgMax(x, 1));
        Assert.Equal(new[] { 0, 0, 0, 1 }, F.ArgMax(x, 0));
    }
}
