using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Tests.Functional.ManipulationCases;

namespace CnnSharp.Tests.Functional;

public sealed class PermuteTransposeTests
{
    [Theory]
    [MemberData(nameof(Seeds), MemberType = typeof(ManipulationCases))]
    public void Permute_matches_the_index_reference_forward_and_backward(int seed)
    {
        var rng = new Random(seed + 300);
        int rank = Rank(seed);
        var shape = Shape(rng, rank, maxDim: 4);
        var perm = Enumerable.Range(0, rank).OrderBy(_ => rng.Next()).ToArray();
        var dims = perm.Select(p => rng.Next(2) == 0 ? p : p - rank).ToArray(); // negative entries mean the same dims
        var values = Values(shape, seed);
        double[] Ref(double[] v) => Reference.Permute(v, shape, perm);
        var y = F.Permute(Tensor.FromArray(values, shape), dims);
        TensorAssert.ShapeIs(y, [.. perm.Select(p => shape[p])]);
        Assert.Equal(ToFloat(Ref([.. values.Select(f => (double)f)])), y.ToArray());
        GradCheck.Check(shape, values, x => x.Permute(dims), Ref);
    }

    [Theory]
    [MemberData(nameof(Seeds), MemberType = typeof(ManipulationCases))]
    public void Transpose_matches_the_index_reference_forward_and_backward(int seed)
    {
        var rng = new Random(seed + 400);
        int rank = Rank(seed);
        var shape = Shape(rng, rank, maxDim: 4);
        int a = Dim(rng, rank), b = Dim(rng, rank);
        var perm = Enumerable.Range(0, rank).ToArray();
        (perm[(a + rank) % rank], perm[(b + rank) % rank]) = ((b + rank) % rank, (a + rank) % rank);
        var values = Values(shape, seed);
        double[] Ref(double[] v) => Reference.Permute(v, shape, perm);
        Assert.Equal(ToFloat(Ref([.. values.Select(f => (double)f)])), F.Transpose(Tensor.FromArray(values, shape), a, b).ToArray());
        GradCheck.Check(shape, values, x => x.Transpose(a, b), Ref);
    }

    [Fact]
    public void Large_transposes_with_strided_and_block_runs_match_the_reference()
    {
        // (7, 33, 65) moved to (65, 7, 33) has no contiguous run; (0, 2, 1) keeps none either; (1, 0, 2) copies 65-long rows.
        int[] shape = [7, 33, 65];
        var values = Values(shape, 5);
        var x = Tensor.FromArray(values, shape);
        foreach (int[] perm in new[] { new[] { 2, 0, 1 }, [0, 2, 1], [1, 0, 2] })
            Assert.Equal(ToFloat(Reference.Permute([.. values.Select(f => (double)f)], shape, perm)), x.Permute(perm).ToArray());
    }

    [Fact]
    public void T_transposes_a_matrix_and_copies()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        var t = x.T;
        TensorAssert.ShapeIs(t, 3, 2);
        Assert.Equal([0f, 3f, 1f, 4f, 2f, 5f], t.ToArray());
        t.Data[0] = 7f;
        Assert.Equal(0f, x[0, 0]);
        Assert.Contains("(2, 3, 1)", Assert.Throws<ShapeException>(() => x.Reshape(2, 3, 1).T).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Permute_and_transpose_reject_bad_dims_naming_op_and_shape()
    {
        var x = Tensor.Zeros(2, 3, 4);
        foreach (int[] dims in new[] { new[] { 0, 0, 1 }, [0, 1], [0, 1, 2, 3], [0, 1, 3], [0, 1, -4] })
        {
            var e = Assert.Throws<ShapeException>(() => F.Permute(x, dims));
            Assert.Contains("Permute", e.Message, StringComparison.Ordinal);
            Assert.Contains("(2, 3, 4)", e.Message, StringComparison.Ordinal);
            Assert.Contains(Shape.Format(dims), e.Message, StringComparison.Ordinal);
        }
        var t = Assert.Throws<ShapeException>(() => F.Transpose(x, 0, 3));
        Assert.Contains("Transpose", t.Message, StringComparison.Ordinal);
        Assert.Contains("dim 3", t.Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => x.Transpose(-4, 0));
    }

    [Fact]
    public void Permute_of_a_scalar_and_empty_tensors_work()
    {
        Assert.Equal([2f], F.Permute(Tensor.Scalar(2f)).ToArray());
        TensorAssert.ShapeIs(Tensor.Zeros(2, 0, 3).Permute(2, 0, 1), 3, 2, 0);
    }
}
