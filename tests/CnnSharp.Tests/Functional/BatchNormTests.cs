using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class BatchNormTests
{
    // S = 1, 4, 15, 25, 7 take the scalar kernel path; S = 36, 40 the vectorised one (BatchNormKernels.VectorSegment).
    public static TheoryData<int[]> Shapes => new()
    {
        new[] { 5, 3 }, new[] { 2, 3, 4 }, new[] { 3, 2, 3, 5 }, new[] { 2, 4, 5, 5 }, new[] { 1, 2, 7 }, new[] { 2, 2, 6, 6 }, new[] { 3, 2, 40 },
    };

    private static int Numel(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    [Theory, MemberData(nameof(Shapes))]
    public void Training_forward_matches_reference_and_updates_running_stats(int[] shape)
    {
        int c = shape[1];
        var x = GradCheck.RandomValues(Numel(shape), 11, -2f, 3f);
        var w = GradCheck.RandomValues(c, 12, 0.5f, 2f);
        var b = GradCheck.RandomValues(c, 13);
        var rm = GradCheck.RandomValues(c, 14);
        var rv = GradCheck.RandomValues(c, 15, 0.5f, 2f);
        var runningMean = Tensor.FromArray(rm, c);
        var runningVar = Tensor.FromArray(rv, c);

        var y = F.BatchNorm(Tensor.FromArray(x, shape), runningMean, runningVar, Tensor.FromArray(w, c), Tensor.FromArray(b, c), training: true, momentum: 0.3f);

        var xd = TensorAssert.ToDouble(x);
        TensorAssert.Close(Reference.BatchNorm(xd, shape, TensorAssert.ToDouble(w), TensorAssert.ToDouble(b), training: true), y, Tolerance.Accumulated);
        var (mean, uvar) = Reference.ChannelStats(xd, shape);
        TensorAssert.Close(rm.Select((v, i) => 0.7 * v + 0.3 * mean[i]).ToArray(), runningMean, Tolerance.Float32, "running_mean");
        TensorAssert.Close(rv.Select((v, i) => 0.7 * v + 0.3 * uvar[i]).ToArray(), runningVar, Tolerance.Float32, "running_var");
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Eval_forward_uses_running_stats_and_leaves_them_unchanged(int[] shape)
    {
        int c = shape[1];
        var x = GradCheck.RandomValues(Numel(shape), 21, -2f, 3f);
        var rm = GradCheck.RandomValues(c, 24);
        var rv = GradCheck.RandomValues(c, 25, 0.5f, 2f);
        var w = GradCheck.RandomValues(c, 22, 0.5f, 2f);
        var runningMean = Tensor.FromArray(rm, c);
        var runningVar = Tensor.FromArray(rv, c);
        var y = F.BatchNorm(Tensor.FromArray(x, shape), runningMean, runningVar, Tensor.FromArray(w, c), bias: null, training: false);
        var expected = Reference.BatchNorm(TensorAssert.ToDouble(x), shape, TensorAssert.ToDouble(w), null, training: false,
            TensorAssert.ToDouble(rm), TensorAssert.ToDouble(rv));
        TensorAssert.Close(expected, y, Tolerance.Accumulated);
        Assert.Equal(rm, runningMean.ToArray());
        Assert.Equal(rv, runningVar.ToArray());
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Training_backward_matches_finite_differences(int[] shape)
    {
        int c = shape[1];
        GradCheck.Check([shape, [c], [c]],
            [GradCheck.RandomValues(Numel(shape), 31, -2f, 2f), GradCheck.RandomValues(c, 32, 0.5f, 2f), GradCheck.RandomValues(c, 33)],
            t => F.BatchNorm(t[0], Tensor.Zeros(c), Tensor.Ones(c), t[1], t[2], training: true),
            d => Reference.BatchNorm(d[0], shape, d[1], d[2], training: true));
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Eval_backward_matches_finite_differences(int[] shape)
    {
        int c = shape[1];
        var rm = GradCheck.RandomValues(c, 44);
        var rv = GradCheck.RandomValues(c, 45, 0.5f, 2f);
        GradCheck.Check([shape, [c], [c]],
            [GradCheck.RandomValues(Numel(shape), 41, -2f, 2f), GradCheck.RandomValues(c, 42, 0.5f, 2f), GradCheck.RandomValues(c, 43)],
            t => F.BatchNorm(t[0], Tensor.FromArray(rm, c), Tensor.FromArray(rv, c), t[1], t[2], training: false),
            d => Reference.BatchNorm(d[0], shape, d[1], d[2], training: false, TensorAssert.ToDouble(rm), TensorAssert.ToDouble(rv)));
    }

    [Fact]
    public void Training_backward_without_affine_matches_finite_differences()
    {
        int[] shape = [4, 3, 2, 2];
        GradCheck.Check(shape, GradCheck.RandomValues(48, 51, -1f, 2f),
            x => F.BatchNorm(x, null, null, training: true),
            x => Reference.BatchNorm(x, shape, null, null, training: true));
    }

    [Fact]
    public void Running_stats_after_several_steps_match_hand_computation()
    {
        // One channel, N = 4. Step 1: x = 1, 2, 3, 4: mean 2.5, unbiased var 5/3.
        //   running_mean = 0.9*0 + 0.1*2.5 = 0.25; running_var = 0.9*1 + 0.1*5/3 = 1.0666667.
        // Step 2: x = 2, 4, 6, 8: mean 5, unbiased var 20/3.
        //   running_mean = 0.9*0.25 + 0.1*5 = 0.725; running_var = 0.9*1.0666667 + 0.1*20/3 = 1.6266667.
        var rm = Tensor.Zeros(1);
        var rv = Tensor.Ones(1);
        var y1 = F.BatchNorm(Tensor.FromArray([1f, 2f, 3f, 4f], 4, 1), rm, rv, training: true);
        Assert.Equal(0.25f, rm.Data[0], 6);
        Assert.Equal(1.0666667f, rv.Data[0], 6);
        // Normalisation used the biased variance 1.25: (1 - 2.5)/sqrt(1.25 + 1e-5).
        Assert.Equal(-1.5 / Math.Sqrt(1.25 + 1e-5), y1.Data[0], 5);
        F.BatchNorm(Tensor.FromArray([2f, 4f, 6f, 8f], 4, 1), rm, rv, training: true);
        Assert.Equal(0.725f, rm.Data[0], 6);
        Assert.Equal(1.6266667f, rv.Data[0], 6);

        // Eval uses the running statistics.
        var y = F.BatchNorm(Tensor.FromArray([3f], 1, 1), rm, rv, training: false);
        Assert.Equal((3 - 0.725) / Math.Sqrt(1.6266667 + 1e-5), y.Data[0], 5);
    }

    [Fact]
    public void Training_output_has_zero_mean_and_unit_biased_variance_per_channel()
    {
        int[] shape = [6, 3, 4, 4];
        var y = F.BatchNorm(Tensor.FromArray(GradCheck.RandomValues(Numel(shape), 61, 10f, 30f), shape), null, null, training: true, eps: 0f);
        for (int ch = 0; ch < 3; ch++)
        {
            var vals = Enumerable.Range(0, 6).SelectMany(n => y.Data.Slice((n * 3 + ch) * 16, 16).ToArray()).Select(v => (double)v).ToArray();
            double mean = vals.Average();
            Assert.Equal(0, mean, 5);
            Assert.Equal(1, vals.Select(v => (v - mean) * (v - mean)).Average(), 4);
        }
    }

    [Fact]
    public void Statistics_stay_accurate_for_a_large_offset()
    {
        // Values 1e4 + small noise: a single-pass float32 E[x^2] - E[x]^2 would lose the variance entirely.
        int[] shape = [64, 1, 8, 8];
        var x = GradCheck.RandomValues(Numel(shape), 71, -1f, 1f).Select(v => 10000f + v).ToArray();
        var y = F.BatchNorm(Tensor.FromArray(x, shape), null, null, training: true);
        var expected = Reference.BatchNorm(TensorAssert.ToDouble(x), shape, null, null, training: true);
        TensorAssert.Close(expected, y, new Tolerance(1e-3, 1e-3));
    }

    [Fact]
    public void Channel_mismatch_throws_naming_shapes()
    {
        var ex = Assert.Throws<ShapeException>(() => F.BatchNorm(Tensor.Zeros(2, 4, 5, 5), Tensor.Zeros(3), Tensor.Ones(3), training: false));
        Assert.Contains("running_mean", ex.Message);
        Assert.Contains("(3)", ex.Message);
        Assert.Contains("(2, 4, 5, 5)", ex.Message);
        var ex2 = Assert.Throws<ShapeException>(() => F.BatchNorm(Tensor.Zeros(2, 4), null, null, weight: Tensor.Ones(4, 1), training: true));
        Assert.Contains("weight", ex2.Message);
    }

    [Fact]
    public void Rank_below_two_throws() =>
        Assert.Contains("(4)", Assert.Throws<ShapeException>(() => F.BatchNorm(Tensor.Zeros(4), null, null, training: true)).Message);

    [Fact]
    public void Training_with_one_value_per_channel_throws()
    {
        var ex = Assert.Throws<ShapeException>(() => F.BatchNorm(Tensor.Zeros(1, 4), Tensor.Zeros(4), Tensor.Ones(4), training: true));
        Assert.Contains("more than 1 value per channel", ex.Message);
        Assert.Contains("(1, 4)", ex.Message);
        // Eval with one sample is fine.
        TensorAssert.ShapeIs(F.BatchNorm(Tensor.Zeros(1, 4), Tensor.Zeros(4), Tensor.Ones(4), training: false), 1, 4);
    }

    [Fact]
    public void Eval_without_running_stats_throws() =>
        Assert.Throws<ArgumentException>(() => F.BatchNorm(Tensor.Zeros(2, 4), null, null, training: false));

    [Fact]
    public void Negative_eps_throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => F.BatchNorm(Tensor.Zeros(2, 4), null, null, training: true, eps: -1f));
}
