using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Modules;

public sealed class BatchNormModuleTests
{
    [Fact]
    public void State_dict_has_pytorch_keys_in_pytorch_order()
    {
        var bn = new BatchNorm2d(16);
        Assert.Equal(new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }, bn.StateDict().Select(e => e.Key));
        Assert.Equal(new[] { "weight", "bias" }, bn.NamedParameters().Select(e => e.Key));
        Assert.Equal(Enumerable.Repeat(1f, 16), bn.Weight!.ToArray());
        Assert.Equal(Enumerable.Repeat(0f, 16), bn.Bias!.ToArray());
        Assert.Equal(Enumerable.Repeat(0f, 16), bn.RunningMean!.ToArray());
        Assert.Equal(Enumerable.Repeat(1f, 16), bn.RunningVar!.ToArray());
        TensorAssert.ShapeIs(bn.NumBatchesTracked!);
        Assert.Equal(0f, bn.NumBatchesTracked!.Item());
        Assert.True(bn.Weight!.RequiresGrad);
        Assert.False(bn.RunningMean!.RequiresGrad);
    }

    [Fact]
    public void Without_affine_and_tracking_there_is_no_state()
    {
        var bn = new BatchNorm2d(4, affine: false, trackRunningStats: false);
        Assert.Empty(bn.StateDict());
        Assert.Null(bn.Weight);
        // Always batch statistics, even in eval mode.
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 4 * 3 * 3, 1, 2f, 5f), 2, 4, 3, 3);
        bn.Eval();
        var expected = Reference.BatchNorm(TensorAssert.ToDouble(x.Data), [2, 4, 3, 3], null, null, training: true);
        TensorAssert.Close(expected, bn.Forward(x), Tolerance.Accumulated);
    }

    [Fact]
    public void Training_steps_update_running_stats_and_count_then_eval_uses_them()
    {
        var bn = new BatchNorm2d(3);
        bn.Weight!.Data[1] = 2f;
        bn.Bias!.Data[2] = -1f;
        var mean = new double[3];
        var var = new double[] { 1, 1, 1 };
        int[] shape = [4, 3, 5, 5];
        for (int step = 0; step < 3; step++)
        {
            var v = GradCheck.RandomValues(300, 10 + step, -1f + step, 2f + 2 * step);
            var y = bn.Forward(Tensor.FromArray(v, shape));
            var (bm, bv) = Reference.ChannelStats(TensorAssert.ToDouble(v), shape);
            for (int c = 0; c < 3; c++)
            {
                mean[c] = 0.9 * mean[c] + 0.1 * bm[c];
                var[c] = 0.9 * var[c] + 0.1 * bv[c];
            }
            var expected = Reference.BatchNorm(TensorAssert.ToDouble(v), shape, [1, 2, 1], [0, 0, -1], training: true);
            TensorAssert.Close(expected, y, Tolerance.Accumulated, $"step {step}");
        }
        TensorAssert.Close(mean, bn.RunningMean!, Tolerance.Float32, "running_mean");
        TensorAssert.Close(var, bn.RunningVar!, Tolerance.Float32, "running_var");
        Assert.Equal(3f, bn.NumBatchesTracked!.Item());

        bn.Eval();
        var xe = GradCheck.RandomValues(300, 99, -1f, 1f);
        var ye = bn.Forward(Tensor.FromArray(xe, shape));
        var expectedEval = Reference.BatchNorm(TensorAssert.ToDouble(xe), shape, [1, 2, 1], [0, 0, -1], training: false, mean, var);
        TensorAssert.Close(expectedEval, ye, Tolerance.Accumulated);
        Assert.Equal(3f, bn.NumBatchesTracked!.Item()); // eval does not count
        TensorAssert.Close(mean, bn.RunningMean!, Tolerance.Float32, "running_mean unchanged by eval");
    }

    [Fact]
    public void Null_momentum_gives_cumulative_average()
    {
        var bn = new BatchNorm1d(1, momentum: null);
        bn.Forward(Tensor.FromArray([1f, 3f], 2, 1)); // mean 2, unbiased var 2
        bn.Forward(Tensor.FromArray([5f, 9f], 2, 1)); // mean 7, unbiased var 8
        // Factors 1/1 then 1/2: running_mean = (2 + 7)/2, running_var = (2 + 8)/2.
        Assert.Equal(4.5f, bn.RunningMean!.Item(), 5);
        Assert.Equal(5f, bn.RunningVar!.Item(), 5);
        Assert.Equal(2f, bn.NumBatchesTracked!.Item());
        Assert.Equal("BatchNorm1d(1, eps=1e-05, momentum=None, affine=True, track_running_stats=True)", bn.ToString());
    }

    [Fact]
    public void BatchNorm1d_accepts_2d_and_3d_input()
    {
        var bn = new BatchNorm1d(3);
        TensorAssert.ShapeIs(bn.Forward(Tensor.FromArray(GradCheck.RandomValues(15, 1), 5, 3)), 5, 3);
        TensorAssert.ShapeIs(bn.Forward(Tensor.FromArray(GradCheck.RandomValues(24, 2), 2, 3, 4)), 2, 3, 4);
        Assert.Equal(2f, bn.NumBatchesTracked!.Item());
    }

    [Fact]
    public void Wrong_rank_or_channels_throw_naming_shapes()
    {
        var e1 = Assert.Throws<ShapeException>(() => new BatchNorm2d(3).Forward(Tensor.Zeros(2, 3, 4)));
        Assert.Contains("(2, 3, 4)", e1.Message);
        Assert.Contains("4-D", e1.Message);
        var e2 = Assert.Throws<ShapeException>(() => new BatchNorm1d(3).Forward(Tensor.Zeros(2, 3, 4, 4)));
        Assert.Contains("(2, 3, 4, 4)", e2.Message);
        var e3 = Assert.Throws<ShapeException>(() => new BatchNorm2d(3).Forward(Tensor.Zeros(2, 4, 5, 5)));
        Assert.Contains("(2, 4, 5, 5)", e3.Message);
        Assert.Contains("(3)", e3.Message);
    }

    [Fact]
    public void Gradients_reach_weight_and_bias_but_not_buffers()
    {
        var bn = new BatchNorm2d(2);
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 2 * 3 * 3, 5), 2, 2, 3, 3).RequiresGrad_();
        var loss = F.Sum(F.Mul(bn.Forward(x), Tensor.FromArray(GradCheck.RandomValues(36, 6), 2, 2, 3, 3)));
        loss.Backward();
        Assert.NotNull(bn.Weight!.Grad);
        Assert.NotNull(bn.Bias!.Grad);
        Assert.NotNull(x.Grad);
        Assert.Null(bn.RunningMean!.Grad);
    }

    [Fact]
    public void Reset_running_stats_restores_initial_values()
    {
        var bn = new BatchNorm2d(2);
        bn.Forward(Tensor.FromArray(GradCheck.RandomValues(36, 7, 3f, 9f), 2, 2, 3, 3));
        bn.ResetRunningStats();
        Assert.Equal(new[] { 0f, 0f }, bn.RunningMean!.ToArray());
        Assert.Equal(new[] { 1f, 1f }, bn.RunningVar!.ToArray());
        Assert.Equal(0f, bn.NumBatchesTracked!.Item());
    }

    [Fact]
    public void Repr_matches_pytorch() =>
        Assert.Equal("BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", new BatchNorm2d(16).ToString());

    // Found by hostile use: BatchNorm2d(3, momentum: NaN) was accepted; one training batch made the running statistics NaN
    // and every eval-mode output NaN, with no error. LeakyReLU(NaN) likewise turned every negative input into NaN.
    [Fact]
    public void Non_finite_momentum_or_negative_slope_is_refused()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(3, momentum: float.NaN));
        Assert.Contains("BatchNorm: momentum must be finite", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm1d(3, momentum: float.PositiveInfinity));
        Assert.Null(new BatchNorm2d(3, momentum: null).Momentum);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeakyReLU(float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeakyReLU(float.NegativeInfinity));
    }
}
