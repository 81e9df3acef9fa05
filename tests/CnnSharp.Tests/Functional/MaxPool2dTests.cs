using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class MaxPool2dTests
{
    public static TheoryData<int> Forward => PoolCases.ForwardIndices;
    public static TheoryData<int> Grad => PoolCases.GradIndices;

    private static Tensor Pool(Tensor x, Reference.PoolSpec k) =>
        F.MaxPool2d(x, (k.KH, k.KW), (k.SH, k.SW), (k.PH, k.PW), (k.DH, k.DW), k.Ceil);

    [Theory, MemberData(nameof(Forward))]
    public void Forward_matches_naive_double_reference(int index)
    {
        var c = PoolCases.Get(index, dilation: true);
        var y = Pool(c.Input(), c.Spec);
        var expected = Reference.MaxPool2d(c.DoubleValues, c.Shape, c.Spec);
        int oh = Reference.PoolOutputSize(c.Shape[2], c.Spec.KH, c.Spec.SH, c.Spec.PH, c.Spec.DH, c.Spec.Ceil);
        int ow = Reference.PoolOutputSize(c.Shape[3], c.Spec.KW, c.Spec.SW, c.Spec.PW, c.Spec.DW, c.Spec.Ceil);
        TensorAssert.ShapeIs(y, c.Shape[0], c.Shape[1], oh, ow);
        TensorAssert.Close(expected, y, Tolerance.Float32, c.ToString());
    }

    [Theory, MemberData(nameof(Grad))]
    public void Backward_matches_finite_differences(int index)
    {
        var c = PoolCases.Get(index, dilation: true, small: true);
        GradCheck.Check(c.Shape, c.Values, x => Pool(x, c.Spec), x => Reference.MaxPool2d(x, c.Shape, c.Spec));
    }

    [Fact]
    public void Int_overload_defaults_stride_to_kernel()
    {
        var x = Tensor.FromArray(GradCheck.DistinctValues(2 * 3 * 9 * 7, 5), 2, 3, 9, 7);
        var y = F.MaxPool2d(x, 3);
        TensorAssert.ShapeIs(y, 2, 3, 3, 2);
        TensorAssert.Close(Reference.MaxPool2d(TensorAssert.ToDouble(x.Data), [2, 3, 9, 7], new(3, 3, 3, 3, 0, 0)), y, Tolerance.Float32);
    }

    [Fact]
    public void Unbatched_input_gives_unbatched_output()
    {
        var values = GradCheck.DistinctValues(3 * 6 * 6, 2);
        var y3 = F.MaxPool2d(Tensor.FromArray(values, 3, 6, 6), 2);
        var y4 = F.MaxPool2d(Tensor.FromArray(values, 1, 3, 6, 6), 2);
        TensorAssert.ShapeIs(y3, 3, 3, 3);
        Assert.Equal(y4.ToArray(), y3.ToArray());
    }

    [Fact]
    public void Ties_send_the_gradient_to_the_first_maximum()
    {
        // Each 2x2 window has its maximum twice; PyTorch picks the first in row-major order.
        var x = Tensor.FromArray([5f, 5f, 1f, 2f, 0f, 3f, 3f, 3f], 1, 1, 2, 4).RequiresGrad_();
        var y = F.MaxPool2d(x, 2);
        y.Backward(Tensor.FromArray([10f, 20f], 1, 1, 1, 2));
        Assert.Equal(new[] { 10f, 0f, 0f, 0f, 0f, 0f, 20f, 0f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Overlapping_windows_accumulate_gradient_on_a_shared_maximum()
    {
        var x = Tensor.FromArray([1f, 2f, 9f, 3f, 4f], 1, 1, 1, 5).RequiresGrad_();
        var y = F.MaxPool2d(x, (1, 3), stride: (1, 1));
        Assert.Equal(new[] { 9f, 9f, 9f }, y.ToArray());
        y.Backward(Tensor.FromArray([1f, 2f, 4f], 1, 1, 1, 3));
        Assert.Equal(new[] { 0f, 0f, 7f, 0f, 0f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Padding_is_ignored_not_zero()
    {
        // All inputs negative: a zero pad would win the max if padding were zeros.
        var x = Tensor.FromArray([-1f, -2f, -3f, -4f], 1, 1, 2, 2);
        var y = F.MaxPool2d(x, 2, stride: 1, padding: 1);
        Assert.Equal(new[] { -1f, -1f, -2f, -1f, -1f, -2f, -3f, -3f, -4f }, y.ToArray());
    }

    [Fact]
    public void NaN_in_a_window_propagates()
    {
        var x = Tensor.FromArray([1f, float.NaN, 3f, 4f, 5f, 6f, 7f, 8f], 1, 1, 2, 4);
        var y = F.MaxPool2d(x, 2);
        Assert.True(float.IsNaN(y.Data[0]));
        Assert.Equal(8f, y.Data[1]);
    }

    [Fact]
    public void With_several_nans_the_gradient_goes_to_the_last_nan_as_in_pytorch()
    {
        var x = Tensor.FromArray([float.NaN, 1f, float.NaN, 2f], 1, 1, 2, 2).RequiresGrad_();
        var y = F.MaxPool2d(x, 2);
        Assert.True(float.IsNaN(y.Item()));
        y.Backward(Tensor.Ones(1, 1, 1, 1));
        Assert.Equal(new[] { 0f, 0f, 1f, 0f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Ceil_mode_drops_a_window_that_would_start_in_the_end_padding()
    {
        // H = 5, k = 3, s = 3, p = 1: ceil((5 + 2 - 3)/3) + 1 = 3, but the third window would start at 2*3 - 1 = 5, inside the
        // end padding ((3 - 1)*3 >= H + p), so PyTorch drops it and gives 2.
        var x = Tensor.FromArray(GradCheck.DistinctValues(25, 1), 1, 1, 5, 5);
        TensorAssert.ShapeIs(F.MaxPool2d(x, 3, stride: 3, padding: 1, ceilMode: true), 1, 1, 2, 2);
        TensorAssert.ShapeIs(F.MaxPool2d(x, 2, stride: 2, ceilMode: true), 1, 1, 3, 3);
        TensorAssert.ShapeIs(F.MaxPool2d(x, 2, stride: 2), 1, 1, 2, 2);
    }

    [Fact]
    public void Ceil_mode_window_larger_than_the_input_is_clipped_as_in_pytorch()
    {
        // H = W = 3, k = 4, s = 3, ceil: PyTorch gives one output, the max of the whole input.
        var x = Tensor.FromArray(GradCheck.DistinctValues(9, 6), 1, 1, 3, 3);
        var y = F.MaxPool2d(x, 4, stride: 3, ceilMode: true);
        TensorAssert.ShapeIs(y, 1, 1, 1, 1);
        Assert.Equal(x.ToArray().Max(), y.Item());
        Assert.Throws<ShapeException>(() => F.MaxPool2d(x, 4, stride: 3));
    }

    [Fact]
    public void Window_of_padding_only_gives_negative_infinity_and_no_gradient()
    {
        // W = 1, k = 3, d = 2, p = 1, s = 3, ceil: the single window's taps are -1, 1, 3, none inside the input.
        var x = Tensor.FromArray([2f, 3f], 1, 1, 2, 1).RequiresGrad_();
        var y = F.MaxPool2d(x, (1, 3), stride: (1, 3), padding: (0, 1), dilation: (1, 2), ceilMode: true);
        Assert.Equal(new[] { float.NegativeInfinity, float.NegativeInfinity }, y.ToArray());
        y.Backward(Tensor.Ones(1, 1, 2, 1));
        Assert.Equal(new[] { 0f, 0f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Large_batch_runs_in_parallel_and_matches_reference()
    {
        int[] shape = [8, 16, 28, 28];
        var values = GradCheck.RandomValues(shape.Aggregate(1, (a, b) => a * b), 3);
        var y = F.MaxPool2d(Tensor.FromArray(values, shape), 2);
        var expected = Reference.MaxPool2d(values.Select(v => (double)v).ToArray(), shape, new(2, 2, 2, 2, 0, 0));
        TensorAssert.Close(expected, y, Tolerance.Float32);
    }

    [Fact]
    public void No_grad_input_records_no_node()
    {
        var x = Tensor.FromArray(GradCheck.DistinctValues(16, 4), 1, 1, 4, 4);
        Assert.Null(F.MaxPool2d(x, 2).GradFn);
        x.RequiresGrad = true;
        using (CnnSharp.Autograd.GradMode.NoGrad()) Assert.Null(F.MaxPool2d(x, 2).GradFn);
        Assert.NotNull(F.MaxPool2d(x, 2).GradFn);
    }

    [Fact]
    public void Window_larger_than_padded_input_throws_naming_shapes()
    {
        var x = Tensor.Zeros(1, 1, 2, 2);
        var ex = Assert.Throws<ShapeException>(() => F.MaxPool2d(x, 3));
        Assert.Contains("MaxPool2d", ex.Message);
        Assert.Contains("(1, 1, 2, 2)", ex.Message);
        Assert.Contains("kernel (3, 3)", ex.Message);
    }

    [Fact]
    public void Padding_above_half_the_kernel_throws()
    {
        var ex = Assert.Throws<ShapeException>(() => F.MaxPool2d(Tensor.Zeros(1, 1, 8, 8), 2, padding: 2));
        Assert.Contains("padding", ex.Message);
        Assert.Contains("(1, 1, 8, 8)", ex.Message);
    }

    [Theory]
    [InlineData(new[] { 4, 4 })]
    [InlineData(new[] { 1, 1, 1, 4, 4 })]
    public void Wrong_rank_throws_naming_shape(int[] shape)
    {
        var ex = Assert.Throws<ShapeException>(() => F.MaxPool2d(Tensor.Zeros(shape), 2));
        Assert.Contains(Shape.Format(shape), ex.Message);
    }

    [Fact]
    public void Zero_stride_and_zero_dilation_throw()
    {
        var x = Tensor.Zeros(1, 1, 4, 4);
        Assert.Throws<ShapeException>(() => F.MaxPool2d(x, 2, stride: 0));
        Assert.Throws<ShapeException>(() => F.MaxPool2d(x, 2, dilation: 0));
        Assert.Throws<ShapeException>(() => F.MaxPool2d(x, 0));
    }
}
