using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class AvgPool2dTests
{
    public static TheoryData<int> Forward => PoolCases.ForwardIndices;
    public static TheoryData<int> Grad => PoolCases.GradIndices;

    private static Tensor Pool(Tensor x, Reference.PoolSpec k, bool countIncludePad, int? divisorOverride = null) =>
        F.AvgPool2d(x, (k.KH, k.KW), (k.SH, k.SW), (k.PH, k.PW), k.Ceil, countIncludePad, divisorOverride);

    [Theory, MemberData(nameof(Forward))]
    public void Forward_matches_naive_double_reference_counting_padding(int index)
    {
        var c = PoolCases.Get(index, dilation: false);
        var y = Pool(c.Input(), c.Spec, countIncludePad: true);
        TensorAssert.Close(Reference.AvgPool2d(c.DoubleValues, c.Shape, c.Spec, countIncludePad: true), y, Tolerance.Float32, c.ToString());
    }

    [Theory, MemberData(nameof(Forward))]
    public void Forward_matches_naive_double_reference_excluding_padding(int index)
    {
        var c = PoolCases.Get(index, dilation: false);
        var y = Pool(c.Input(), c.Spec, countIncludePad: false);
        TensorAssert.Close(Reference.AvgPool2d(c.DoubleValues, c.Shape, c.Spec, countIncludePad: false), y, Tolerance.Float32, c.ToString());
    }

    [Theory, MemberData(nameof(Grad))]
    public void Backward_matches_finite_differences(int index)
    {
        var c = PoolCases.Get(index, dilation: false, small: true);
        bool include = index % 2 == 0;
        int? divisor = index % 5 == 0 ? 3 : null;
        GradCheck.Check(c.Shape, c.Values, x => Pool(x, c.Spec, include, divisor),
            x => Reference.AvgPool2d(x, c.Shape, c.Spec, include, divisor));
    }

    [Fact]
    public void Divisor_override_replaces_window_size()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f], 1, 1, 2, 4);
        var y = F.AvgPool2d(x, 2, divisorOverride: 3);
        Assert.Equal(new[] { 14f / 3, 22f / 3 }, y.ToArray());
    }

    [Fact]
    public void Count_include_pad_changes_only_border_windows()
    {
        // 3x3 input, k = 3, s = 1, p = 1: the corner window covers 4 input values and 5 padding taps.
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f], 1, 1, 3, 3);
        var incl = F.AvgPool2d(x, 3, stride: 1, padding: 1, countIncludePad: true);
        var excl = F.AvgPool2d(x, 3, stride: 1, padding: 1, countIncludePad: false);
        Assert.Equal(12f / 9, incl.Data[0], 6);
        Assert.Equal(12f / 4, excl.Data[0], 6);
        Assert.Equal(5f, incl.Data[4], 6); // the centre window has no padding
        Assert.Equal(5f, excl.Data[4], 6);
    }

    [Fact]
    public void Ceil_mode_overhang_is_not_counted_even_with_count_include_pad()
    {
        // W = 5, k = 2, s = 2, ceil: the last window covers column 4 and one column past the input (no padding there),
        // so PyTorch divides by 2*1 = 2, not 4.
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f], 1, 1, 2, 5);
        var y = F.AvgPool2d(x, 2, ceilMode: true, countIncludePad: true);
        Assert.Equal(new[] { 16f / 4, 24f / 4, 15f / 2 }, y.ToArray());
    }

    [Fact]
    public void Ceil_mode_with_padding_counts_the_padding_but_not_the_overhang()
    {
        // W = 4, k = 3, s = 2, p = 1, ceil: windows start at -1, 1, 3; the last covers 3, 4 (pad), 5 (overhang):
        // divisor 2 (with pad) vs 1 (without).
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 1, 1, 4);
        var incl = F.AvgPool2d(x, (1, 3), stride: (1, 2), padding: (0, 1), ceilMode: true, countIncludePad: true);
        var excl = F.AvgPool2d(x, (1, 3), stride: (1, 2), padding: (0, 1), ceilMode: true, countIncludePad: false);
        Assert.Equal(new[] { 3f / 3, 9f / 3, 4f / 2 }, incl.ToArray());
        Assert.Equal(new[] { 3f / 2, 9f / 3, 4f / 1 }, excl.ToArray());
    }

    [Fact]
    public void Non_positive_divisor_override_throws()
    {
        var ex = Assert.Throws<ShapeException>(() => F.AvgPool2d(Tensor.Zeros(1, 1, 4, 4), 2, divisorOverride: 0));
        Assert.Contains("divisorOverride", ex.Message);
    }

    [Fact]
    public void Window_larger_than_padded_input_throws_naming_shapes()
    {
        var ex = Assert.Throws<ShapeException>(() => F.AvgPool2d(Tensor.Zeros(2, 3, 4, 1), (5, 3), padding: (0, 1)));
        Assert.Contains("AvgPool2d", ex.Message);
        Assert.Contains("(2, 3, 4, 1)", ex.Message);
        Assert.Contains("kernel (5, 3)", ex.Message);
    }

    [Fact]
    public void Average_never_exceeds_max()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 2 * 11 * 11, 8), 2, 2, 11, 11);
        var avg = F.AvgPool2d(x, 3, stride: 2, padding: 1, countIncludePad: false);
        var max = F.MaxPool2d(x, 3, stride: 2, padding: 1);
        for (int i = 0; i < avg.Numel; i++) Assert.True(avg.Data[i] <= max.Data[i] + 1e-6f);
    }
}
