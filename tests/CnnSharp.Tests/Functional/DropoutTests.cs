using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class DropoutTests
{
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    [InlineData(0.8f)]
    public void Drop_fraction_and_scaling_match_p(float p)
    {
        const int n = 100_000;
        var x = Tensor.FromArray(GradCheck.RandomValues(n, 1, 0.5f, 1.5f), n);
        var y = F.Dropout(x, p, training: true, new Generator(123));
        int zeros = 0;
        for (int i = 0; i < n; i++)
        {
            if (y.Data[i] == 0f) zeros++;
            else Assert.True(Math.Abs(x.Data[i] / (1 - p) - y.Data[i]) <= 1e-6 * y.Data[i], $"element {i}: {y.Data[i]}, expected {x.Data[i] / (1 - p)}");
        }
        // Binomial(n, p): 5 standard deviations is at most 0.8% of n here.
        double sd = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(zeros, n * p - 5 * sd, n * p + 5 * sd);
        // Inverted dropout preserves the expectation.
        Assert.Equal(x.ToArray().Average(), y.ToArray().Average(), 1);
    }

    [Fact]
    public void Seeded_generator_gives_identical_masks()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(1000, 2, 0.5f, 1.5f), 10, 100);
        var a = F.Dropout(x, 0.3f, true, new Generator(7));
        var b = F.Dropout(x, 0.3f, true, new Generator(7));
        var c = F.Dropout(x, 0.3f, true, new Generator(8));
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
    }

    [Fact]
    public void Eval_mode_and_p_zero_return_the_input()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3);
        Assert.Same(x, F.Dropout(x, 0.5f, training: false));
        Assert.Same(x, F.Dropout(x, 0f, training: true));
    }

    [Fact]
    public void P_one_gives_zeros_and_zero_gradient()
    {
        var x = Tensor.FromArray([1f, -2f, 3f], 3).RequiresGrad_();
        var y = F.Dropout(x, 1f, true, new Generator(1));
        Assert.Equal(new[] { 0f, 0f, 0f }, y.ToArray());
        y.Backward(Tensor.Ones(3));
        Assert.Equal(new[] { 0f, 0f, 0f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Backward_uses_the_forward_mask()
    {
        var values = GradCheck.DistinctValues(200, 3).Select(v => v + 2f).ToArray(); // non-zero inputs, so the mask is y/x
        var mask = F.Dropout(Tensor.FromArray(values, 200), 0.4f, true, new Generator(99)).ToArray().Select((v, i) => (double)v / values[i]).ToArray();
        GradCheck.Check([200], values, x => F.Dropout(x, 0.4f, true, new Generator(99)), x => x.Select((v, i) => v * mask[i]).ToArray());
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.1f)]
    [InlineData(float.NaN)]
    public void P_outside_unit_interval_throws(float p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => F.Dropout(Tensor.Zeros(3), p));
}
