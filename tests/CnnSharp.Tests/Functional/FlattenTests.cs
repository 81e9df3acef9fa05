using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class FlattenTests
{
    [Theory]
    [InlineData(0, -1, new[] { 210 })]
    [InlineData(1, -1, new[] { 2, 105 })]
    [InlineData(1, 2, new[] { 2, 15, 7 })]
    [InlineData(-2, -1, new[] { 2, 3, 35 })]
    [InlineData(2, 2, new[] { 2, 3, 5, 7 })]
    public void Flatten_merges_the_requested_dimensions(int start, int end, int[] expected)
    {
        var v = GradCheck.RandomValues(210, 1);
        var y = F.Flatten(Tensor.FromArray(v, 2, 3, 5, 7), start, end);
        TensorAssert.ShapeIs(y, expected);
        Assert.Equal(v, y.ToArray());
    }

    [Fact]
    public void Flatten_is_a_view_and_backward_reshapes_the_gradient()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(24, 2), 2, 3, 4).RequiresGrad_();
        var y = F.Flatten(x, 1);
        var g = GradCheck.RandomValues(24, 3);
        y.Backward(Tensor.FromArray(g, 2, 12));
        Assert.Equal(g, x.Grad!.ToArray());
        TensorAssert.ShapeIs(x.Grad!, 2, 3, 4);
    }

    [Fact]
    public void Backward_matches_finite_differences() =>
        GradCheck.Check([2, 3, 4], GradCheck.RandomValues(24, 4), x => F.Flatten(x, 1), x => x);

    [Fact]
    public void Scalar_flattens_to_one_element() => TensorAssert.ShapeIs(F.Flatten(Tensor.Scalar(2f)), 1);

    [Fact]
    public void Bad_dims_throw_naming_shape()
    {
        var x = Tensor.Zeros(2, 3, 4);
        Assert.Contains("(2, 3, 4)", Assert.Throws<ShapeException>(() => F.Flatten(x, 3)).Message);
        Assert.Contains("(2, 3, 4)", Assert.Throws<ShapeException>(() => F.Flatten(x, 2, 1)).Message);
        Assert.Throws<ShapeException>(() => F.Flatten(x, 0, -4));
    }
}
