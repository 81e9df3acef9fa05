using CnnSharp.Autograd;
using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class Conv2dTests
{
    public static TheoryData<int> Cases => ConvCases.Indices();

    private static Tensor Run(ConvCase c, Tensor x, Tensor w, Tensor? b) =>
        F.Conv2d(x, w, b, c.Stride, c.Pads, c.Dilation, c.Groups);

    [Theory, MemberData(nameof(Cases))]
    public void Forward_matches_naive_double_reference(int index)
    {
        var c = ConvCases.All[index];
        float[] x = ConvCases.Input(c), w = ConvCases.Weight(c), b = ConvCases.Bias(c);
        var y = Run(c, Tensor.FromArray(x, c.InputShape), Tensor.FromArray(w, c.WeightShape), c.HasBias ? Tensor.FromArray(b, c.K) : null);
        var expected = Reference.Conv2d(TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), c.HasBias ? TensorAssert.ToDouble(b) : null,
            c.InputShape, c.WeightShape, c.Stride, c.Pads, c.Dilation, c.Groups, out var outShape);
        TensorAssert.ShapeIs(y, outShape);
        TensorAssert.Close(expected, y, Tolerance.Accumulated, c.ToString());
    }

    [Theory, MemberData(nameof(Cases))]
    public void Backward_matches_finite_differences(int index)
    {
        var c = ConvCases.All[index];
        int[][] shapes = c.HasBias ? [c.InputShape, c.WeightShape, [c.K]] : [c.InputShape, c.WeightShape];
        float[][] values = c.HasBias ? [ConvCases.Input(c), ConvCases.Weight(c), ConvCases.Bias(c)] : [ConvCases.Input(c), ConvCases.Weight(c)];
        GradCheck.Check(shapes, values,
            t => Run(c, t[0], t[1], c.HasBias ? t[2] : null),
            d => ConvCases.Forward(c, d[0], d[1], c.HasBias ? d[2] : null));
    }

    [Fact]
    public void Seed_example_gives_the_true_pytorch_values()
    {
        // The seed: 4x4 input, 3x3 kernel [[1,1,1],[0,0,0],[1,1,1]], stride 2, padding 1. Output size
        // floor((4 + 2 - 3)/2) + 1 = 2. The seed's padded matrix is right, but its arithmetic is not: at positions (0,2) and
        // (2,2) of the padded input it also counts the window's middle-row 1, which the kernel's zero middle row removes
        // (so 3 -> 2 and 5 -> 4), and its window for (2,0) is drawn one row off (it still happens to sum to 2). Windows:
        //   (0,0) [[0,0,0],[0,1,0],[0,0,1]] -> 0 + 1 = 1      (0,2) [[0,0,0],[0,1,0],[1,0,1]] -> 0 + 2 = 2
        //   (2,0) [[0,0,1],[0,1,0],[0,0,1]] -> 1 + 1 = 2      (2,2) [[1,0,1],[0,1,0],[1,0,1]] -> 2 + 2 = 4
        // so F.conv2d returns [[1, 2], [2, 4]], not the seed's [[1, 3], [2, 5]].
        var x = Tensor.FromArray([1f, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1], 1, 1, 4, 4);
        var k = Tensor.FromArray([1f, 1, 1, 0, 0, 0, 1, 1, 1], 1, 1, 3, 3);
        var y = F.Conv2d(x, k, stride: 2, padding: 1);
        TensorAssert.ShapeIs(y, 1, 1, 2, 2);
        Assert.Equal(new[] { 1f, 2f, 2f, 4f }, y.ToArray());
        // The naive reference agrees, so the hand calculation above is checked twice.
        var r = Reference.Conv2d(TensorAssert.ToDouble(x.Data), TensorAssert.ToDouble(k.Data), null, [1, 1, 4, 4], [1, 1, 3, 3], (2, 2), (1, 1), (1, 1), 1, out _);
        Assert.Equal(new double[] { 1, 2, 2, 4 }, r);
    }

    [Theory]
    [InlineData(1, 1, 2, 1)]
    [InlineData(2, 1, 1, 2)]
    [InlineData(2, 2, 2, 1)]
    public void Shifting_the_input_by_stride_multiples_shifts_the_output_away_from_borders(int stride, int padding, int a, int b)
    {
        // x' = x moved down by stride*a rows and right by stride*b columns (zeros fill in). Then y'[oh, ow] = y[oh-a, ow-b] for
        // every output of y whose window lies inside the input (no padding involved in either).
        int n = 1, c = 2, h = 9, w = 8, k = 3, kh = 3, kw = 2;
        var x = GradCheck.RandomValues(n * c * h * w, 1);
        var weight = Tensor.FromArray(GradCheck.RandomValues(k * c * kh * kw, 2), k, c, kh, kw);
        var bias = Tensor.FromArray(GradCheck.RandomValues(k, 3), k);
        int h2 = h + stride * a, w2 = w + stride * b;
        var shifted = new float[n * c * h2 * w2];
        for (int ci = 0; ci < c; ci++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    shifted[(ci * h2 + i + stride * a) * w2 + j + stride * b] = x[(ci * h + i) * w + j];
        var y = F.Conv2d(Tensor.FromArray(x, n, c, h, w), weight, bias, stride, padding);
        var y2 = F.Conv2d(Tensor.FromArray(shifted, n, c, h2, w2), weight, bias, stride, padding);
        int oh = y.Size(2), ow = y.Size(3), oh2 = y2.Size(2), ow2 = y2.Size(3);
        Assert.Equal(oh + a, oh2);
        Assert.Equal(ow + b, ow2);
        int compared = 0;
        for (int ki = 0; ki < k; ki++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    bool inside = i * stride - padding >= 0 && i * stride - padding + kh <= h && j * stride - padding >= 0 && j * stride - padding + kw <= w;
                    if (!inside) continue;
                    Assert.Equal(y[0, ki, i, j], y2[0, ki, i + a, j + b], 5);
                    compared++;
                }
        Assert.True(compared >= 3 * k, $"only {compared} interior outputs compared");
    }

    [Theory]
    [InlineData(28, 5, 1, 2, 1, 28)]  // the seed's conv1
    [InlineData(14, 5, 1, 2, 1, 14)]  // the seed's conv2
    [InlineData(4, 3, 2, 1, 1, 2)]    // the seed's example
    [InlineData(7, 3, 2, 0, 1, 3)]
    [InlineData(10, 3, 1, 0, 2, 6)]   // dilation 2: effective kernel 5
    [InlineData(5, 5, 3, 0, 1, 1)]
    [InlineData(2, 5, 1, 1, 1, 0)]    // does not fit: 0
    public void Output_size_follows_the_formula(int input, int kernel, int stride, int padding, int dilation, int expected)
    {
        Assert.Equal(expected, Conv2dGeometry.OutputSize(input, kernel, stride, padding, dilation));
        if (expected > 0)
        {
            var y = F.Conv2d(Tensor.Zeros(1, 1, input, input + 1), Tensor.Zeros(1, 1, kernel, kernel), null, stride, padding, dilation);
            TensorAssert.ShapeIs(y, 1, 1, expected, Conv2dGeometry.OutputSize(input + 1, kernel, stride, padding, dilation));
        }
    }

    [Fact]
    public void Output_size_with_asymmetric_padding_adds_both_sides()
    {
        Assert.Equal(4, Conv2dGeometry.OutputSizeWithPads(5, 3, stride: 1, padBegin: 1, padEnd: 0));
        Assert.Equal(3, Conv2dGeometry.OutputSizeWithPads(5, 3, stride: 2, padBegin: 0, padEnd: 2));
        var y = F.Conv2d(Tensor.Zeros(1, 1, 5, 5), Tensor.Zeros(1, 1, 3, 3), null, (1, 2), (1, 0, 0, 2), (1, 1));
        TensorAssert.ShapeIs(y, 1, 1, 4, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => Conv2dGeometry.OutputSize(5, 3, stride: 1, padding: 1, dilation: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Conv2dGeometry.OutputSize(5, 3, stride: 0));
    }

    public static TheoryData<string, int[], int[], int, int, int, int, int?, string[]> BadInputs => new()
    {
        { "channel mismatch", [2, 3, 8, 8], [4, 2, 3, 3], 1, 0, 1, 1, null, ["3 channels", "(2, 3, 8, 8)", "(4, 2, 3, 3)"] },
        { "groups not dividing", [1, 3, 8, 8], [4, 1, 3, 3], 1, 0, 1, 2, null, ["groups 2", "(1, 3, 8, 8)"] },
        { "groups not dividing out", [1, 4, 8, 8], [3, 2, 3, 3], 1, 0, 1, 2, null, ["output channels 3", "(3, 2, 3, 3)"] },
        { "kernel larger than padded input", [1, 1, 2, 2], [1, 1, 5, 5], 1, 1, 1, 1, null, ["larger than the padded input", "(1, 1, 2, 2)", "(1, 1, 5, 5)"] },
        { "stride 0", [1, 1, 8, 8], [1, 1, 3, 3], 0, 0, 1, 1, null, ["stride", "(1, 1, 8, 8)"] },
        { "negative padding", [1, 1, 8, 8], [1, 1, 3, 3], 1, -1, 1, 1, null, ["padding", "(1, 1, 8, 8)"] },
        { "dilation 0", [1, 1, 8, 8], [1, 1, 3, 3], 1, 0, 0, 1, null, ["dilation", "(1, 1, 3, 3)"] },
        { "3-D input", [1, 8, 8], [1, 1, 3, 3], 1, 0, 1, 1, null, ["4-D input", "(1, 8, 8)"] },
        { "3-D weight", [1, 1, 8, 8], [1, 3, 3], 1, 0, 1, 1, null, ["4-D weight", "(1, 3, 3)"] },
        { "bias wrong length", [1, 2, 8, 8], [4, 2, 3, 3], 1, 0, 1, 1, 3, ["bias", "(3)", "(4, 2, 3, 3)"] },
    };

    [Theory, MemberData(nameof(BadInputs))]
    public void Bad_input_throws_ShapeException_naming_shapes(string what, int[] xShape, int[] wShape, int stride, int padding, int dilation,
        int groups, int? biasLength, string[] fragments)
    {
        var x = Tensor.Zeros(xShape);
        var w = Tensor.Zeros(wShape);
        var b = biasLength is int bl ? Tensor.Zeros(bl) : null;
        var ex = Assert.Throws<ShapeException>(() => F.Conv2d(x, w, b, stride, padding, dilation, groups));
        Assert.StartsWith("Conv2d:", ex.Message, StringComparison.Ordinal);
        foreach (var f in fragments) Assert.True(ex.Message.Contains(f, StringComparison.Ordinal), $"{what}: '{ex.Message}' lacks '{f}'");
    }

    [Fact]
    public void Batch_of_one_matches_each_row_of_a_batch()
    {
        var c = ConvCases.All[9] with { N = 5 };
        float[] x = GradCheck.RandomValues(c.InputSize, 4), w = ConvCases.Weight(c), b = ConvCases.Bias(c);
        var wt = Tensor.FromArray(w, c.WeightShape).RequiresGrad_();
        var bt = Tensor.FromArray(b, c.K).RequiresGrad_();
        var yBatch = Run(c, Tensor.FromArray(x, c.InputShape), wt, bt);
        var dy = GradCheck.RandomValues(yBatch.Numel, 6);
        yBatch.Backward(Tensor.FromArray(dy, yBatch.Shape.ToArray()));
        var gradBatch = wt.Grad!.ToArray();
        int per = yBatch.Numel / c.N, inPer = c.InputSize / c.N;
        var gradSum = new double[w.Length];
        for (int n = 0; n < c.N; n++)
        {
            var w1 = Tensor.FromArray(w, c.WeightShape).RequiresGrad_();
            var y1 = Run(c, Tensor.FromArray(x.AsSpan(n * inPer, inPer), [1, c.C, c.H, c.W]), w1, Tensor.FromArray(b, c.K));
            TensorAssert.Close(yBatch.Data.Slice(n * per, per), y1.Data, Tolerance.Float32, $"image {n}");
            y1.Backward(Tensor.FromArray(dy.AsSpan(n * per, per), y1.Shape.ToArray()));
            for (int i = 0; i < w.Length; i++) gradSum[i] += w1.Grad!.Data[i];
        }
        TensorAssert.Close(gradSum, gradBatch, Tolerance.Accumulated, "weight gradient = sum of per-image gradients");
    }

    [Fact]
    public void Only_inputs_that_require_grad_receive_gradients()
    {
        var c = ConvCases.All[0];
        var x = Tensor.FromArray(ConvCases.Input(c), c.InputShape);
        var w = Tensor.FromArray(ConvCases.Weight(c), c.WeightShape).RequiresGrad_();
        var b = Tensor.FromArray(ConvCases.Bias(c), c.K);
        var y = Run(c, x, w, b);
        y.Backward(Tensor.Ones(y.Shape.ToArray()));
        Assert.Null(x.Grad);
        Assert.Null(b.Grad);
        Assert.NotNull(w.Grad);
        Assert.Contains(w.Grad!.ToArray(), v => v != 0f);
    }

    [Fact]
    public void Bias_gradient_is_the_sum_of_the_output_gradient_per_channel()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 2 * 5 * 5, 1), 2, 2, 5, 5);
        var w = Tensor.FromArray(GradCheck.RandomValues(3 * 2 * 3 * 3, 2), 3, 2, 3, 3);
        var b = Tensor.Zeros(3).RequiresGrad_();
        var y = F.Conv2d(x, w, b, padding: 1);
        var dy = Tensor.FromArray(GradCheck.RandomValues(y.Numel, 3), y.Shape.ToArray());
        y.Backward(dy);
        for (int k = 0; k < 3; k++)
        {
            double s = 0;
            for (int n = 0; n < 2; n++) for (int i = 0; i < 25; i++) s += dy.Data[(n * 3 + k) * 25 + i];
            Assert.Equal(s, b.Grad!.Data[k], 4);
        }
    }

    [Fact]
    public void NoGrad_scope_records_nothing()
    {
        var w = Tensor.Ones(1, 1, 3, 3).RequiresGrad_();
        using (GradMode.NoGrad())
        {
            var y = F.Conv2d(Tensor.Ones(1, 1, 5, 5), w, padding: 1);
            Assert.Null(y.GradFn);
            Assert.False(y.RequiresGrad);
            Assert.Equal(9f, y[0, 0, 2, 2]);
            Assert.Equal(4f, y[0, 0, 0, 0]);
        }
    }

    [Fact]
    public void Symmetric_tuple_overload_equals_four_sided_padding()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(2 * 2 * 6 * 7, 1), 2, 2, 6, 7);
        var w = Tensor.FromArray(GradCheck.RandomValues(2 * 2 * 3 * 2, 2), 2, 2, 3, 2);
        var a = F.Conv2d(x, w, null, (2, 1), (1, 2), (1, 2));
        var b = F.Conv2d(x, w, null, (2, 1), (1, 2, 1, 2), (1, 2));
        Assert.Equal(a.Shape, b.Shape);
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void Large_batch_uses_threads_and_matches_reference()
    {
        // Big enough for the batch split and the private weight-gradient accumulators to engage.
        var c = new ConvCase(8, 3, 10, 10, 4, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, true);
        float[] x = ConvCases.Input(c), w = ConvCases.Weight(c), b = ConvCases.Bias(c);
        var wt = Tensor.FromArray(w, c.WeightShape).RequiresGrad_();
        var y = Run(c, Tensor.FromArray(x, c.InputShape), wt, Tensor.FromArray(b, c.K));
        TensorAssert.Close(ConvCases.Forward(c, TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), TensorAssert.ToDouble(b)), y, Tolerance.Accumulated);
        var dy = GradCheck.RandomValues(y.Numel, 8);
        y.Backward(Tensor.FromArray(dy, y.Shape.ToArray()));
        var (_, dw, _) = Reference.Conv2dBackward(TensorAssert.ToDouble(x), TensorAssert.ToDouble(w), TensorAssert.ToDouble(dy),
            c.InputShape, c.WeightShape, c.Stride, c.Pads, c.Dilation, c.Groups);
        TensorAssert.Close(dw, wt.Grad!, new Tolerance(1e-4, 1e-4));
    }
}
