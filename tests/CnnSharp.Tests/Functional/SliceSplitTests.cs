using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Tests.Functional.ManipulationCases;

namespace CnnSharp.Tests.Functional;

public sealed class SliceSplitTests
{
    /// <summary>A random slice, with bounds that are sometimes negative, sometimes out of range and sometimes omitted.</summary>
    private static (int[] Shape, float[] Values, int Dim, int? Start, int? End, int Step) SliceCase(int seed)
    {
        var rng = new Random(seed + 100);
        int rank = Rank(seed);
        var shape = Shape(rng, rank, maxDim: 5);
        int dim = Dim(rng, rank);
        int? Bound() => rng.Next(4) == 0 ? null : rng.Next(-7, 8);
        return (shape, Values(shape, seed), dim, Bound(), Bound(), rng.Next(1, 4));
    }

    [Theory]
    [MemberData(nameof(Seeds), MemberType = typeof(ManipulationCases))]
    public void Slice_follows_python_slicing_forward_and_backward(int seed)
    {
        var (shape, values, dim, start, end, step) = SliceCase(seed);
        int d = dim < 0 ? dim + shape.Length : dim;
        var indices = Reference.PythonSliceIndices(shape[d], start, end, step);
        double[] Ref(double[] v) => Reference.Select(v, shape, d, indices);
        var y = F.Slice(Tensor.FromArray(values, shape), dim, start, end, step);
        var expectedShape = (int[])shape.Clone();
        expectedShape[d] = indices.Length;
        TensorAssert.ShapeIs(y, expectedShape);
        Assert.Equal(ToFloat(Ref([.. values.Select(f => (double)f)])), y.ToArray());
        if (indices.Length > 0) GradCheck.Check(shape, values, x => F.Slice(x, dim, start, end, step), Ref);
    }

    [Theory]
    [MemberData(nameof(Seeds), MemberType = typeof(ManipulationCases))]
    public void Narrow_matches_the_index_reference_forward_and_backward(int seed)
    {
        var rng = new Random(seed + 200);
        int rank = Rank(seed);
        var shape = Shape(rng, rank, maxDim: 4);
        int dim = Dim(rng, rank);
        int d = dim < 0 ? dim + rank : dim;
        int start = rng.Next(0, shape[d]);
        int length = rng.Next(1, shape[d] - start + 1);
        int startArg = rng.Next(2) == 0 ? start : start - shape[d];
        var values = Values(shape, seed);
        var indices = Enumerable.Range(start, length).ToArray();
        double[] Ref(double[] v) => Reference.Select(v, shape, d, indices);
        Assert.Equal(ToFloat(Ref([.. values.Select(f => (double)f)])), F.Narrow(Tensor.FromArray(values, shape), dim, startArg, length).ToArray());
        GradCheck.Check(shape, values, x => x.Narrow(dim, startArg, length), Ref);
    }

    [Fact]
    public void Slice_is_a_copy_and_clamps_like_python()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        var y = x.Slice(1, -2);
        Assert.Equal([1f, 2f, 4f, 5f], y.ToArray());
        y.Data[0] = 99f;
        Assert.Equal(1f, x[0, 1]);
        TensorAssert.ShapeIs(x.Slice(1, 5, 9), 2, 0);
        TensorAssert.ShapeIs(x.Slice(0, -9, 9), 2, 3);
        Assert.Equal([0f, 2f, 3f, 5f], x.Slice(-1, step: 2).ToArray());
    }

    [Fact]
    public void Slice_and_narrow_reject_bad_arguments_naming_op_shape_and_dim()
    {
        var x = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ShapeException>(() => F.Slice(x, 2, 0, 1));
        Assert.Contains("Slice", e.Message, StringComparison.Ordinal);
        Assert.Contains("(2, 3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("dim 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("step", Assert.Throws<ShapeException>(() => F.Slice(x, 0, step: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("step", Assert.Throws<ShapeException>(() => F.Slice(x, 0, step: -1)).Message, StringComparison.Ordinal);
        Assert.Contains("rank 0", Assert.Throws<ShapeException>(() => F.Slice(Tensor.Scalar(1f), 0)).Message, StringComparison.Ordinal);
        var n = Assert.Throws<ShapeException>(() => F.Narrow(x, 1, 2, 2));
        Assert.Contains("Narrow", n.Message, StringComparison.Ordinal);
        Assert.Contains("size 3", n.Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => F.Narrow(x, 1, -4, 1));
        Assert.Throws<ShapeException>(() => F.Narrow(x, 1, 0, -1));
        Assert.Throws<ShapeException>(() => F.Narrow(x, -3, 0, 1));
    }

    [Fact]
    public void Split_and_chunk_follow_pytorch_sizes()
    {
        var x = Tensor.Arange(10).Reshape(2, 5);
        Assert.Equal([2, 2, 1], x.Split(2, 1).Select(p => p.Size(1)));
        Assert.Equal([0f, 1f, 5f, 6f], x.Split(2, 1)[0].ToArray());
        Assert.Equal([1, 4], F.Split(x, [1, 4], -1).Select(p => p.Size(1)));
        Assert.Equal([4f, 9f], F.Split(x, [4, 1], -1)[1].ToArray());
        Assert.Equal([2, 2, 1], x.Chunk(4, 1).Select(p => p.Size(1))); // fewer pieces than asked, as in PyTorch
        Assert.Equal([2, 2, 1], x.Chunk(3, 1).Select(p => p.Size(1)));
        Assert.Equal([1, 1, 1, 1, 1], x.Chunk(9, 1).Select(p => p.Size(1)));
        Assert.Single(x.Chunk(1, 0));
        var empty = Tensor.Zeros(2, 0);
        Assert.Single(empty.Split(3, 1));
        Assert.Single(empty.Split(0, 1));
        Assert.Equal(3, empty.Chunk(3, 1).Length);
    }

    [Fact]
    public void Split_pieces_carry_gradients_back_to_their_positions()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(10, 3), 2, 5).RequiresGrad_();
        var pieces = x.Chunk(2, 1); // sizes 3 and 2
        (pieces[0].Sum() * 2f + pieces[1].Sum() * 3f).Backward();
        Assert.Equal([2f, 2f, 2f, 3f, 3f, 2f, 2f, 2f, 3f, 3f], x.Grad!.ToArray());
    }

    [Fact]
    public void Split_and_chunk_reject_bad_arguments()
    {
        var x = Tensor.Zeros(2, 5);
        Assert.Contains("Split", Assert.Throws<ShapeException>(() => x.Split(0, 1)).Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => x.Split(-1, 1));
        Assert.Contains("sum to 5", Assert.Throws<ShapeException>(() => x.Split([2, 2], 1)).Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => x.Split([6, -1], 1));
        Assert.Contains("Chunk", Assert.Throws<ShapeException>(() => x.Chunk(0, 1)).Message, StringComparison.Ordinal);
        Assert.Contains("dim 2", Assert.Throws<ShapeException>(() => x.Chunk(2, 2)).Message, StringComparison.Ordinal);
    }
}
