using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The conv kernels on spans, against the naive float64 forward and its scatter-form adjoint, at every SIMD level
/// (<see cref="Isa.Use"/> runs the Vector512 path in software where the CPU lacks AVX-512).
/// </summary>
public sealed class Conv2dKernelsTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    [Theory, MemberData(nameof(Levels))]
    public void Forward_and_backward_match_reference_on_every_case(int levelValue)
    {
        using var _ = Isa.Use((IsaLevel)levelValue);
        foreach (var c in ConvCases.All)
        {
            var g = c.Geometry;
            float[] x = ConvCases.Input(c), w = ConvCases.Weight(c), b = ConvCases.Bias(c);
            var y = new float[g.N * g.K * g.OutH * g.OutW];
            Array.Fill(y, float.NaN); // the output must be fully overwritten
            Conv2dKernels.Forward(x, w, c.HasBias ? b : default, y, g);
            var expected = ConvCases.Forward(c, TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), TensorAssert.ToDouble(b));
            TensorAssert.Close(expected, y, Tolerance.Accumulated, $"forward {c}");

            var dy = GradCheck.RandomValues(y.Length, 5);
            var (dxRef, dwRef, dbRef) = Reference.Conv2dBackward(TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), TensorAssert.ToDouble(dy),
                c.InputShape, c.WeightShape, c.Stride, c.Pads, c.Dilation, c.Groups);
            // Backward kernels accumulate: start from 1 and expect 1 + gradient.
            var dx = Enumerable.Repeat(1f, x.Length).ToArray();
            var dw = Enumerable.Repeat(1f, w.Length).ToArray();
            var db = Enumerable.Repeat(1f, c.K).ToArray();
            Conv2dKernels.BackwardInput(dy, w, dx, g);
            Conv2dKernels.BackwardWeight(x, dy, dw, g);
            Conv2dKernels.BackwardBias(dy, db, g);
            TensorAssert.Close(dxRef.Select(v => v + 1).ToArray(), dx, Tolerance.Accumulated, $"dx {c}");
            TensorAssert.Close(dwRef.Select(v => v + 1).ToArray(), dw, Tolerance.Accumulated, $"dw {c}");
            TensorAssert.Close(dbRef.Select(v => v + 1).ToArray(), db, Tolerance.Accumulated, $"db {c}");
        }
    }

    [Fact]
    public void Reference_adjoint_matches_finite_differences_of_reference_forward()
    {
        // The scatter-form adjoint used above is itself checked: <dy, conv(x + h e_i)> - <dy, conv(x - h e_i)> over 2h.
        var c = ConvCases.All[12];
        double[] x = TensorAssert.ToDouble(ConvCases.Input(c)), w = TensorAssert.ToDouble(ConvCases.Weight(c));
        var y = ConvCases.Forward(c, x, w, null);
        var dy = TensorAssert.ToDouble(GradCheck.RandomValues(y.Length, 9));
        var (dx, dw, _) = Reference.Conv2dBackward(x, w, dy, c.InputShape, c.WeightShape, c.Stride, c.Pads, c.Dilation, c.Groups);
        double Loss(double[] xs, double[] ws) => ConvCases.Forward(c, xs, ws, null).Zip(dy, (a, b) => a * b).Sum();
        for (int i = 0; i < x.Length; i++)
        {
            double orig = x[i];
            x[i] = orig + 1e-6; double plus = Loss(x, w);
            x[i] = orig - 1e-6; double minus = Loss(x, w);
            x[i] = orig;
            Assert.Equal(dx[i], (plus - minus) / 2e-6, 6);
        }
        for (int i = 0; i < w.Length; i++)
        {
            double orig = w[i];
            w[i] = orig + 1e-6; double plus = Loss(x, w);
            w[i] = orig - 1e-6; double minus = Loss(x, w);
            w[i] = orig;
            Assert.Equal(dw[i], (plus - minus) / 2e-6, 6);
        }
    }

    [Theory]
    [InlineData(-2, 1, 5, 5, 2, 5)]  // padding 2: the first two outputs read padding
    [InlineData(0, 1, 5, 5, 0, 5)]
    [InlineData(-3, 2, 5, 4, 2, 4)]  // stride 2 from -3: outputs 2 and 3 read columns 1 and 3
    [InlineData(4, 1, 3, 6, 0, 0)]   // starts right of the input: empty
    [InlineData(1, 3, 4, 6, 0, 1)]
    public void ValidRange_selects_outputs_that_read_inside_the_row(int iw0, int stride, int width, int outW, int lo, int hi)
    {
        var (l, h) = Im2Col.ValidRange(iw0, stride, width, outW);
        Assert.Equal(lo, l);
        Assert.Equal(hi, Math.Max(l, h));
        for (int ow = 0; ow < outW; ow++)
        {
            int iw = ow * stride + iw0;
            Assert.Equal(iw >= 0 && iw < width, ow >= l && ow < h);
        }
    }

    [Fact]
    public void Im2Col_then_col2im_is_the_adjoint_pair()
    {
        // <im2col(x), c> == <x, col2im(c)> for random x and c: col2im is exactly the transpose of im2col.
        var c = ConvCases.All[10];
        var g = c.Geometry with { N = 1 };
        int imageSize = g.CPerGroup * g.H * g.W, colSize = g.CPerGroup * g.KH * g.KW * g.OutH * g.OutW;
        var x = GradCheck.RandomValues(imageSize, 1);
        var col = GradCheck.RandomValues(colSize, 2);
        var lowered = new float[colSize];
        Im2Col.Forward(x, lowered, g);
        var back = new float[imageSize];
        Im2Col.BackwardAccumulate(col, back, g);
        double lhs = 0, rhs = 0;
        for (int i = 0; i < colSize; i++) lhs += (double)lowered[i] * col[i];
        for (int i = 0; i < imageSize; i++) rhs += (double)x[i] * back[i];
        Assert.Equal(lhs, rhs, 4);
    }

    [Fact]
    public void Wrong_span_length_throws_instead_of_overrunning()
    {
        var g = ConvCases.All[0].Geometry;
        var ex = Assert.Throws<ArgumentException>(() =>
            Conv2dKernels.Forward(new float[g.N * g.C * g.H * g.W - 1], new float[g.K * g.C * 9], default, new float[g.N * g.K * g.OutH * g.OutW], g));
        Assert.Contains("input", ex.Message, StringComparison.Ordinal);
    }
}
