using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class GroupLayerNormTests
{
    [Theory]
    [InlineData(2, 6, 3, 2, true)]
    [InlineData(3, 4, 1, 4, true)]
    [InlineData(2, 4, 4, 4, false)]
    public void GroupNorm_matches_the_reference_and_finite_differences(int n, int c, int groups, int spatial, bool affine)
    {
        int[] xs = [n, c, spatial, 1];
        var x = GradCheck.RandomValues(n * c * spatial, 1, -2f, 3f);
        var shapes = new List<int[]> { xs };
        var values = new List<float[]> { x };
        if (affine)
        {
            shapes.AddRange([[c], [c]]);
            values.AddRange([GradCheck.RandomValues(c, 2, 0.5f, 1.5f), GradCheck.RandomValues(c, 3)]);
        }
        int block = c / groups * spatial;
        var y = F.GroupNorm(Tensor.FromArray(x, xs), groups, affine ? Tensor.FromArray(values[1], c) : null, affine ? Tensor.FromArray(values[2], c) : null);
        TensorAssert.Close(Reference.BlockNorm(TensorAssert.ToDouble(x), block, affine ? TensorAssert.ToDouble(values[1]) : null,
            affine ? TensorAssert.ToDouble(values[2]) : null, spatial, 1e-5), y, Tolerance.Accumulated, "group norm");
        GradCheck.Check([.. shapes], [.. values], t => F.GroupNorm(t[0], groups, affine ? t[1] : null, affine ? t[2] : null),
            d => Reference.BlockNorm(d[0], block, affine ? d[1] : null, affine ? d[2] : null, spatial, 1e-5));
    }

    [Theory]
    [InlineData(new[] { 4, 6 }, new[] { 6 }, true)]
    [InlineData(new[] { 2, 3, 2, 3 }, new[] { 2, 3 }, true)]
    [InlineData(new[] { 3, 5 }, new[] { 5 }, false)]
    public void LayerNorm_matches_the_reference_and_finite_differences(int[] xs, int[] normalized, bool affine)
    {
        int m = normalized.Aggregate(1, (a, b) => a * b);
        var x = GradCheck.RandomValues(xs.Aggregate(1, (a, b) => a * b), 4, -2f, 3f);
        var shapes = new List<int[]> { xs };
        var values = new List<float[]> { x };
        if (affine)
        {
            shapes.AddRange([normalized, normalized]);
            values.AddRange([GradCheck.RandomValues(m, 5, 0.5f, 1.5f), GradCheck.RandomValues(m, 6)]);
        }
        GradCheck.Check([.. shapes], [.. values], t => F.LayerNorm(t[0], normalized, affine ? t[1] : null, affine ? t[2] : null),
            d => Reference.BlockNorm(d[0], m, affine ? d[1] : null, affine ? d[2] : null, 1, 1e-5));
    }

    [Fact]
    public void A_bias_without_a_weight_is_applied_and_differentiated()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(12, 7), 2, 6);
        var bias = Tensor.FromArray(GradCheck.RandomValues(6, 8), 6).RequiresGrad_();
        var y = F.LayerNorm(x, [6], null, bias);
        var plain = F.LayerNorm(x, [6]);
        for (int i = 0; i < 12; i++) Assert.Equal(plain.Data[i] + bias.Data[i % 6], y.Data[i], 5);
        y.Backward(Tensor.Ones(2, 6));
        Assert.All(bias.Grad!.ToArray(), g => Assert.Equal(2f, g));
    }

    [Fact]
    public void Bad_shapes_throw_shape_exceptions_naming_the_op_and_shapes()
    {
        var gn = Assert.Throws<ShapeException>(() => F.GroupNorm(Tensor.Zeros(2, 6, 3), 4));
        Assert.Contains("GroupNorm: expected the number of channels 6 to be divisible by num_groups 4 (input (2, 6, 3)", gn.Message, StringComparison.Ordinal);
        Assert.Contains("GroupNorm: weight has shape (4)", Assert.Throws<ShapeException>(() => F.GroupNorm(Tensor.Zeros(2, 6, 3), 2, Tensor.Ones(4))).Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => F.GroupNorm(Tensor.Zeros(6), 2));
        var ln = Assert.Throws<ShapeException>(() => F.LayerNorm(Tensor.Zeros(2, 3, 4), [3]));
        Assert.Contains("LayerNorm: expected an input whose trailing dimensions are (3) (input (2, 3, 4)", ln.Message, StringComparison.Ordinal);
        Assert.Contains("LayerNorm: bias has shape (3)", Assert.Throws<ShapeException>(() => F.LayerNorm(Tensor.Zeros(2, 4), [4], null, Tensor.Zeros(3))).Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => F.LayerNorm(Tensor.Zeros(2, 4), []));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.LayerNorm(Tensor.Zeros(2, 4), [4], eps: -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.GroupNorm(Tensor.Zeros(2, 4), 2, eps: float.NaN));
    }
}
