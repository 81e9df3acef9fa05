using CnnSharp.Functional;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Models;

public sealed class ResNet8Tests
{
    [Fact]
    public void Each_stage_has_the_documented_shape()
    {
        var model = new ResNet8(generator: new Generator(1));
        var x = Tensor.Randn(new Generator(2), 2, 3, 32, 32);
        var stem = model.Relu.Forward(model.Bn1.Forward(model.Conv1.Forward(x)));
        TensorAssert.ShapeIs(stem, 2, 16, 32, 32);
        var s1 = model.Layer1.Forward(stem);
        TensorAssert.ShapeIs(s1, 2, 16, 32, 32);
        var s2 = model.Layer2.Forward(s1);
        TensorAssert.ShapeIs(s2, 2, 32, 16, 16);
        TensorAssert.ShapeIs(model.Layer3.Forward(s2), 2, 64, 8, 8);
        TensorAssert.ShapeIs(model.Forward(x), 2, 10);
        TensorAssert.ShapeIs(new ResNet8(numClasses: 3).Forward(Tensor.Zeros(1, 3, 5, 7)), 1, 3);
    }

    [Fact]
    public void Only_blocks_that_change_shape_project_the_shortcut_and_no_convolution_has_a_bias()
    {
        var model = new ResNet8();
        var blocks = model.NamedModules().Select(m => m.Value).OfType<BasicBlock>().ToList();
        Assert.Equal([false, true, true], blocks.Select(b => b.Downsample is not null));
        Assert.Equal([1, 2, 2], blocks.Select(b => b.Stride));
        Assert.All(model.NamedModules().Select(m => m.Value).OfType<Conv2d>(), c => Assert.Null(c.Bias));
        Assert.Equal(8, model.NamedModules().Count(m => m.Value is Conv2d { KernelSize: (3, 3) } or Linear));
    }

    [Fact]
    public void Basic_block_adds_the_identity_then_applies_relu()
    {
        // With conv2's weight zero and bn2 in eval with unit statistics, the main branch is bn2's bias, so the block is
        // relu(x + bias): this pins the residual add and the final ReLU.
        var block = new BasicBlock(2, 2, generator: new Generator(1));
        block.Conv2.Weight.Data.Clear();
        block.Bn2.Bias!.Data[0] = 0.5f;
        block.Bn2.Bias.Data[1] = -0.25f;
        block.Eval();
        var x = Tensor.Randn(new Generator(2), 1, 2, 3, 3);
        var y = block.Forward(x).ToArray();
        var expected = x.ToArray().Select((v, i) => Math.Max(0.0, v + (i < 9 ? 0.5 : -0.25))).ToArray();
        TensorAssert.Close(expected, y, Tolerance.Float32);
    }

    [Fact]
    public void Every_parameter_gets_a_gradient_through_both_branches()
    {
        var model = new ResNet8(generator: new Generator(3));
        F.CrossEntropy(model.Forward(Tensor.Randn(new Generator(4), 2, 3, 32, 32)), [0, 5]).Backward();
        foreach (var (name, p) in model.NamedParameters())
            Assert.True(p.Grad is not null && p.Grad.ToArray().Any(v => v != 0f), $"{name} has no or an all-zero gradient");
    }

    [Fact]
    public void Wrong_input_shape_throws_naming_it()
    {
        var ex = Assert.Throws<ShapeException>(() => new ResNet8().Forward(Tensor.Zeros(2, 1, 32, 32)));
        Assert.Contains("ResNet8: expected input (N, 3, H, W), got (2, 1, 32, 32)", ex.Message, StringComparison.Ordinal);
    }
}
