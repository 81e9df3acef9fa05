using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class LinearTests
{
    // (rows, in, out, bias)
    public static TheoryData<int, int, int, bool> Cases => new()
    {
        { 1, 1, 1, true },
        { 4, 7, 3, true },
        { 5, 33, 17, false },
        { 9, 40, 10, true },
        { 2, 3, 70, true },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Forward_and_backward_match_reference(int rows, int inF, int outF, bool hasBias)
    {
        float[] x = GradCheck.RandomValues(rows * inF, 1), w = GradCheck.RandomValues(outF * inF, 2), b = GradCheck.RandomValues(outF, 3);
        var y = F.Linear(Tensor.FromArray(x, rows, inF), Tensor.FromArray(w, outF, inF), hasBias ? Tensor.FromArray(b, outF) : null);
        TensorAssert.ShapeIs(y, rows, outF);
        TensorAssert.Close(Reference.Linear(TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), hasBias ? TensorAssert.ToDouble(b) : null, rows, inF, outF),
            y, Tolerance.Accumulated);

        int[][] shapes = hasBias ? [[rows, inF], [outF, inF], [outF]] : [[rows, inF], [outF, inF]];
        float[][] values = hasBias ? [x, w, b] : [x, w];
        GradCheck.Check(shapes, values,
            t => F.Linear(t[0], t[1], hasBias ? t[2] : null),
            d => Reference.Linear(d[0], d[1], hasBias ? d[2] : null, rows, inF, outF));
    }

    [Fact]
    public void Leading_dimensions_are_kept()
    {
        float[] x = GradCheck.RandomValues(2 * 3 * 5, 1), w = GradCheck.RandomValues(4 * 5, 2);
        var y = F.Linear(Tensor.FromArray(x, 2, 3, 5), Tensor.FromArray(w, 4, 5));
        TensorAssert.ShapeIs(y, 2, 3, 4);
        TensorAssert.Close(Reference.Linear(TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), null, 6, 5, 4), y, Tolerance.Accumulated);
        var v = F.Linear(Tensor.FromArray(x.AsSpan(0, 5), 5), Tensor.FromArray(w, 4, 5));
        TensorAssert.ShapeIs(v, 4);
        Assert.Equal(y.Data[..4].ToArray(), v.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Every_simd_level_gives_the_reference_result(int level)
    {
        using var _ = Isa.Use((IsaLevel)level);
        float[] x = GradCheck.RandomValues(13 * 37, 1), w = GradCheck.RandomValues(11 * 37, 2), b = GradCheck.RandomValues(11, 3);
        var y = F.Linear(Tensor.FromArray(x, 13, 37), Tensor.FromArray(w, 11, 37), Tensor.FromArray(b, 11));
        TensorAssert.Close(Reference.Linear(TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), TensorAssert.ToDouble(b), 13, 37, 11), y, Tolerance.Accumulated);
    }

    [Fact]
    public void In_features_mismatch_throws_naming_shapes()
    {
        var ex = Assert.Throws<ShapeException>(() => F.Linear(Tensor.Zeros(100, 1568), Tensor.Zeros(10, 1567)));
        Assert.StartsWith("Linear:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(100, 1568)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(10, 1567)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_weight_rank_and_bias_length_throw()
    {
        var ex1 = Assert.Throws<ShapeException>(() => F.Linear(Tensor.Zeros(2, 3), Tensor.Zeros(3)));
        Assert.Contains("2-D weight", ex1.Message, StringComparison.Ordinal);
        var ex2 = Assert.Throws<ShapeException>(() => F.Linear(Tensor.Zeros(2, 3), Tensor.Zeros(4, 3), Tensor.Zeros(3)));
        Assert.Contains("bias", ex2.Message, StringComparison.Ordinal);
        Assert.Contains("(4, 3)", ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Batch_of_one_matches_rows_of_a_batch()
    {
        float[] x = GradCheck.RandomValues(6 * 20, 1), w = GradCheck.RandomValues(7 * 20, 2), b = GradCheck.RandomValues(7, 3);
        var wt = Tensor.FromArray(w, 7, 20);
        var bt = Tensor.FromArray(b, 7);
        var y = F.Linear(Tensor.FromArray(x, 6, 20), wt, bt);
        for (int r = 0; r < 6; r++)
        {
            var y1 = F.Linear(Tensor.FromArray(x.AsSpan(r * 20, 20), 1, 20), wt, bt);
            TensorAssert.Close(y.Data.Slice(r * 7, 7), y1.Data, Tolerance.Float32, $"row {r}");
        }
    }
}
