using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class LpPool2dTests
{
    public static TheoryData<int> Forward => PoolCases.ForwardIndices;
    public static TheoryData<int> Grad => PoolCases.GradIndices;

    private static Tensor Pool(Tensor x, double p, Reference.PoolSpec k) => F.LpPool2d(x, p, (k.KH, k.KW), (k.SH, k.SW), k.Ceil);

    private static float[] Positive(float[] values) => values.Select(v => v + 1.5f).ToArray();

    [Theory, MemberData(nameof(Forward))]
    public void L2_forward_matches_naive_double_reference(int index)
    {
        var c = PoolCases.Get(index, dilation: false, padding: false);
        var y = Pool(c.Input(), 2, c.Spec);
        TensorAssert.Close(Reference.LpPool2d(c.DoubleValues, c.Shape, 2, c.Spec), y, Tolerance.Float32, c.ToString());
    }

    [Theory, MemberData(nameof(Forward))]
    public void Fractional_p_forward_matches_naive_double_reference(int index)
    {
        var c = PoolCases.Get(index, dilation: false, padding: false);
        var values = Positive(c.Values);
        double p = 1 + index % 4 * 0.75; // 1, 1.75, 2.5, 3.25
        var y = Pool(Tensor.FromArray(values, c.Shape), p, c.Spec);
        var expected = Reference.LpPool2d(values.Select(v => (double)v).ToArray(), c.Shape, p, c.Spec);
        TensorAssert.Close(expected, y, Tolerance.Float32, $"{c} p {p}");
    }

    [Theory, MemberData(nameof(Grad))]
    public void L2_backward_matches_finite_differences(int index)
    {
        var c = PoolCases.Get(index, dilation: false, small: true, padding: false);
        GradCheck.Check(c.Shape, c.Values, x => Pool(x, 2, c.Spec), x => Reference.LpPool2d(x, c.Shape, 2, c.Spec));
    }

    [Theory, MemberData(nameof(Grad))]
    public void General_p_backward_matches_finite_differences(int index)
    {
        var c = PoolCases.Get(index, dilation: false, small: true, padding: false);
        double p = 1 + index % 4 * 0.75;
        GradCheck.Check(c.Shape, Positive(c.Values), x => Pool(x, p, c.Spec), x => Reference.LpPool2d(x, c.Shape, p, c.Spec));
    }

    [Fact]
    public void Ceil_mode_scales_a_partial_window_by_kernel_area_over_taps_as_pytorch()
    {
        // W = 3, k = 2, ceil: the last window holds one column; PyTorch's avg_pool2d(x^2) * 4 makes its sum count twice.
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 1, 1, 2, 3);
        var y = F.LpPool2d(x, 2, 2, ceilMode: true);
        Assert.Equal(MathF.Sqrt(1 + 4 + 16 + 25), y.Data[0], 5);
        Assert.Equal(MathF.Sqrt((9 + 36) * 2f), y.Data[1], 5);
    }

    [Fact]
    public void Zero_norm_window_has_zero_gradient()
    {
        var x = Tensor.FromArray([0f, 0f, 3f, 4f, 0f, 0f, 0f, 0f], 1, 1, 2, 4).RequiresGrad_();
        var y = F.LpPool2d(x, 2, 2);
        Assert.Equal(new[] { 0f, 5f }, y.ToArray());
        y.Backward(Tensor.Ones(1, 1, 1, 2));
        var g = x.Grad!.ToArray();
        Assert.All(g, v => Assert.False(float.IsNaN(v)));
        Assert.Equal(new[] { 0f, 0f, 0.6f, 0.8f, 0f, 0f, 0f, 0f }, g.Select(v => MathF.Round(v, 6)).ToArray());
    }

    [Fact]
    public void P1_is_the_window_sum()
    {
        var values = GradCheck.DistinctValues(2 * 6 * 6, 4);
        var x = Tensor.FromArray(values, 1, 2, 6, 6);
        var y = F.LpPool2d(x, 1, 3);
        var sums = F.AvgPool2d(x, 3).ToArray().Select(v => v * 9).ToArray();
        TensorAssert.Close(sums, y.Data, Tolerance.Float32);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-2.0)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NaN)]
    public void Invalid_norm_type_throws(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => F.LpPool2d(Tensor.Zeros(1, 1, 4, 4), p, 2));

    [Fact]
    public void Window_larger_than_input_throws_naming_shapes()
    {
        var ex = Assert.Throws<ShapeException>(() => F.LpPool2d(Tensor.Zeros(1, 2, 3, 3), 2, 4));
        Assert.Contains("LpPool2d", ex.Message);
        Assert.Contains("(1, 2, 3, 3)", ex.Message);
    }
}
