using CnnSharp.Modules;

namespace CnnSharp.Tests.Modules;

public sealed class InitTests
{
    [Theory]
    [InlineData(new[] { 32, 16, 5, 5 }, 400, 800)]
    [InlineData(new[] { 10, 1568 }, 1568, 10)]
    [InlineData(new[] { 6, 2, 3 }, 6, 18)]
    public void Fan_in_and_fan_out_follow_pytorch(int[] shape, int fanIn, int fanOut)
    {
        Assert.Equal((fanIn, fanOut), Init.CalculateFanInAndFanOut(new Shape(shape)));
        Assert.Equal((fanIn, fanOut), Init.CalculateFanInAndFanOut(Tensor.Zeros(shape)));
    }

    [Fact]
    public void Fan_of_a_vector_throws()
    {
        var ex = Assert.Throws<ShapeException>(() => Init.CalculateFanInAndFanOut(Tensor.Zeros(5)));
        Assert.Contains("(5)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gains_match_pytorch_calculate_gain()
    {
        Assert.Equal(1.0, Init.CalculateGain(Nonlinearity.Linear));
        Assert.Equal(1.0, Init.CalculateGain(Nonlinearity.Conv2d));
        Assert.Equal(1.0, Init.CalculateGain(Nonlinearity.Sigmoid));
        Assert.Equal(5.0 / 3.0, Init.CalculateGain(Nonlinearity.Tanh));
        Assert.Equal(Math.Sqrt(2), Init.CalculateGain(Nonlinearity.Relu));
        Assert.Equal(Math.Sqrt(2 / (1 + 0.01 * 0.01)), Init.CalculateGain(Nonlinearity.LeakyRelu));
        // a = sqrt(5): gain sqrt(2/6) = sqrt(1/3), so the kaiming bound gain*sqrt(3/fan_in) is 1/sqrt(fan_in).
        Assert.Equal(Math.Sqrt(1.0 / 3.0), Init.CalculateGain(Nonlinearity.LeakyRelu, Math.Sqrt(5)), 12);
        Assert.Equal(0.75, Init.CalculateGain(Nonlinearity.Selu));
    }

    [Fact]
    public void Kaiming_uniform_bound_is_gain_times_sqrt_three_over_fan()
    {
        var t = Init.KaimingUniform(Tensor.Zeros(64, 50), a: 0, nonlinearity: Nonlinearity.Relu, generator: new Generator(1));
        double bound = Math.Sqrt(2) * Math.Sqrt(3.0 / 50);
        var v = t.ToArray();
        Assert.All(v, x => Assert.InRange(x, -bound, bound));
        Assert.True(v.Max() > 0.95 * bound && v.Min() < -0.95 * bound);
        var fanOut = Init.KaimingUniform(Tensor.Zeros(64, 50), mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu, generator: new Generator(1));
        double boundOut = Math.Sqrt(2) * Math.Sqrt(3.0 / 64);
        Assert.All(fanOut.ToArray(), x => Assert.InRange(x, -boundOut, boundOut));
        Assert.True(fanOut.ToArray().Max() > 0.95 * boundOut);
    }

    [Fact]
    public void Kaiming_normal_and_xavier_have_the_documented_spread()
    {
        var kn = Init.KaimingNormal(Tensor.Zeros(200, 100), nonlinearity: Nonlinearity.Relu, generator: new Generator(2)).ToArray();
        double std = Math.Sqrt(kn.Select(x => (double)x * x).Average());
        Assert.InRange(std, 0.97 * Math.Sqrt(2.0 / 100), 1.03 * Math.Sqrt(2.0 / 100));

        var xu = Init.XavierUniform(Tensor.Zeros(30, 70), generator: new Generator(3)).ToArray();
        double b = Math.Sqrt(6.0 / 100);
        Assert.All(xu, x => Assert.InRange(x, -b, b));
        Assert.True(xu.Max() > 0.95 * b);

        var xn = Init.XavierNormal(Tensor.Zeros(200, 100), gain: 2, generator: new Generator(4)).ToArray();
        double sx = Math.Sqrt(xn.Select(x => (double)x * x).Average());
        Assert.InRange(sx, 0.97 * 2 * Math.Sqrt(2.0 / 300), 1.03 * 2 * Math.Sqrt(2.0 / 300));
    }

    [Fact]
    public void Uniform_normal_and_constants_fill_in_place()
    {
        var t = Tensor.Zeros(1000);
        Assert.Same(t, Init.Uniform(t, 2, 3, new Generator(5)));
        Assert.All(t.ToArray(), x => Assert.InRange(x, 2f, 3f));
        Assert.InRange(t.ToArray().Average(), 2.45, 2.55);
        Init.Normal(t, 5, 0.5, new Generator(6));
        Assert.InRange(t.ToArray().Average(), 4.95, 5.05);
        Assert.All(Init.Ones(t).ToArray(), x => Assert.Equal(1f, x));
        Assert.All(Init.Zeros(t).ToArray(), x => Assert.Equal(0f, x));
        Assert.All(Init.Constant(t, 0.25f).ToArray(), x => Assert.Equal(0.25f, x));
    }
}
