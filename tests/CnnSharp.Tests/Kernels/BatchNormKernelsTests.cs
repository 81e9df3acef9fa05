using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

public sealed class BatchNormKernelsTests
{
    [Fact]
    public void Statistics_are_per_channel_mean_and_biased_variance()
    {
        // N = 2, C = 2, S = 2: channel 0 holds 1, 2, 5, 6; channel 1 holds 3, 4, 7, 8.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8];
        var mean = new double[2];
        var variance = new double[2];
        BatchNormKernels.Statistics(x, mean, variance, 2, 2, 2);
        Assert.Equal(new[] { 3.5, 5.5 }, mean);
        Assert.Equal(new[] { 4.25, 4.25 }, variance);
    }

    [Fact]
    public void Statistics_keep_precision_with_large_offset()
    {
        var x = GradCheck.RandomValues(4096, 3, -1f, 1f).Select(v => 1e5f + v).ToArray();
        var mean = new double[1];
        var variance = new double[1];
        BatchNormKernels.Statistics(x, mean, variance, 4096, 1, 1);
        double m = x.Select(v => (double)v).Average();
        double var = x.Select(v => ((double)v - m) * ((double)v - m)).Average();
        Assert.Equal(m, mean[0], 9);
        Assert.Equal(var, variance[0], 9);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(67)]
    [InlineData(1024)]
    public void Statistics_keep_precision_with_large_offset_on_both_paths(int s)
    {
        // 1e5 + noise in [-1, 1): float32 sums of the raw values would shift the mean by ~0.01, 2% of the spread.
        const int n = 4, c = 2;
        var x = GradCheck.RandomValues(n * c * s, s, -1f, 1f).Select((v, i) => (i / s % c == 0 ? 1e5f : -3e4f) + v).ToArray();
        var mean = new double[c];
        var variance = new double[c];
        BatchNormKernels.Statistics(x, mean, variance, n, c, s);
        for (int ch = 0; ch < c; ch++)
        {
            var vals = Enumerable.Range(0, n).SelectMany(b => x.Skip((b * c + ch) * s).Take(s)).Select(v => (double)v).ToArray();
            double m = vals.Average();
            double v = vals.Select(t => (t - m) * (t - m)).Average();
            Assert.True(Math.Abs(mean[ch] - m) <= 1e-6, $"mean {mean[ch]} vs {m}");
            Assert.True(Math.Abs(variance[ch] - v) <= 1e-4 * v, $"variance {variance[ch]} vs {v}");
        }
    }

    [Fact]
    public void Backward_accumulates_into_all_three_gradients()
    {
        float[] x = [1, 3];
        float[] gy = [1, 2];
        float[] gx = [10, 10], gw = [10], gb = [10];
        // Eval: mean 0, invStd 0.5, weight 2: dx = dy*1, dweight = 0.5*sum(dy*x) = 3.5, dbias = 3.
        BatchNormKernels.BackwardEval(x, gy, [0f], [0.5f], [2f], gx, gw, gb, 2, 1, 1);
        Assert.Equal(new float[] { 11, 12 }, gx);
        Assert.Equal(13.5f, gw[0]);
        Assert.Equal(13f, gb[0]);
    }

    [Fact]
    public void Training_backward_of_a_constant_gradient_is_zero()
    {
        // Adding a constant to every output of a channel does not change a training-mode batch norm's input gradient.
        var x = GradCheck.RandomValues(24, 1);
        var mean = new double[2];
        var variance = new double[2];
        BatchNormKernels.Statistics(x, mean, variance, 3, 2, 4);
        float[] m = [.. mean.Select(v => (float)v)], inv = [.. variance.Select(v => (float)(1 / Math.Sqrt(v + 1e-5)))];
        var gx = new float[24];
        BatchNormKernels.BackwardTraining(x, Enumerable.Repeat(0.7f, 24).ToArray(), m, inv, default, gx, default, default, 3, 2, 4);
        Assert.All(gx, v => Assert.Equal(0f, v, 5));
    }
}
