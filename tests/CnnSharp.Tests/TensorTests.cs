using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests;

public sealed class TensorTests
{
    [Fact]
    public void Reshape_shares_storage_and_backward_flows()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2).RequiresGrad_();
        var y = x.Reshape(4);
        y.Data[0] = 5f;
        Assert.Equal(5f, x[0, 0]);
        y.Backward(Tensor.FromArray([1f, 2f, 3f, 4f], 4));
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Reshape_infers_minus_one_dimension()
    {
        var x = Tensor.Zeros(2, 3, 4);
        TensorAssert.ShapeIs(x.Reshape(2, -1), 2, 12);
        TensorAssert.ShapeIs(x.Reshape(-1), 24);
    }

    [Theory]
    [InlineData(new[] { 5, 5 })]
    [InlineData(new[] { -1, -1 })]
    [InlineData(new[] { -1, 7 })]
    [InlineData(new[] { -3, 8 })]
    public void Reshape_to_incompatible_shape_throws_naming_both_shapes(int[] dims)
    {
        var x = Tensor.Zeros(2, 3, 4);
        var ex = Assert.Throws<ShapeException>(() => x.Reshape(dims));
        Assert.Contains("(2, 3, 4)", ex.Message);
    }

    [Fact]
    public void Flatten_merges_the_given_dimension_range()
    {
        var x = Tensor.Zeros(2, 3, 4, 5);
        TensorAssert.ShapeIs(x.Flatten(), 120);
        TensorAssert.ShapeIs(x.Flatten(1), 2, 60);
        TensorAssert.ShapeIs(x.Flatten(1, 2), 2, 12, 5);
        TensorAssert.ShapeIs(x.Unsqueeze(0), 1, 2, 3, 4, 5);
        TensorAssert.ShapeIs(x.Unsqueeze(-1), 2, 3, 4, 5, 1);
        TensorAssert.ShapeIs(Tensor.Zeros(2, 1, 3).Squeeze(1), 2, 3);
    }

    [Fact]
    public void Constructor_rejects_data_of_the_wrong_length()
    {
        var ex = Assert.Throws<ShapeException>(() => Tensor.FromArray([1f, 2f, 3f], 2, 2));
        Assert.Contains("(2, 2)", ex.Message);
    }

    [Fact]
    public void Indexer_reads_row_major_and_checks_bounds()
    {
        var x = Tensor.FromArray([0f, 1f, 2f, 3f, 4f, 5f], 2, 3);
        Assert.Equal(5f, x[1, 2]);
        Assert.Equal(3f, x[1, 0]);
        Assert.Throws<IndexOutOfRangeException>(() => x[2, 0]);
        Assert.Throws<ShapeException>(() => x[1]);
    }

    [Fact]
    public void ToString_shows_values_shape_and_grad_fn()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2).RequiresGrad_();
        Assert.Equal("tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=(2, 2), requires_grad=True)", x.ToString());
        Assert.Contains("grad_fn=", (x * 2f).ToString());
        Assert.Contains("...", Tensor.Arange(100).ToString());
    }

    [Fact]
    public void Item_requires_exactly_one_element()
    {
        Assert.Equal(3f, Tensor.Scalar(3f).Item());
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2).Item());
    }

    [Fact]
    public void Random_factories_are_reproducible_for_a_seed_and_have_the_right_moments()
    {
        var a = Tensor.Normal(new Generator(3), new Shape(20000), 1f, 2f);
        var b = Tensor.Normal(new Generator(3), new Shape(20000), 1f, 2f);
        Assert.Equal(a.ToArray(), b.ToArray());
        double mean = a.ToArray().Average(v => (double)v);
        double var = a.ToArray().Average(v => (v - mean) * (v - mean));
        Assert.InRange(mean, 0.95, 1.05);
        Assert.InRange(var, 3.8, 4.2);
        var u = Tensor.Uniform(new Generator(4), new Shape(10000), -2f, 3f);
        Assert.All(u.ToArray(), v => Assert.InRange(v, -2f, 3f));
        Assert.InRange(u.ToArray().Average(v => (double)v), 0.4, 0.6);
    }

    [Fact]
    public void Generator_shuffle_is_a_seeded_permutation()
    {
        var a = Enumerable.Range(0, 100).ToArray();
        var b = Enumerable.Range(0, 100).ToArray();
        new Generator(9).Shuffle(a.AsSpan());
        new Generator(9).Shuffle(b.AsSpan());
        Assert.Equal(a, b);
        Assert.NotEqual(Enumerable.Range(0, 100), a);
        Assert.Equal(Enumerable.Range(0, 100), a.Order());
    }

    [Fact]
    public void Shape_rejects_negative_dimensions_and_normalizes_axes()
    {
        Assert.Throws<ShapeException>(() => new Shape(2, -1));
        var s = new Shape(2, 3, 4);
        Assert.Equal(4, s[-1]);
        Assert.Equal(24, s.Numel);
        Assert.Throws<ShapeException>(() => s.NormalizeAxis(3));
        Assert.Equal(new[] { 12, 4, 1 }, s.Strides());
    }
}
