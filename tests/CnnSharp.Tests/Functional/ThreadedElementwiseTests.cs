using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

/// <summary>
/// The eager element-wise ops at sizes above <see cref="ElementBlocks"/>' two-block threshold, so forward and backward run
/// split over the worker threads: values against float64 references, and the same bits for 1, 2 and 3 threads. (The
/// small-size tests beside them check the same ops against finite differences.)
/// </summary>
public sealed class ThreadedElementwiseTests
{
    // 53,985 elements: three blocks, the last one 4,833 elements longer than the others.
    private static readonly int[] s_shape = [3, 5, 61, 59];

    private static int Numel(int[] shape) => shape.Aggregate(1, (x, y) => x * y);

    [Fact]
    public void The_test_shape_spans_several_blocks()
    {
        Assert.Equal(3, ElementBlocks.Count(Numel(s_shape)));
        Assert.Equal((32768, 53985), ElementBlocks.Bounds(2, 3, 53985));
    }

    public static TheoryData<string> UnaryOps => new() { "relu", "leaky", "sigmoid", "tanh", "exp", "log", "affine" };

    // The op, its float64 value, and its derivative with respect to x.
    private static (Func<Tensor, Tensor> Op, Func<double, double> Value, Func<double, double> Derivative) Unary(string name) => name switch
    {
        "relu" => (F.Relu, x => Math.Max(x, 0), x => x > 0 ? 1 : 0),
        "leaky" => (x => F.LeakyRelu(x, 0.2f), x => x > 0 ? x : 0.2 * x, x => x > 0 ? 1 : 0.2),
        "sigmoid" => (F.Sigmoid, Sigmoid, x => Sigmoid(x) * (1 - Sigmoid(x))),
        "tanh" => (F.Tanh, Math.Tanh, x => 1 - Math.Tanh(x) * Math.Tanh(x)),
        "exp" => (F.Exp, Math.Exp, Math.Exp),
        "log" => (F.Log, Math.Log, x => 1 / x),
        _ => (x => F.Affine(x, -1.5f, 0.25f), x => x * -1.5 + 0.25, _ => -1.5),
    };

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Theory, MemberData(nameof(UnaryOps))]
    public void Unary_op_above_the_threshold_matches_reference_and_is_thread_invariant(string name)
    {
        var (op, value, derivative) = Unary(name);
        int n = Numel(s_shape);
        var xv = GradCheck.RandomValues(n, 11, name == "log" ? 0.2f : -3f, 3f);
        var gy = GradCheck.RandomValues(n, 12);
        float[][] Run()
        {
            var x = Tensor.FromArray(xv, s_shape).RequiresGrad_();
            var y = op(x);
            y.Backward(Tensor.FromArray(gy, s_shape));
            return [y.ToArray(), x.Grad!.ToArray()];
        }
        var r = Run();
        var xd = TensorAssert.ToDouble(xv);
        TensorAssert.Close(xd.Select(value).ToArray(), r[0], Tolerance.Float32, "forward");
        TensorAssert.Close(xd.Select((x, i) => gy[i] * derivative(x)).ToArray(), r[1], Tolerance.Float32, "gradient");
        ThreadCount.AssertInvariant(Run);
    }

    [Fact]
    public void Dropout_above_the_threshold_scales_kept_values_and_is_thread_invariant()
    {
        int n = Numel(s_shape);
        var xv = GradCheck.RandomValues(n, 13);
        var gy = GradCheck.RandomValues(n, 14);
        float[][] Run()
        {
            var x = Tensor.FromArray(xv, s_shape).RequiresGrad_();
            var y = F.Dropout(x, 0.25f, training: true, new Generator(5));
            y.Backward(Tensor.FromArray(gy, s_shape));
            return [y.ToArray(), x.Grad!.ToArray()];
        }
        var r = Run();
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            bool keep = r[1][i] != 0f || gy[i] == 0f;
            if (keep) kept++;
            Assert.Equal(keep ? xv[i] * (1f / 0.75f) : 0f, r[0][i]);
            Assert.Equal(keep ? gy[i] * (1f / 0.75f) : 0f, r[1][i]);
        }
        Assert.InRange(kept / (double)n, 0.74, 0.76);
        ThreadCount.AssertInvariant(Run);
    }

    public static TheoryData<int[], int[]> BinaryShapes => new()
    {
        { [3, 5, 61, 59], [3, 5, 61, 59] }, // same shape (the residual add): one row, cut into blocks
        { [4, 16, 33, 31], [1, 16, 1, 1] }, // a per-channel bias
        { [1, 16, 1, 1], [4, 16, 33, 31] }, // the same on the left
        { [3, 5, 61, 59], [1] }, // a one-element tensor
        { [], [3, 5, 61, 59] }, // a rank-0 scalar on the left
        { [300, 200], [200] }, // a vector against every row
        { [8, 1, 70, 64], [5, 1, 64] }, // both broadcast, in different dimensions
    };

    private static readonly (string Name, Func<Tensor, Tensor, Tensor> Op, Func<double, double, double> Value,
        Func<double, double, double> Da, Func<double, double, double> Db)[] s_binary =
    [
        ("add", F.Add, (a, b) => a + b, (_, _) => 1, (_, _) => 1),
        ("sub", F.Sub, (a, b) => a - b, (_, _) => 1, (_, _) => -1),
        ("mul", F.Mul, (a, b) => a * b, (_, b) => b, (a, _) => a),
        ("div", F.Div, (a, b) => a / b, (_, b) => 1 / b, (a, b) => -a / (b * b)),
    ];

    [Theory, MemberData(nameof(BinaryShapes))]
    public void Binary_ops_above_the_threshold_match_reference_and_are_thread_invariant(int[] sa, int[] sb)
    {
        var av = GradCheck.RandomValues(Numel(sa), 21);
        var bv = GradCheck.RandomValues(Numel(sb), 22, 0.5f, 2f); // away from zero for division
        var (ia, ib) = ElementwiseTests.BroadcastIndices(sa, sb);
        int n = ia.Length;
        Assert.True(n >= 2 * ElementBlocks.Size, $"output of {n} elements is below the threading threshold");
        var gy = GradCheck.RandomValues(n, 23);
        var outShape = Broadcast.ResultShape(new Shape(sa), new Shape(sb), "test").ToArray();
        foreach (var (name, op, value, da, db) in s_binary)
        {
            float[][] Run()
            {
                var a = Tensor.FromArray(av, sa).RequiresGrad_();
                var b = Tensor.FromArray(bv, sb).RequiresGrad_();
                var y = op(a, b);
                y.Backward(Tensor.FromArray(gy, outShape));
                return [y.ToArray(), a.Grad!.ToArray(), b.Grad!.ToArray()];
            }
            var r = Run();
            var expected = new double[n];
            double[] ga = new double[av.Length], gb = new double[bv.Length], gaAbs = new double[av.Length], gbAbs = new double[bv.Length];
            for (int i = 0; i < n; i++)
            {
                double x = av[ia[i]], z = bv[ib[i]];
                expected[i] = value(x, z);
                ga[ia[i]] += gy[i] * da(x, z);
                gaAbs[ia[i]] += Math.Abs(gy[i] * da(x, z));
                gb[ib[i]] += gy[i] * db(x, z);
                gbAbs[ib[i]] += Math.Abs(gy[i] * db(x, z));
            }
            TensorAssert.Close(expected, r[0], Tolerance.Float32, $"{name} forward");
            AssertSum(ga, gaAbs, r[1], $"{name} gradient of a {Shape.Format(sa)}");
            AssertSum(gb, gbAbs, r[2], $"{name} gradient of b {Shape.Format(sb)}");
            ThreadCount.AssertInvariant(Run);
        }
    }

    // A gradient that sums many float32 terms: its rounding error scales with the sum of the terms' magnitudes.
    private static void AssertSum(double[] expected, double[] magnitude, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = 1e-5 * magnitude[i] + 1e-6;
            if (!(Math.Abs(actual[i] - expected[i]) <= tol)) Assert.Fail($"{what}[{i}]: {actual[i]}, expected {expected[i]} (tolerance {tol})");
        }
    }

    [Fact]
    public void Gradients_from_several_consumers_accumulate_above_the_threshold()
    {
        int n = Numel(s_shape);
        var xv = GradCheck.RandomValues(n, 31);
        var gy = GradCheck.RandomValues(n, 32);
        float[][] Run()
        {
            var x = Tensor.FromArray(xv, s_shape).RequiresGrad_();
            // x reaches y three times: through ReLU, directly, and through a reshape round trip.
            var y = F.Relu(x) + x + x.Reshape(-1).Reshape(s_shape);
            y.Backward(Tensor.FromArray(gy, s_shape));
            return [x.Grad!.ToArray()];
        }
        var r = Run();
        TensorAssert.Close(xv.Select((x, i) => (double)gy[i] * (x > 0 ? 3 : 2)).ToArray(), r[0], Tolerance.Float32);
        ThreadCount.AssertInvariant(Run);
    }

    [Fact]
    public void Block_sum_depends_on_the_values_not_on_where_they_lie()
    {
        var values = GradCheck.RandomValues(1000, 41);
        var shifted = new float[1003];
        values.CopyTo(shifted, 3);
        float sum = ElementBlocks.Sum(values);
        Assert.Equal(BitConverter.SingleToInt32Bits(sum), BitConverter.SingleToInt32Bits(ElementBlocks.Sum(shifted.AsSpan(3))));
        Assert.Equal(values.Sum(v => (double)v), sum, 1e-4);
        Assert.Equal(0f, ElementBlocks.Sum([]));
        Assert.Equal(2.5f, ElementBlocks.Sum([1f, 1.5f]));
    }
}
