using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Modules;

/// <summary>The Conv2d, Conv1d and Linear layers: PyTorch's default initialisation, parameters, repr and forward.</summary>
public sealed class ConvLayerTests
{
    private static void AssertUniformWithin(Tensor t, double bound, string what)
    {
        var v = t.ToArray();
        Assert.All(v, x => Assert.InRange(x, -bound, bound));
        Assert.True(v.Distinct().Count() > v.Length / 2, $"{what}: values are not spread out");
        // U(-b, b) spreads over the whole interval: with hundreds of samples both ends are reached closely.
        if (v.Length >= 200)
        {
            Assert.True(v.Max() > 0.9 * bound && v.Min() < -0.9 * bound, $"{what}: range [{v.Min()}, {v.Max()}] does not fill ±{bound}");
            Assert.InRange(v.Average(), -0.1 * bound, 0.1 * bound);
        }
    }

    [Fact]
    public void Conv2d_default_init_is_uniform_within_one_over_sqrt_fan_in()
    {
        var conv = new Conv2d(16, 32, kernelSize: 5, padding: 2, generator: new Generator(1));
        TensorAssert.ShapeIs(conv.Weight, 32, 16, 5, 5);
        TensorAssert.ShapeIs(conv.Bias!, 32);
        double bound = 1 / Math.Sqrt(16 * 5 * 5);
        AssertUniformWithin(conv.Weight, bound, "weight");
        AssertUniformWithin(conv.Bias!, bound, "bias");
        Assert.True(conv.Weight.RequiresGrad);
    }

    [Fact]
    public void Grouped_conv_fan_in_counts_only_the_group_channels()
    {
        var conv = new Conv2d(8, 8, kernelSize: 3, groups: 4, generator: new Generator(2));
        TensorAssert.ShapeIs(conv.Weight, 8, 2, 3, 3);
        double bound = 1 / Math.Sqrt(2 * 9);
        AssertUniformWithin(conv.Weight, bound, "weight");
        Assert.True(conv.Weight.ToArray().Max(Math.Abs) > 1 / Math.Sqrt(8 * 9), "the bound must use in/groups, not in");
    }

    [Fact]
    public void Same_generator_seed_gives_the_same_parameters()
    {
        var a = new Conv2d(3, 4, 3, generator: new Generator(7));
        var b = new Conv2d(3, 4, 3, generator: new Generator(7));
        var c = new Conv2d(3, 4, 3, generator: new Generator(8));
        Assert.Equal(a.Weight.ToArray(), b.Weight.ToArray());
        Assert.Equal(a.Bias!.ToArray(), b.Bias!.ToArray());
        Assert.NotEqual(a.Weight.ToArray(), c.Weight.ToArray());
    }

