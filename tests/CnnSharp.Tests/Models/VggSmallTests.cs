using CnnSharp.Functional;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Models;

public sealed class VggSmallTests
{
    [Fact]
    public void Each_stage_has_the_documented_shape()
    {
        var model = new VggSmall(generator: new Generator(1));
        var x = Tensor.Randn(new Generator(2), 2, 3, 32, 32);
        var features = model.Features;
        Assert.Equal(17, features.Count);
        TensorAssert.ShapeIs(new Sequential([.. features.Layers.Take(7)]).Forward(x), 2, 32, 16, 16);
        var all = features.Forward(x);
        TensorAssert.ShapeIs(all, 2, 128, 8, 8);
        TensorAssert.ShapeIs(model.AvgPool.Forward(all), 2, 128, 1, 1);
        TensorAssert.ShapeIs(model.Forward(x), 2, 10);
        TensorAssert.ShapeIs(new VggSmall(numClasses: 7).Forward(Tensor.Randn(new Generator(3), 2, 3, 4, 4)), 2, 7);
    }

    [Fact]
    public void Every_parameter_gets_a_gradient_and_every_batch_norm_counts_the_step()
    {
        var model = new VggSmall(generator: new Generator(3));
        F.CrossEntropy(model.Forward(Tensor.Randn(new Generator(4), 2, 3, 32, 32)), [1, 9]).Backward();
        foreach (var (name, p) in model.NamedParameters())
            Assert.True(p.Grad is not null && p.Grad.ToArray().Any(v => v != 0f), $"{name} has no or an all-zero gradient");
        var counts = model.StateDict().Where(e => e.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, counts.Count);
        Assert.All(counts, e => Assert.Equal(1f, e.Value.Data[0]));
    }

    [Fact]
    public void Convolutions_have_bias_and_use_pytorch_default_init()
    {
        var model = new VggSmall(generator: new Generator(5));
        var convs = model.Features.Layers.OfType<Conv2d>().ToList();
        Assert.Equal([3, 32, 32, 64, 64], convs.Select(c => c.InChannels));
        Assert.All(convs, c => Assert.NotNull(c.Bias));
        float bound = 1f / MathF.Sqrt(27); // first conv: fan_in 3*3*3
        Assert.All(convs[0].Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.Equal(new VggSmall(generator: new Generator(5)).Parameters().SelectMany(p => p.ToArray()), model.Parameters().SelectMany(p => p.ToArray()));
    }

    [Theory]
    [InlineData(new[] { 2, 1, 32, 32 })]
    [InlineData(new[] { 3, 32, 32 })]
    public void Wrong_input_shape_throws_naming_it(int[] shape)
    {
        var ex = Assert.Throws<ShapeException>(() => new VggSmall().Forward(Tensor.Zeros(shape)));
        Assert.Contains(Shape.Format(shape), ex.Message, StringComparison.Ordinal);
        Assert.Contains("VggSmall: expected input (N, 3, H, W)", ex.Message, StringComparison.Ordinal);
    }
}
