using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class InterpolateTests
{
    [Fact]
    public void Nearest_2x_repeats_each_pixel_into_a_2x2_block()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 1, 2, 2);
        var y = F.Interpolate(x, scaleFactor: (2, 2));
        Assert.Equal([1f, 1f, 2f, 2f, 1f, 1f, 2f, 2f, 3f, 3f, 4f, 4f, 3f, 3f, 4f, 4f], y.ToArray());
    }

    [Fact]
    public void Bilinear_align_corners_keeps_the_corners_and_interpolates_linearly()
    {
        var x = Tensor.FromArray([0f, 3f, 6f, 9f], 1, 1, 2, 2);
        var y = F.Interpolate(x, (3, 4), mode: InterpolationMode.Bilinear, alignCorners: true);
        // Rows 0, 3, 6 down; columns step 1 across (0 -> 3 over 3 steps).
        Assert.Equal([0f, 1f, 2f, 3f, 3f, 4f, 5f, 6f, 6f, 7f, 8f, 9f], y.ToArray());
    }

    [Theory]
    [InlineData(3, 4, 5, 7, false)]
    [InlineData(3, 4, 6, 8, false)]
    [InlineData(6, 5, 3, 2, false)]
    [InlineData(3, 4, 5, 7, true)]
    [InlineData(1, 3, 4, 5, true)]
    [InlineData(4, 4, 1, 1, true)]
    public void Bilinear_matches_the_reference_and_finite_differences(int h, int w, int oh, int ow, bool align)
    {
        int[] shape = [2, 2, h, w];
        var values = GradCheck.RandomValues(shape.Aggregate(1, (a, b) => a * b), 3);
        var y = F.Interpolate(Tensor.FromArray(values, shape), (oh, ow), mode: InterpolationMode.Bilinear, alignCorners: align);
        TensorAssert.Close(Reference.Bilinear(TensorAssert.ToDouble(values), shape, oh, ow, align), y, Tolerance.Float32, "bilinear");
        GradCheck.Check(shape, values, t => F.Interpolate(t, (oh, ow), mode: InterpolationMode.Bilinear, alignCorners: align),
            d => Reference.Bilinear(d, shape, oh, ow, align));
    }

    [Fact]
    public void Bilinear_with_a_scale_factor_samples_with_one_over_the_factor()
    {
        int[] shape = [1, 1, 4, 5];
        var values = GradCheck.RandomValues(20, 4);
        var y = F.Interpolate(Tensor.FromArray(values, shape), scaleFactor: (1.5, 1.5), mode: InterpolationMode.Bilinear);
        TensorAssert.ShapeIs(y, 1, 1, 6, 7);
        TensorAssert.Close(Reference.Bilinear(TensorAssert.ToDouble(values), shape, 6, 7, false, 1.5, 1.5), y, Tolerance.Float32, "scale 1.5");
    }

    [Theory]
    [InlineData(3, 4, 5, 7)]
    [InlineData(5, 7, 2, 3)]
    [InlineData(2, 3, 4, 6)]
    public void Nearest_matches_the_reference_and_finite_differences(int h, int w, int oh, int ow)
    {
        int[] shape = [1, 2, h, w];
        var values = GradCheck.RandomValues(shape.Aggregate(1, (a, b) => a * b), 5);
        var y = F.Interpolate(Tensor.FromArray(values, shape), (oh, ow));
        TensorAssert.Close(Reference.Nearest(TensorAssert.ToDouble(values), shape, oh, ow), y, Tolerance.Float32, "nearest");
        GradCheck.Check(shape, values, t => F.Interpolate(t, (oh, ow)), d => Reference.Nearest(d, shape, oh, ow));
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_typed_errors()
    {
        var x = Tensor.Zeros(1, 1, 3, 3);
        Assert.Contains("Interpolate: expected a 4-D input", Assert.Throws<ShapeException>(() => F.Interpolate(Tensor.Zeros(1, 3, 3), (2, 2))).Message, StringComparison.Ordinal);
        Assert.Contains("exactly one of size and scale_factor", Assert.Throws<ArgumentException>(() => F.Interpolate(x)).Message, StringComparison.Ordinal);
        Assert.Contains("exactly one", Assert.Throws<ArgumentException>(() => F.Interpolate(x, (2, 2), (2, 2))).Message, StringComparison.Ordinal);
        Assert.Contains("align_corners only applies", Assert.Throws<ArgumentException>(() => F.Interpolate(x, (2, 2), alignCorners: true)).Message, StringComparison.Ordinal);
        Assert.Contains("finite and positive", Assert.Throws<ArgumentException>(() => F.Interpolate(x, scaleFactor: (double.NaN, 2))).Message, StringComparison.Ordinal);
        var small = Assert.Throws<ShapeException>(() => F.Interpolate(x, scaleFactor: (0.2, 0.2)));
        Assert.Contains("output size (0, 0) must be positive", small.Message, StringComparison.Ordinal);
        Assert.Contains("input (1, 1, 3, 3)", small.Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => F.Interpolate(x, (0, 2)));
        Assert.Throws<ShapeException>(() => F.Interpolate(x, scaleFactor: (1e9, 1e9)));
    }
}