    [Fact]
    public void Conv2d_forward_is_F_Conv2d_with_the_layer_settings()
    {
        var conv = new Conv2d(2, 3, (3, 2), stride: (2, 1), padding: (1, 0), dilation: (1, 2), generator: new Generator(3));
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 2 * 7 * 8, 1), 2, 2, 7, 8);
        var expected = F.Conv2d(x, conv.Weight, conv.Bias, (2, 1), (1, 0), (1, 2));
        Assert.Equal(expected.ToArray(), conv.Forward(x).ToArray());
        Assert.Equal((3, 2), conv.KernelSize);
        Assert.Equal((2, 1), conv.Stride);
    }

    [Fact]
    public void Parameters_and_state_dict_use_pytorch_names()
    {
        var conv = new Conv2d(1, 16, 5, padding: 2);
        Assert.Equal(["weight", "bias"], conv.StateDict().Select(e => e.Key));
        var noBias = new Conv2d(1, 16, 5, bias: false);
        Assert.Null(noBias.Bias);
        Assert.Equal(["weight"], noBias.NamedParameters().Select(e => e.Key));
        var linear = new Linear(1568, 10);
        Assert.Equal(["weight", "bias"], linear.StateDict().Select(e => e.Key));
    }

    [Fact]
    public void Repr_matches_pytorch()
    {
        Assert.Equal("Conv2d(1, 16, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))", new Conv2d(1, 16, 5, padding: 2).ToString());
        Assert.Equal("Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), dilation=(2, 2), groups=2, bias=False)",
            new Conv2d(4, 8, 3, stride: 2, dilation: 2, groups: 2, bias: false).ToString());
        Assert.Equal("Conv1d(16, 33, kernel_size=(3,), stride=(2,))", new Conv1d(16, 33, 3, stride: 2).ToString());
        Assert.Equal("Linear(in_features=1568, out_features=10, bias=True)", new Linear(1568, 10).ToString());
        Assert.Equal("Linear(in_features=3, out_features=2, bias=False)", new Linear(3, 2, bias: false).ToString());
    }

    [Theory]
    [InlineData(3, 4, 3, 1, 0, 1, 2, "in_channels must be divisible by groups")]
    [InlineData(4, 6, 3, 1, 0, 1, 4, "out_channels must be divisible by groups")]
    [InlineData(3, 4, 0, 1, 0, 1, 1, "kernel size")]
    [InlineData(3, 4, 3, 0, 0, 1, 1, "stride")]
    [InlineData(3, 4, 3, 1, -1, 1, 1, "padding")]
    [InlineData(0, 4, 3, 1, 0, 1, 1, "channel counts")]
    public void Invalid_layer_settings_throw(int inC, int outC, int k, int stride, int padding, int dilation, int groups, string fragment)
    {
        var ex2 = Assert.Throws<ShapeException>(() => new Conv2d(inC, outC, k, stride, padding, dilation, groups));
        Assert.Contains(fragment, ex2.Message, StringComparison.Ordinal);
        var ex1 = Assert.Throws<ShapeException>(() => new Conv1d(inC, outC, k, stride, padding, dilation, groups));
        Assert.Contains(fragment, ex1.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conv1d_layer_initialises_and_forwards()
    {
        var conv = new Conv1d(4, 6, 3, padding: 1, groups: 2, generator: new Generator(5));
        TensorAssert.ShapeIs(conv.Weight, 6, 2, 3);
        AssertUniformWithin(conv.Weight, 1 / Math.Sqrt(2 * 3), "weight");
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 4 * 9, 1), 2, 4, 9);
        var y = conv.Forward(x);
        TensorAssert.ShapeIs(y, 2, 6, 9);
        Assert.Equal(F.Conv1d(x, conv.Weight, conv.Bias, 1, 1, 1, 2).ToArray(), y.ToArray());
    }

    [Fact]
    public void Linear_default_init_and_forward()
    {
        var fc = new Linear(1568, 10, generator: new Generator(4));
        TensorAssert.ShapeIs(fc.Weight, 10, 1568);
        double bound = 1 / Math.Sqrt(1568);
        AssertUniformWithin(fc.Weight, bound, "weight");
        Assert.All(fc.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.True(fc.Bias!.ToArray().Distinct().Count() == 10);
        var x = Tensor.FromArray(GradCheck.RandomValues(3 * 1568, 1), 3, 1568);
        Assert.Equal(F.Linear(x, fc.Weight, fc.Bias).ToArray(), fc.Forward(x).ToArray());
        Assert.Throws<ShapeException>(() => fc.Forward(Tensor.Zeros(3, 1567)));
    }

    [Fact]
    public void Layer_gradients_reach_the_parameters()
    {
        var conv = new Conv2d(1, 2, 3, padding: 1, generator: new Generator(9));
        var fc = new Linear(2 * 4 * 4, 3, generator: new Generator(10));
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 16, 1), 2, 1, 4, 4);
        var loss = F.Sum(fc.Forward(conv.Forward(x).Reshape(2, 32)));
        loss.Backward();
        foreach (var p in conv.Parameters().Concat(fc.Parameters()))
        {
            Assert.NotNull(p.Grad);
            Assert.Contains(p.Grad!.ToArray(), v => v != 0f);
        }
        // d(sum)/d(fc.bias) = number of rows.
        Assert.All(fc.Bias!.Grad!.ToArray(), v => Assert.Equal(2f, v));
    }
}
