using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class Conv1dTests
{
    // (N, C, L, K, KL, stride, padding, dilation, groups, bias)
    public static TheoryData<int, int, int, int, int, int, int, int, int, bool> Cases => new()
    {
        { 2, 3, 10, 4, 3, 1, 0, 1, 1, true },
        { 1, 2, 9, 3, 4, 2, 1, 1, 1, false },
        { 3, 4, 12, 6, 3, 1, 2, 2, 2, true },
        { 2, 4, 7, 4, 5, 3, 2, 1, 4, true },   // depthwise
        { 2, 3, 5, 2, 1, 1, 0, 1, 1, true },   // pointwise
        { 1, 1, 6, 1, 6, 1, 0, 1, 1, false },  // kernel = input
    };

    [Theory, MemberData(nameof(Cases))]
    public void Forward_and_backward_match_reference(int n, int c, int l, int k, int kl, int stride, int padding, int dilation, int groups, bool hasBias)
    {
        int[] xs = [n, c, l], ws = [k, c / groups, kl];
        float[] x = GradCheck.RandomValues(n * c * l, l), w = GradCheck.RandomValues(k * (c / groups) * kl, kl), b = GradCheck.RandomValues(k, 3);
        double[]? bd = hasBias ? TensorAssert.ToDouble(b) : null;
        var y = F.Conv1d(Tensor.FromArray(x, xs), Tensor.FromArray(w, ws), hasBias ? Tensor.FromArray(b, k) : null, stride, padding, dilation, groups);
        int ol = (l + 2 * padding - dilation * (kl - 1) - 1) / stride + 1;
        TensorAssert.ShapeIs(y, n, k, ol);
        TensorAssert.Close(Reference.Conv1d(TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), bd, xs, ws, stride, padding, dilation, groups),
            y, Tolerance.Accumulated);

        int[][] shapes = hasBias ? [xs, ws, [k]] : [xs, ws];
        float[][] values = hasBias ? [x, w, b] : [x, w];
        GradCheck.Check(shapes, values,
            t => F.Conv1d(t[0], t[1], hasBias ? t[2] : null, stride, padding, dilation, groups),
            d => Reference.Conv1d(d[0], d[1], hasBias ? d[2] : null, xs, ws, stride, padding, dilation, groups));
    }

    [Fact]
    public void Conv1d_equals_conv2d_of_height_one()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 3 * 11, 1), 2, 3, 11);
        var w = Tensor.FromArray(GradCheck.RandomValues(4 * 3 * 3, 2), 4, 3, 3);
        var y1 = F.Conv1d(x, w, null, stride: 2, padding: 1, dilation: 2);
        var y2 = F.Conv2d(x.Reshape(2, 3, 1, 11), w.Reshape(4, 3, 1, 3), null, (1, 2), (0, 1), (1, 2));
        Assert.Equal(y2.ToArray(), y1.ToArray());
    }

    [Theory]
    [InlineData(new[] { 2, 3, 8 }, new[] { 4, 2, 3 }, 1, 0, 1, 1, "3 channels")]
    [InlineData(new[] { 2, 3, 8 }, new[] { 4, 1, 3 }, 1, 0, 1, 2, "groups 2")]
    [InlineData(new[] { 1, 1, 2 }, new[] { 1, 1, 5 }, 1, 1, 1, 1, "padded input length 4")]
    [InlineData(new[] { 1, 1, 8 }, new[] { 1, 1, 3 }, 0, 0, 1, 1, "stride")]
    [InlineData(new[] { 1, 1, 8 }, new[] { 1, 1, 3 }, 1, -1, 1, 1, "padding")]
    [InlineData(new[] { 1, 1, 8, 1 }, new[] { 1, 1, 3 }, 1, 0, 1, 1, "3-D input")]
    public void Bad_input_throws_ShapeException_naming_shapes(int[] xShape, int[] wShape, int stride, int padding, int dilation, int groups, string fragment)
    {
        var ex = Assert.Throws<ShapeException>(() => F.Conv1d(Tensor.Zeros(xShape), Tensor.Zeros(wShape), null, stride, padding, dilation, groups));
        Assert.StartsWith("Conv1d:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
        Assert.Contains(Shape.Format(xShape), ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bias_of_wrong_length_throws()
    {
        var ex = Assert.Throws<ShapeException>(() => F.Conv1d(Tensor.Zeros(1, 2, 8), Tensor.Zeros(3, 2, 3), Tensor.Zeros(2)));
        Assert.Contains("bias", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(3, 2, 3)", ex.Message, StringComparison.Ordinal);
    }
}
