using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class SoftmaxTests
{
    public static TheoryData<int[], int> Cases => new()
    {
        { new[] { 4, 10 }, 1 }, { new[] { 4, 10 }, 0 }, { new[] { 3, 4, 5 }, 1 }, { new[] { 3, 4, 5 }, -1 }, { new[] { 3, 4, 5 }, 0 },
        { new[] { 2, 3, 4, 5 }, 1 }, { new[] { 7 }, 0 }, { new[] { 1, 1 }, 1 }, { new[] { 2, 67 }, -1 },
    };

    private static int Numel(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    [Theory, MemberData(nameof(Cases))]
    public void Softmax_forward_matches_reference(int[] shape, int dim)
    {
        var v = GradCheck.RandomValues(Numel(shape), 3, -5f, 5f);
        TensorAssert.Close(Reference.Softmax(TensorAssert.ToDouble(v), shape, dim), F.Softmax(Tensor.FromArray(v, shape), dim), Tolerance.Float32);
    }

    [Theory, MemberData(nameof(Cases))]
    public void LogSoftmax_forward_matches_reference(int[] shape, int dim)
    {
        var v = GradCheck.RandomValues(Numel(shape), 4, -5f, 5f);
        TensorAssert.Close(Reference.LogSoftmax(TensorAssert.ToDouble(v), shape, dim), F.LogSoftmax(Tensor.FromArray(v, shape), dim), Tolerance.Float32);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Softmax_backward_matches_finite_differences(int[] shape, int dim) =>
        GradCheck.Check(shape, GradCheck.RandomValues(Numel(shape), 5, -3f, 3f), x => F.Softmax(x, dim), x => Reference.Softmax(x, shape, dim));

    [Theory, MemberData(nameof(Cases))]
    public void LogSoftmax_backward_matches_finite_differences(int[] shape, int dim) =>
        GradCheck.Check(shape, GradCheck.RandomValues(Numel(shape), 6, -3f, 3f), x => F.LogSoftmax(x, dim), x => Reference.LogSoftmax(x, shape, dim));

    [Fact]
    public void Large_inputs_stay_finite()
    {
        var x = Tensor.FromArray([1e4f, 1e4f - 1f, -1e4f, 0f, 9999.5f, 1e4f], 2, 3);
        var s = F.Softmax(x, 1);
        var l = F.LogSoftmax(x, 1);
        Assert.All(s.ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.All(l.ToArray(), v => Assert.True(float.IsFinite(v)));
        TensorAssert.Close(Reference.Softmax([1e4, 1e4 - 1, -1e4, 0, 9999.5, 1e4], [2, 3], 1), s, Tolerance.Float32);
        TensorAssert.Close(Reference.LogSoftmax([1e4, 1e4 - 1, -1e4, 0, 9999.5, 1e4], [2, 3], 1), l, Tolerance.Float32);
        Assert.Equal(-2e4f, l.Data[2], 0); // log_softmax of a very negative logit: no log(0)
    }

    [Fact]
    public void Rows_sum_to_one_and_are_shift_invariant()
    {
        var v = GradCheck.RandomValues(5 * 8, 7, -4f, 4f);
        var a = F.Softmax(Tensor.FromArray(v, 5, 8), 1);
        var b = F.Softmax(Tensor.FromArray(v.Select(f => f + 100f).ToArray(), 5, 8), 1);
        for (int r = 0; r < 5; r++) Assert.Equal(1.0, a.Data.Slice(r * 8, 8).ToArray().Sum(f => (double)f), 5);
        TensorAssert.Close(a.Data, b.Data, new Tolerance(1e-5, 1e-5));
    }

    [Fact]
    public void LogSoftmax_equals_log_of_softmax()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(30, 8, -3f, 3f), 3, 10);
        var logOfSoftmax = F.Softmax(x, 1).ToArray().Select(v => MathF.Log(v)).ToArray();
        TensorAssert.Close(logOfSoftmax, F.LogSoftmax(x, 1).Data, new Tolerance(1e-5, 1e-5));
    }

    [Fact]
    public void Scalar_input_softmax_is_one()
    {
        Assert.Equal(1f, F.Softmax(Tensor.Scalar(3f), 0).Item());
        Assert.Equal(0f, F.LogSoftmax(Tensor.Scalar(3f), -1).Item());
    }

    [Fact]
    public void Nan_in_a_row_gives_nan_row_only()
    {
        var y = F.Softmax(Tensor.FromArray([1f, float.NaN, 2f, 3f], 2, 2), 1);
        Assert.True(float.IsNaN(y.Data[0]) && float.IsNaN(y.Data[1]));
        Assert.False(float.IsNaN(y.Data[2]) || float.IsNaN(y.Data[3]));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(-3)]
    public void Dim_out_of_range_throws_naming_shape(int dim)
    {
        var ex = Assert.Throws<ShapeException>(() => F.Softmax(Tensor.Zeros(2, 3), dim));
        Assert.Contains("Softmax", ex.Message);
        Assert.Contains("(2, 3)", ex.Message);
        Assert.Throws<ShapeException>(() => F.LogSoftmax(Tensor.Zeros(2, 3), dim));
    }
}
