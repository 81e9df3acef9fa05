using CnnSharp.Functional;
using CnnSharp.Losses;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Losses;

public sealed class CrossEntropyTests
{
    /// <summary>Per-sample cross-entropy in double: log(sum exp(x - max)) + max - x[t].</summary>
    internal static double[] ReferencePerSample(double[] x, int n, int c, int[] targets) => ReferenceSmoothed(x, n, c, targets, 0);

    /// <summary>Per-sample smoothed cross-entropy in double, from its definition: −Σ_j q_j·log softmax(x)_j with
    /// q = (1 − ε)·onehot + ε/C.</summary>
    internal static double[] ReferenceSmoothed(double[] x, int n, int c, int[] targets, double eps)
    {
        var loss = new double[n];
        for (int i = 0; i < n; i++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < c; j++) max = Math.Max(max, x[i * c + j]);
            double sum = 0;
            for (int j = 0; j < c; j++) sum += Math.Exp(x[i * c + j] - max);
            double lse = max + Math.Log(sum);
            for (int j = 0; j < c; j++) loss[i] -= ((j == targets[i] ? 1 - eps : 0) + eps / c) * (x[i * c + j] - lse);
        }
        return loss;
    }

    internal static double[] Reduce(double[] perSample, Reduction r) => r switch
    {
        Reduction.None => perSample,
        Reduction.Sum => [perSample.Sum()],
        _ => [perSample.Average()],
    };

    public static TheoryData<int, int, Reduction> Cases => new()
    {
        { 1, 2, Reduction.Mean }, { 4, 10, Reduction.Mean }, { 7, 3, Reduction.Sum }, { 5, 6, Reduction.None }, { 3, 1, Reduction.Mean },
    };

    private static int[] Targets(int n, int c, int seed)
    {
        var g = new Generator((ulong)seed);
        return [.. Enumerable.Range(0, n).Select(_ => g.NextInt(c))];
    }

    [Theory, MemberData(nameof(Cases))]
    public void Forward_matches_double_reference(int n, int c, Reduction r)
    {
        var x = GradCheck.RandomValues(n * c, seed: n * 31 + c, lo: -4f, hi: 4f);
        var t = Targets(n, c, n + c);
        var expected = Reduce(ReferencePerSample(TensorAssert.ToDouble(x), n, c, t), r);
        var y = F.CrossEntropy(Tensor.FromArray(x, n, c), t, r);
        if (r == Reduction.None) TensorAssert.ShapeIs(y, n);
        else Assert.Equal(0, y.Rank);
        TensorAssert.Close(expected, y, Tolerance.Float32);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Backward_matches_finite_differences(int n, int c, Reduction r)
    {
        var x = GradCheck.RandomValues(n * c, seed: n * 17 + c, lo: -3f, hi: 3f);
        var t = Targets(n, c, n * c);
        GradCheck.Check([n, c], x, v => F.CrossEntropy(v, t, r), d => Reduce(ReferencePerSample(d, n, c, t), r));
    }

    public static TheoryData<int, int, Reduction, float> SmoothingCases => new()
    {
        { 4, 10, Reduction.Mean, 0.1f }, { 7, 3, Reduction.Sum, 0.5f }, { 5, 6, Reduction.None, 1f }, { 3, 1, Reduction.Mean, 0.2f },
    };

    [Theory, MemberData(nameof(SmoothingCases))]
    public void Label_smoothing_forward_matches_double_reference(int n, int c, Reduction r, float eps)
    {
        var x = GradCheck.RandomValues(n * c, seed: n * 13 + c, lo: -4f, hi: 4f);
        var t = Targets(n, c, n + 2 * c);
        var expected = Reduce(ReferenceSmoothed(TensorAssert.ToDouble(x), n, c, t, eps), r);
        TensorAssert.Close(expected, F.CrossEntropy(Tensor.FromArray(x, n, c), t, r, eps), Tolerance.Float32);
    }

    [Theory, MemberData(nameof(SmoothingCases))]
    public void Label_smoothing_backward_matches_finite_differences(int n, int c, Reduction r, float eps)
    {
        var x = GradCheck.RandomValues(n * c, seed: n * 19 + c, lo: -3f, hi: 3f);
        var t = Targets(n, c, 3 * n + c);
        GradCheck.Check([n, c], x, v => F.CrossEntropy(v, t, r, eps), d => Reduce(ReferenceSmoothed(d, n, c, t, eps), r));
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.1f)]
    [InlineData(0.7f)]
    public void Fused_kernel_equals_autograd_with_label_smoothing(float eps)
    {
        const int n = 6, c = 5;
        var x = GradCheck.RandomValues(n * c, seed: 77, lo: -3f, hi: 3f);
        var t = Targets(n, c, 5);
        var logits = Tensor.FromArray(x, n, c).RequiresGrad_();
        var loss = F.CrossEntropy(logits, t, labelSmoothing: eps);
        loss.Backward();
        var grad = new float[n * c];
        double fused = CnnSharp.Kernels.CrossEntropyKernels.ForwardBackward(x, t, grad, n, c, eps);
        Assert.Equal(loss.Item(), fused, 5);
        TensorAssert.Close(TensorAssert.ToDouble(logits.Grad!.ToArray()), Tensor.FromArray(grad, n, c), Tolerance.Float32);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void Label_smoothing_outside_0_1_is_refused(float eps)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => F.CrossEntropy(Tensor.FromArray([1f, 2f], 1, 2), [0], labelSmoothing: eps));
        Assert.Contains("label smoothing", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(labelSmoothing: eps));
    }

    [Fact]
    public void Mean_gradient_is_softmax_minus_onehot_over_batch()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 0f, 0f, 0f], 2, 3).RequiresGrad_();
        F.CrossEntropy(x, [2, 0]).Backward();
        double z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        double[] expected =
        [
            Math.Exp(1) / z / 2, Math.Exp(2) / z / 2, (Math.Exp(3) / z - 1) / 2,
            (1.0 / 3 - 1) / 2, 1.0 / 3 / 2, 1.0 / 3 / 2,
        ];
        TensorAssert.Close(expected, x.Grad!, Tolerance.Float32);
    }

    [Fact]
    public void Huge_logits_stay_finite()
    {
        var x = Tensor.FromArray([1000f, -1000f, 999f, 1e30f, 0f, -1e30f], 2, 3).RequiresGrad_();
        var y = F.CrossEntropy(x, [2, 1], Reduction.None);
        // Row 0: log(1 + e^-1 + e^-2000) + 1 = 1.3132617; row 1: the target is 1e30 below the max.
        Assert.Equal(1.3132617, y.Data[0], 5);
        Assert.Equal(1e30f, y.Data[1]);
        y.Sum().Backward();
        Assert.All(x.Grad!.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData("cross_entropy_mean_n6_c5")]
    [InlineData("cross_entropy_sum_n4_c3")]
    [InlineData("cross_entropy_mean_large_n3_c5")]
    [InlineData("cross_entropy_smooth0.1_mean_n6_c5")]
    [InlineData("cross_entropy_smooth0.3_sum_n4_c3")]
    [InlineData("cross_entropy_smooth0.2_none_n5_c10")]
    public void Matches_pytorch_fixture(string name)
    {
        var fx = Fixture.Load(name);
        var x = fx.Input("input").ToTensor().RequiresGrad_();
        int[] targets = Array.ConvertAll(fx.Input("target").ToInt64Array(), t => (int)t);
        var reduction = fx.String("reduction") switch { "sum" => Reduction.Sum, "none" => Reduction.None, _ => Reduction.Mean };
        float eps = fx.HasParam("label_smoothing") ? (float)fx.Double("label_smoothing") : 0f;
        var y = new CrossEntropyLoss(reduction, eps).Forward(x, targets);
        TensorAssert.Close(fx.Output().Data, y, Tolerance.Float32, $"{name} output");
        var upstream = fx.GradOutput();
        y.Backward(reduction == Reduction.None ? upstream.ToTensor() : Tensor.Scalar(upstream.ToFloatArray()[0]));
        TensorAssert.Close(fx.Grad("input").Data, x.Grad!, Tolerance.Float32, $"{name} grad");
    }

    [Fact]
    public void Grad_accumulates_and_targets_are_copied()
    {
        var x = Tensor.FromArray([0.5f, -0.5f, 2f, 1f], 2, 2).RequiresGrad_();
        var targets = new[] { 0, 1 };
        var y = F.CrossEntropy(x, targets);
        targets[0] = 1; // mutating the caller's array after the forward must not change the backward
        y.Backward();
        var first = x.Grad!.ToArray();
        F.CrossEntropy(x, [0, 1]).Backward();
        TensorAssert.Close(first.Select(v => 2f * v).ToArray(), x.Grad!.Data, Tolerance.Float32);
        Assert.True(first[0] < 0 && first[3] < 0, "the target logits get negative gradients");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(-1)]
    public void Target_out_of_range_throws_naming_index_and_class_count(int bad)
    {
        var x = Tensor.Zeros(3, 10);
        var ex = Assert.Throws<ArgumentException>(() => F.CrossEntropy(x, [1, bad, 2]));
        Assert.Contains($"target {bad} at index 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("10 classes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Batch_size_mismatch_throws_shape_exception()
    {
        var ex = Assert.Throws<ShapeException>(() => F.CrossEntropy(Tensor.Zeros(3, 10), [1, 2]));
        Assert.Contains("(3, 10)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2 targets", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_2d_input_throws_shape_exception()
    {
        var ex = Assert.Throws<ShapeException>(() => F.CrossEntropy(Tensor.Zeros(2, 3, 4), [0, 1]));
        Assert.Contains("(2, 3, 4)", ex.Message, StringComparison.Ordinal);
    }
}
