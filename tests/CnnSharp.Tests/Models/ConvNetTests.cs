using CnnSharp.Functional;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Models;

public sealed class ConvNetTests
{
    [Fact]
    public void State_dict_keys_and_shapes_equal_pytorch()
    {
        // Written by tests/reference/generate_training_fixtures.py from the seed's class in PyTorch 1.13.
        var fx = JsonFixture.Load("training/convnet_state_dict.json");
        var expected = fx.GetProperty("state_dict").EnumerateArray()
            .Select(e => (Key: e.GetProperty("key").GetString()!, Shape: e.GetProperty("shape").Ints())).ToList();
        var actual = new ConvNet().StateDict();
        Assert.Equal(expected.Select(e => e.Key), actual.Select(e => e.Key));
        foreach (var ((key, shape), (_, tensor)) in expected.Zip(actual))
        {
            // num_batches_tracked is a 0-d int64 in PyTorch and a one-element float buffer here (saved as I64).
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) Assert.Equal(1, tensor.Numel);
            else Assert.True(tensor.Shape.Equals(shape), $"{key}: {tensor.Shape}, PyTorch {Shape.Format(shape)}");
        }
        Assert.Equal(fx.GetProperty("parameters").EnumerateArray().Select(p => p.GetString()),
            new ConvNet().NamedParameters().Select(p => p.Key));
    }

    [Fact]
    public void Forward_maps_images_to_logits_and_every_parameter_gets_a_gradient()
    {
        var model = new ConvNet(numClasses: 7, generator: new Generator(1));
        var x = Tensor.Rand(new Generator(2), 3, 1, 28, 28);
        var logits = model.Forward(x);
        TensorAssert.ShapeIs(logits, 3, 7);
        F.CrossEntropy(logits, [0, 6, 3]).Backward();
        foreach (var (name, p) in model.NamedParameters())
        {
            Assert.True(p.Grad is not null, $"{name} has no gradient");
            Assert.True(p.Grad!.ToArray().Any(v => v != 0f), $"{name} has an all-zero gradient");
        }
        Assert.Equal(1f, model.StateDict().Single(e => e.Key == "layer1.1.num_batches_tracked").Value.Data[0]);
    }

    [Fact]
    public void Same_seed_gives_same_weights_and_different_seeds_differ()
    {
        float[] Weights(ulong seed) => new ConvNet(generator: new Generator(seed)).Parameters().SelectMany(p => p.ToArray()).ToArray();
        Assert.Equal(Weights(5), Weights(5));
        Assert.NotEqual(Weights(5), Weights(6));
        // PyTorch's default Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in 1568.
        var fc = new ConvNet(generator: new Generator(5)).Fc.Weight.ToArray();
        float bound = 1f / MathF.Sqrt(1568);
        Assert.All(fc, v => Assert.InRange(v, -bound, bound));
        Assert.True(fc.Max() > 0.9f * bound && fc.Min() < -0.9f * bound, "the initialisation should fill the bound");
    }

    [Fact]
    public void Eval_mode_uses_running_statistics_so_single_images_match_batched()
    {
        var model = new ConvNet(generator: new Generator(3));
        for (int i = 0; i < 3; i++) model.Forward(Tensor.Rand(new Generator((ulong)(10 + i)), 4, 1, 28, 28)); // move the running stats
        model.Eval();
        var x = Tensor.Rand(new Generator(20), 2, 1, 28, 28);
        var both = model.Forward(x).ToArray();
        var first = model.Forward(Tensor.FromArray(x.Data[..784], 1, 1, 28, 28)).ToArray();
        TensorAssert.Close(both.AsSpan(0, 10), first, new Tolerance(1e-5, 1e-5));
    }

    [Theory]
    [InlineData(new[] { 2, 1, 32, 32 })]
    [InlineData(new[] { 2, 3, 28, 28 })]
    [InlineData(new[] { 784 })]
    public void Wrong_input_shape_throws_naming_it(int[] shape)
    {
        var ex = Assert.Throws<ShapeException>(() => new ConvNet().Forward(Tensor.Zeros(shape)));
        Assert.Contains(Shape.Format(shape), ex.Message, StringComparison.Ordinal);
        Assert.Contains("(N, 1, 28, 28)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describes_itself_like_pytorch()
    {
        string text = new ConvNet().ToString();
        Assert.StartsWith("ConvNet(", text, StringComparison.Ordinal);
        Assert.Contains("(layer1): Sequential(", text, StringComparison.Ordinal);
        Assert.Contains("(fc): Linear(", text, StringComparison.Ordinal);
    }
}
