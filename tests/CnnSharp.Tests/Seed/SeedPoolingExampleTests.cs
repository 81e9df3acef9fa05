using CnnSharp.Functional;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Seed;

/// <summary>The seed's pooling example (its PyTorch snippet), with the values worked by hand.</summary>
public sealed class SeedPoolingExampleTests
{
    // input_tensor = [[1, 2, 3, 0], [4, 5, 6, 1], [3, 4, 7, 2], [1, 2, 1, 0]] as (1, 1, 4, 4)
    private static Tensor Input() => Tensor.FromArray([1f, 2f, 3f, 0f, 4f, 5f, 6f, 1f, 3f, 4f, 7f, 2f, 1f, 2f, 1f, 0f], 1, 1, 4, 4);

    [Fact]
    public void Max_pooling_2x2_stride_2()
    {
        // Windows {1,2,4,5} {3,0,6,1} {3,4,1,2} {7,2,1,0}.
        var y = new MaxPool2d(kernelSize: 2, stride: 2, padding: 0).Forward(Input());
        TensorAssert.ShapeIs(y, 1, 1, 2, 2);
        Assert.Equal(new[] { 5f, 6f, 4f, 7f }, y.ToArray());
    }

    [Fact]
    public void Average_pooling_2x2_stride_2()
    {
        // 12/4, 10/4, 10/4, 10/4.
        var y = new AvgPool2d(kernelSize: 2, stride: 2, padding: 0).Forward(Input());
        Assert.Equal(new[] { 3f, 2.5f, 2.5f, 2.5f }, y.ToArray());
    }

    [Fact]
    public void Global_average_pooling()
    {
        // Sum of all 16 values is 42: 42/16 = 2.625.
        var y = new AdaptiveAvgPool2d(1).Forward(Input());
        TensorAssert.ShapeIs(y, 1, 1, 1, 1);
        Assert.Equal(2.625f, y.Item());
        Assert.Equal(7f, new AdaptiveMaxPool2d(1).Forward(Input()).Item());
    }

    [Fact]
    public void L2_norm_pooling_2x2_stride_2()
    {
        // sqrt(1+4+16+25) = sqrt(46), sqrt(9+0+36+1) = sqrt(46), sqrt(9+16+1+4) = sqrt(30), sqrt(49+4+1+0) = sqrt(54).
        var y = new LPPool2d(normType: 2, kernelSize: 2, stride: 2).Forward(Input());
        TensorAssert.Close(new[] { Math.Sqrt(46), Math.Sqrt(46), Math.Sqrt(30), Math.Sqrt(54) }, y, Tolerance.Float32);
    }

    [Fact]
    public void References_reproduce_the_hand_worked_values()
    {
        double[] x = [1, 2, 3, 0, 4, 5, 6, 1, 3, 4, 7, 2, 1, 2, 1, 0];
        var spec = new Reference.PoolSpec(2, 2, 2, 2, 0, 0);
        Assert.Equal(new double[] { 5, 6, 4, 7 }, Reference.MaxPool2d(x, [1, 1, 4, 4], spec));
        Assert.Equal(new double[] { 3, 2.5, 2.5, 2.5 }, Reference.AvgPool2d(x, [1, 1, 4, 4], spec));
        Assert.Equal(new double[] { 2.625 }, Reference.AdaptiveAvgPool2d(x, [1, 1, 4, 4], 1, 1));
        Assert.Equal(Math.Sqrt(30), Reference.LpPool2d(x, [1, 1, 4, 4], 2, spec)[2], 12);
    }
}
