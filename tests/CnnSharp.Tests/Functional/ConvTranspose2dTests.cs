using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class ConvTranspose2dTests
{
    // (N, C_in, H, W, C_out, KH, KW, stride, padding, output padding, dilation, groups, bias)
    public static TheoryData<int[], bool> Cases => new()
    {
        { [2, 3, 4, 5, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1], true },
        { [1, 2, 3, 3, 3, 4, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1], true },
        { [2, 4, 3, 2, 6, 3, 2, 2, 1, 1, 0, 1, 0, 1, 1, 2], false },
        { [1, 2, 4, 3, 2, 3, 3, 1, 3, 2, 1, 1, 2, 2, 3, 1], true },
        { [1, 3, 2, 2, 3, 1, 1, 3, 2, 0, 0, 2, 1, 1, 1, 3], true },
    };

    private static (Tensor Y, double[] Ref, int[] Shape) Build(int[] c, bool bias, Tensor x, Tensor w, Tensor? b)
    {
        var y = F.ConvTranspose2d(x, w, b, (c[7], c[8]), (c[9], c[10]), (c[11], c[12]), (c[13], c[14]), c[15]);
        var (r, shape) = Reference.ConvTranspose2d(TensorAssert.ToDouble(x.Data), x.Shape.ToArray(), TensorAssert.ToDouble(w.Data), w.Shape.ToArray(),
            bias ? TensorAssert.ToDouble(b!.Data) : null, (c[7], c[8]), (c[9], c[10]), (c[11], c[12]), (c[13], c[14]), c[15]);
        return (y, r, shape);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Forward_matches_the_naive_scatter(int[] c, bool bias)
    {
        var g = new Generator(5);
        var x = Tensor.Randn(g, c[0], c[1], c[2], c[3]);
        var w = Tensor.Randn(g, c[1], c[4] / c[15], c[5], c[6]);
        var b = bias ? Tensor.Randn(g, c[4]) : null;
        var (y, r, shape) = Build(c, bias, x, w, b);
        TensorAssert.ShapeIs(y, shape);
        TensorAssert.Close(r, y, Tolerance.Accumulated, "conv_transpose2d output");
    }

    [Theory, MemberData(nameof(Cases))]
    public void Gradients_match_finite_differences(int[] c, bool bias)
    {
        int[] xs = [c[0], c[1], c[2], c[3]], ws = [c[1], c[4] / c[15], c[5], c[6]];
        var shapes = new List<int[]> { xs, ws };
        var values = new List<float[]> { GradCheck.RandomValues(xs.Aggregate(1, (a, v) => a * v), 1), GradCheck.RandomValues(ws.Aggregate(1, (a, v) => a * v), 2) };
        if (bias)
        {
            shapes.Add([c[4]]);
            values.Add(GradCheck.RandomValues(c[4], 3));
        }
        GradCheck.Check([.. shapes], [.. values],
            t => F.ConvTranspose2d(t[0], t[1], bias ? t[2] : null, (c[7], c[8]), (c[9], c[10]), (c[11], c[12]), (c[13], c[14]), c[15]),
            d => Reference.ConvTranspose2d(d[0], xs, d[1], ws, bias ? d[2] : null, (c[7], c[8]), (c[9], c[10]), (c[11], c[12]), (c[13], c[14]), c[15]).Y);
    }

    [Fact]
    public void Is_the_adjoint_of_conv2d()
    {
        // <conv2d(u, w), v> = <u, conv_transpose2d(v, w)> for the same weight, stride, padding and dilation.
        var g = new Generator(11);
        var u = Tensor.Randn(g, 2, 4, 9, 8);
        var w = Tensor.Randn(g, 6, 2, 3, 3);
        var cy = F.Conv2d(u, w, null, (2, 2), (1, 1), (1, 1), groups: 2);
        var v = Tensor.Randn(g, cy.Shape.ToArray());
        // conv output 5x4 from 9x8; the transposed conv of 5x4 gives 9x7 + output_padding (0, 1) = 9x8.
        var t = F.ConvTranspose2d(v, w, null, (2, 2), (1, 1), (0, 1), (1, 1), groups: 2);
        TensorAssert.ShapeIs(t, 2, 4, 9, 8);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < cy.Numel; i++) lhs += (double)cy.Data[i] * v.Data[i];
        for (int i = 0; i < u.Numel; i++) rhs += (double)u.Data[i] * t.Data[i];
        Assert.Equal(lhs, rhs, 1e-3 * Math.Abs(lhs) + 1e-3);
    }

    [Theory]
    [InlineData(new[] { 1, 3, 4, 4 }, new[] { 2, 2, 3, 3 }, 1, 0, 0, 1, "input has 3 channels but the weight expects 2")]
    [InlineData(new[] { 1, 3, 4 }, new[] { 3, 2, 3, 3 }, 1, 0, 0, 1, "4-D input")]
    [InlineData(new[] { 1, 3, 4, 4 }, new[] { 3, 2, 3 }, 1, 0, 0, 1, "4-D weight")]
    [InlineData(new[] { 1, 4, 4, 4 }, new[] { 4, 2, 3, 3 }, 1, 0, 0, 3, "does not divide input channels 4")]
    [InlineData(new[] { 1, 2, 4, 4 }, new[] { 2, 2, 3, 3 }, 2, 0, 2, 1, "output_padding must be smaller")]
    [InlineData(new[] { 1, 2, 1, 1 }, new[] { 2, 2, 1, 1 }, 1, 1, 0, 1, "output size (-1, -1) is not positive")]
    [InlineData(new[] { 1, 2, 4, 4 }, new[] { 2, 2, 3, 3 }, 0, 0, 0, 1, "stride must be positive")]
    public void Bad_shapes_throw_a_shape_exception_naming_the_op_and_shapes(int[] xs, int[] ws, int stride, int padding, int outputPadding, int groups, string message)
    {
        var ex = Assert.Throws<ShapeException>(() => F.ConvTranspose2d(Tensor.Zeros(xs), Tensor.Zeros(ws), null, stride, padding, outputPadding, 1, groups));
        Assert.Contains("ConvTranspose2d", ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"input {Shape.Format(xs)}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bias_of_the_wrong_length_is_rejected()
    {
        var ex = Assert.Throws<ShapeException>(() => F.ConvTranspose2d(Tensor.Zeros(1, 2, 3, 3), Tensor.Zeros(2, 3, 3, 3), Tensor.Zeros(2)));
        Assert.Contains("ConvTranspose2d: bias has shape (2)", ex.Message, StringComparison.Ordinal);
    }
}
