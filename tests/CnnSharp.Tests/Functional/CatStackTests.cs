using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Tests.Functional.ManipulationCases;

namespace CnnSharp.Tests.Functional;

public sealed class CatStackTests
{
    /// <summary>Up to three inputs of random shapes that agree except along a random dim (sizes 0..3 there).</summary>
    private static (int[][] Shapes, float[][] Values, int Dim) CatCase(int seed)
    {
        var rng = new Random(seed);
        int rank = Rank(seed);
        var shape = Shape(rng, rank);
        int dim = Dim(rng, rank);
        int d = dim < 0 ? dim + rank : dim;
        int n = rng.Next(1, 4);
        var shapes = new int[n][];
        for (int i = 0; i < n; i++)
        {
            shapes[i] = (int[])shape.Clone();
            shapes[i][d] = rng.Next(i == 0 ? 1 : 0, 4);
        }
        return (shapes, [.. shapes.Select((s, i) => Values(s, seed * 10 + i))], dim);
    }

    private static int Positive(int dim, int rank) => dim < 0 ? dim + rank : dim;

    [Theory]
    [MemberData(nameof(Seeds), MemberType = typeof(ManipulationCases))]
    public void Cat_matches_the_index_reference(int seed)
    {
        var (shapes, values, dim) = CatCase(seed);
        var xs = shapes.Select((s, i) => Tensor.FromArray(values[i], s)).ToArray();
        var y = F.Cat(xs, dim);
        int d = Positive(dim, shapes[0].Length);
        var expected = Reference.Cat([.. values.Select(v => v.Select(f => (double)f).ToArray())], shapes, d);
        var outShape = (int[])shapes[0].Clone();
        outShape[d] = shapes.Sum(s => s[d]);
        TensorAssert.ShapeIs(y, outShape);
        Assert.Equal(ToFloat(expected), y.ToArray());
    }

    [Theory]
    [MemberData(nameof(Seeds), MemberType = typeof(ManipulationCases))]
    public void Cat_backward_matches_finite_differences(int seed)
    {
        var (shapes, values, dim) = CatCase(seed);
        int d = Positive(dim, shapes[0].Length);
        GradCheck.Check(shapes, values, t => F.Cat(t, dim), v => Reference.Cat(v, shapes, d));
    }

    [Theory]
    [MemberData(nameof(Seeds), MemberType = typeof(ManipulationCases))]
    public void Stack_matches_the_index_reference_and_finite_differences(int seed)
    {
        var rng = new Random(seed);
        int rank = Rank(seed) - 1; // stacking adds one: outputs of rank 1..5
        var shape = Shape(rng, rank);
        int dim = rng.Next(-rank - 1, rank + 1);
        int n = rng.Next(1, 4);
        var shapes = Enumerable.Repeat(shape, n).ToArray();
        var values = Enumerable.Range(0, n).Select(i => Values(shape, seed * 10 + i)).ToArray();
        int d = Positive(dim, rank + 1);
        var y = F.Stack([.. values.Select(v => Tensor.FromArray(v, shape))], dim);
        TensorAssert.ShapeIs(y, [.. shape.Take(d).Append(n).Concat(shape.Skip(d))]);
        Assert.Equal(ToFloat(Reference.Stack([.. values.Select(v => v.Select(f => (double)f).ToArray())], shape, d)), y.ToArray());
        GradCheck.Check(shapes, values, t => F.Stack(t, dim), v => Reference.Stack(v, shape, d));
    }

    [Fact]
    public void Cat_copies_and_only_inputs_that_require_grad_get_gradients()
    {
        var a = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        var b = Tensor.FromArray([3f], 1);
        var y = F.Cat([a, b]);
        y.Data[0] = 9f;
        Assert.Equal(1f, a.Data[0]);
        y.Backward(Tensor.FromArray([1f, 2f, 3f], 3));
        Assert.Equal([1f, 2f], a.Grad!.ToArray());
        Assert.Null(b.Grad);
        Assert.Contains("Cat", y.GradFn!.Name, StringComparison.Ordinal);
    }

    [Fact]
    public void An_input_used_twice_accumulates_both_gradient_blocks()
    {
        var a = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        F.Cat([a, a]).Backward(Tensor.FromArray([1f, 2f, 10f, 20f], 4));
        Assert.Equal([11f, 22f], a.Grad!.ToArray());
        F.Stack([a, a], 1).Backward(Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2));
        Assert.Equal([14f, 29f], a.Grad!.ToArray());
    }

    [Fact]
    public void Stack_of_scalars_is_a_vector() =>
        Assert.Equal([1f, 2f, 3f], F.Stack([Tensor.Scalar(1f), Tensor.Scalar(2f), Tensor.Scalar(3f)]).ToArray());

    [Fact]
    public void Cat_rejects_bad_input_naming_op_shapes_and_dim()
    {
        var a = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ShapeException>(() => F.Cat([a, Tensor.Zeros(3, 3)], 1));
        Assert.Contains("Cat", e.Message, StringComparison.Ordinal);
        Assert.Contains("(3, 3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(2, 3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("dim 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("(2, 3, 1)", Assert.Throws<ShapeException>(() => F.Cat([a, Tensor.Zeros(2, 3, 1)])).Message, StringComparison.Ordinal);
        Assert.Contains("dim 2", Assert.Throws<ShapeException>(() => F.Cat([a, a], 2)).Message, StringComparison.Ordinal);
        Assert.Contains("dim -3", Assert.Throws<ShapeException>(() => F.Cat([a, a], -3)).Message, StringComparison.Ordinal);
        Assert.Contains("non-empty", Assert.Throws<ShapeException>(() => F.Cat([])).Message, StringComparison.Ordinal);
        Assert.Contains("rank 0", Assert.Throws<ShapeException>(() => F.Cat([Tensor.Scalar(1f)])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => F.Cat([a, null!]));
    }

    [Fact]
    public void Stack_rejects_bad_input_naming_op_shapes_and_dim()
    {
        var a = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ShapeException>(() => F.Stack([a, Tensor.Zeros(3, 2)]));
        Assert.Contains("Stack", e.Message, StringComparison.Ordinal);
        Assert.Contains("(3, 2)", e.Message, StringComparison.Ordinal);
        Assert.Contains("dim 3", Assert.Throws<ShapeException>(() => F.Stack([a, a], 3)).Message, StringComparison.Ordinal);
        Assert.Contains("dim -4", Assert.Throws<ShapeException>(() => F.Stack([a, a], -4)).Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => F.Stack([]));
    }
}
