using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class AdaptivePool2dTests
{
    // (H, W, OutH, OutW): divisible, non-divisible, output larger than input, global, rectangular.
    public static TheoryData<int, int, int, int> Sizes => new()
    {
        { 8, 8, 4, 4 }, { 7, 9, 3, 4 }, { 5, 5, 3, 3 }, { 10, 3, 4, 2 }, { 3, 4, 5, 6 }, { 13, 11, 1, 1 }, { 1, 7, 1, 3 }, { 6, 7, 6, 7 },
    };

    private static float[] Values(int[] shape, int seed) => GradCheck.DistinctValues(shape.Aggregate(1, (a, b) => a * b), seed);

    [Theory, MemberData(nameof(Sizes))]
    public void Avg_forward_matches_naive_double_reference(int h, int w, int oh, int ow)
    {
        int[] shape = [2, 3, h, w];
        var v = Values(shape, h * 31 + w);
        var y = F.AdaptiveAvgPool2d(Tensor.FromArray(v, shape), (oh, ow));
        TensorAssert.ShapeIs(y, 2, 3, oh, ow);
        TensorAssert.Close(Reference.AdaptiveAvgPool2d(TensorAssert.ToDouble(v), shape, oh, ow), y, Tolerance.Float32);
    }

    [Theory, MemberData(nameof(Sizes))]
    public void Max_forward_matches_naive_double_reference(int h, int w, int oh, int ow)
    {
        int[] shape = [2, 3, h, w];
        var v = Values(shape, h * 37 + w);
        var y = F.AdaptiveMaxPool2d(Tensor.FromArray(v, shape), (oh, ow));
        TensorAssert.ShapeIs(y, 2, 3, oh, ow);
        TensorAssert.Close(Reference.AdaptiveMaxPool2d(TensorAssert.ToDouble(v), shape, oh, ow), y, Tolerance.Float32);
    }

    [Theory, MemberData(nameof(Sizes))]
    public void Avg_backward_matches_finite_differences(int h, int w, int oh, int ow)
    {
        int[] shape = [1, 2, h, w];
        GradCheck.Check(shape, Values(shape, h + w), x => F.AdaptiveAvgPool2d(x, (oh, ow)), x => Reference.AdaptiveAvgPool2d(x, shape, oh, ow));
    }

    [Theory, MemberData(nameof(Sizes))]
    public void Max_backward_matches_finite_differences(int h, int w, int oh, int ow)
    {
        int[] shape = [1, 2, h, w];
        GradCheck.Check(shape, Values(shape, h + 2 * w), x => F.AdaptiveMaxPool2d(x, (oh, ow)), x => Reference.AdaptiveMaxPool2d(x, shape, oh, ow));
    }

    [Fact]
    public void Window_bounds_follow_pytorch_floor_ceil_rule()
    {
        // in 5, out 3: [0, 2), [1, 4), [3, 5) — overlapping windows.
        Assert.Equal((0, 2), (AdaptivePool2dGeometry.Start(0, 5, 3), AdaptivePool2dGeometry.End(0, 5, 3)));
        Assert.Equal((1, 4), (AdaptivePool2dGeometry.Start(1, 5, 3), AdaptivePool2dGeometry.End(1, 5, 3)));
        Assert.Equal((3, 5), (AdaptivePool2dGeometry.Start(2, 5, 3), AdaptivePool2dGeometry.End(2, 5, 3)));
        for (int input = 1; input <= 20; input++)
            for (int output = 1; output <= 20; output++)
                for (int i = 0; i < output; i++)
                    Assert.Equal(Reference.AdaptiveWindow(i, input, output),
                        (AdaptivePool2dGeometry.Start(i, input, output), AdaptivePool2dGeometry.End(i, input, output)));
    }

    [Fact]
    public void Output_one_is_global_pooling()
    {
        int[] shape = [2, 3, 7, 5];
        var v = Values(shape, 9);
        var x = Tensor.FromArray(v, shape);
        var avg = F.AdaptiveAvgPool2d(x, 1);
        var max = F.AdaptiveMaxPool2d(x, 1);
        TensorAssert.ShapeIs(avg, 2, 3, 1, 1);
        for (int p = 0; p < 6; p++)
        {
            var plane = v.Skip(p * 35).Take(35).ToArray();
            Assert.Equal(plane.Select(f => (double)f).Average(), avg.Data[p], 5);
            Assert.Equal(plane.Max(), max.Data[p]);
        }
    }

    [Fact]
    public void Unbatched_input_is_supported()
    {
        var v = Values([3, 6, 6], 2);
        TensorAssert.ShapeIs(F.AdaptiveAvgPool2d(Tensor.FromArray(v, 3, 6, 6), (2, 3)), 3, 2, 3);
        TensorAssert.ShapeIs(F.AdaptiveMaxPool2d(Tensor.FromArray(v, 3, 6, 6), 2), 3, 2, 2);
    }

    [Fact]
    public void Bad_inputs_throw_naming_shapes()
    {
        var e1 = Assert.Throws<ShapeException>(() => F.AdaptiveAvgPool2d(Tensor.Zeros(4, 4), 1));
        Assert.Contains("(4, 4)", e1.Message);
        var e2 = Assert.Throws<ShapeException>(() => F.AdaptiveMaxPool2d(Tensor.Zeros(1, 1, 4, 4), (0, 2)));
        Assert.Contains("outputSize (0, 2)", e2.Message);
        var e3 = Assert.Throws<ShapeException>(() => F.AdaptiveAvgPool2d(Tensor.Zeros(1, 1, 0, 4), 1));
        Assert.Contains("(1, 1, 0, 4)", e3.Message);
    }
}
