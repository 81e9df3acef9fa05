using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class ReshapeTests
{
    [Fact]
    public void Reshape_and_view_infer_minus_one_and_share_storage()
    {
        var x = Tensor.Arange(24).Reshape(2, 3, 4);
        var y = F.Reshape(x, 4, -1);
        TensorAssert.ShapeIs(y, 4, 6);
        TensorAssert.ShapeIs(F.View(x, -1), 24);
        y.Data[5] = 100f;
        Assert.Equal(100f, x[0, 1, 1]);
    }

    [Fact]
    public void Backward_matches_finite_differences() =>
        GradCheck.Check([2, 3, 4], GradCheck.RandomValues(24, 4), x => F.View(F.Reshape(x, 6, -1), 3, 8), x => x);

    [Fact]
    public void Bad_shapes_throw_naming_the_shapes()
    {
        var x = Tensor.Zeros(2, 3, 4);
        Assert.Contains("(2, 3, 4)", Assert.Throws<ShapeException>(() => F.Reshape(x, 5, -1)).Message, StringComparison.Ordinal);
        Assert.Contains("(5, 5)", Assert.Throws<ShapeException>(() => F.View(x, 5, 5)).Message, StringComparison.Ordinal);
        Assert.Contains("only one", Assert.Throws<ShapeException>(() => F.Reshape(x, -1, -1)).Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => F.Reshape(x, -2, 12));
        Assert.Throws<ShapeException>(() => F.Reshape(Tensor.Zeros(0, 3), 0, -1));
    }
}
