using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Modules;

public sealed class PoolingModuleTests
{
    private static Tensor Input(params int[] shape) => Tensor.FromArray(GradCheck.DistinctValues(shape.Aggregate(1, (a, b) => a * b), 3), shape);

    [Fact]
    public void Modules_forward_to_functional_ops_with_their_settings()
    {
        var x = Input(2, 3, 11, 9);
        Assert.Equal(F.MaxPool2d(x, 3, 2, 1, 2, true).ToArray(), new MaxPool2d(3, 2, 1, 2, true).Forward(x).ToArray());
        Assert.Equal(F.AvgPool2d(x, 3, 2, 1, true, false, null).ToArray(), new AvgPool2d(3, 2, 1, ceilMode: true, countIncludePad: false).Forward(x).ToArray());
        Assert.Equal(F.AvgPool2d(x, 2, divisorOverride: 3).ToArray(), new AvgPool2d(2, divisorOverride: 3).Forward(x).ToArray());
        Assert.Equal(F.LpPool2d(x, 2, 3, 2, true).ToArray(), new LPPool2d(2, 3, 2, true).Forward(x).ToArray());
        Assert.Equal(F.AdaptiveAvgPool2d(x, (3, 2)).ToArray(), new AdaptiveAvgPool2d((3, 2)).Forward(x).ToArray());
        Assert.Equal(F.AdaptiveMaxPool2d(x, 1).ToArray(), new AdaptiveMaxPool2d(1).Forward(x).ToArray());
    }

    [Fact]
    public void Stride_defaults_to_kernel_size()
    {
        TensorAssert.ShapeIs(new MaxPool2d(kernelSize: 2).Forward(Input(1, 1, 8, 6)), 1, 1, 4, 3);
        TensorAssert.ShapeIs(new AvgPool2d((2, 3)).Forward(Input(1, 1, 8, 6)), 1, 1, 4, 2);
        TensorAssert.ShapeIs(new LPPool2d(2, 2).Forward(Input(1, 1, 8, 6)), 1, 1, 4, 3);
    }

    [Fact]
    public void Pooling_modules_have_no_parameters_or_buffers()
    {
        Module[] modules = [new MaxPool2d(2), new AvgPool2d(2), new LPPool2d(2, 2), new AdaptiveAvgPool2d(1), new AdaptiveMaxPool2d(1)];
        foreach (var m in modules) Assert.Empty(m.StateDict());
    }

    [Fact]
    public void Repr_matches_pytorch()
    {
        Assert.Equal("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)", new MaxPool2d(kernelSize: 2, stride: 2).ToString());
        Assert.Equal("MaxPool2d(kernel_size=(3, 2), stride=(3, 2), padding=0, dilation=1, ceil_mode=True)", new MaxPool2d((3, 2), ceilMode: true).ToString());
        Assert.Equal("AvgPool2d(kernel_size=2, stride=2, padding=0)", new AvgPool2d(2).ToString());
        Assert.Equal("LPPool2d(norm_type=2, kernel_size=2, stride=None, ceil_mode=False)", new LPPool2d(2, 2).ToString());
        Assert.Equal("LPPool2d(norm_type=1.5, kernel_size=3, stride=2, ceil_mode=True)", new LPPool2d(1.5, 3, 2, true).ToString());
        Assert.Equal("AdaptiveAvgPool2d(output_size=1)", new AdaptiveAvgPool2d(1).ToString());
        Assert.Equal("AdaptiveMaxPool2d(output_size=(2, 3))", new AdaptiveMaxPool2d((2, 3)).ToString());
    }

    [Fact]
    public void Invalid_constructor_arguments_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LPPool2d(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAvgPool2d(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveMaxPool2d((1, -1)));
    }

    [Fact]
    public void Bad_input_throws_shape_exception_naming_the_shape()
    {
        var ex = Assert.Throws<ShapeException>(() => new MaxPool2d(2).Forward(Tensor.Zeros(5, 5)));
        Assert.Contains("(5, 5)", ex.Message);
    }
}
