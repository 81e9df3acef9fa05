using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// The direct convolution kernels on every SIMD path (the wider paths run in software where the CPU lacks them) against
/// naive double loops over NCHW, for the seed's layers and for shapes that exercise every tile remainder.
/// </summary>
public sealed unsafe class DirectConv2dTests
{
    /// <summary>(in, out, kernel, pad, height, width): the seed's conv1 and conv2 at reduced size, odd widths, valid padding, 48 outputs (one and a half 32-wide groups), 2 input blocks, planar RGB stems (3 channels) and a 5-channel 5x5.</summary>
    public static TheoryData<int, int, int, int, int, int, int> Cases() => OnEveryIsa(
        (1, 16, 5, 2, 28, 28),
        (16, 32, 5, 2, 14, 14),
        (1, 32, 3, 1, 7, 13),
        (32, 16, 3, 1, 5, 17),
        (16, 48, 3, 0, 6, 9),
        (32, 32, 5, 2, 4, 30),
        (3, 32, 3, 1, 9, 13),
        (3, 16, 3, 1, 6, 34),
        (5, 48, 5, 2, 7, 8));

    /// <summary>Every (in, out, kernel, pad, height, width) shape on every <see cref="IsaLevel"/>.</summary>
    internal static TheoryData<int, int, int, int, int, int, int> OnEveryIsa(params (int C, int K, int Ks, int P, int H, int W)[] shapes)
    {
        var data = new TheoryData<int, int, int, int, int, int, int>();
        foreach (IsaLevel path in Enum.GetValues<IsaLevel>())
            foreach (var (c, k, ks, p, h, w) in shapes)
                data.Add(c, k, ks, p, h, w, (int)path);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Forward_with_bias_relu_and_statistics_matches_double_reference(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var path = (IsaLevel)pathIndex;
        var rng = new Random(c * 1000 + k * 10 + ks);
        var plan = new DirectConv2d(c, k, ks, p, h, w, path);
        double[] x = Random(rng, c * h * w), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
        double[] expected = Reference(x, wt, b, c, k, ks, p, h, w, out int ho, out int wo);

        var xb = ToPaddedBlocked(x, c, h, w, p);
        var packed = new GuardedBuffer(plan.WeightLength);
        plan.PackWeights(ToFloat(wt), transposeAndFlip: false, packed.Pointer);
        var bias = new AlignedBuffer(k);
        ToFloat(b).CopyTo(bias.Span);
        foreach (bool relu in new[] { false, true })
        {
            var y = new GuardedBuffer(plan.OutputImage);
            var sum = new GuardedBuffer(k);
            var sumSq = new GuardedBuffer(k);
            plan.ForwardImage(xb.Pointer, packed.Pointer, bias.Pointer, y.Pointer, plan.OutputPlane, wo * 16, sum.Pointer, sumSq.Pointer, relu);
            GC.KeepAlive(xb); // the kernel reads through raw pointers: keep the buffers reachable until it returns
            GC.KeepAlive(bias);
            packed.AssertIntact("packed weights");
            y.AssertIntact("y");
            sum.AssertIntact("sum");
            sumSq.AssertIntact("sumSq");
            var got = FromBlocked(y.Span, k, ho, wo);
            var want = relu ? Array.ConvertAll(expected, v => Math.Max(v, 0)) : expected;
            TensorAssert.Close(want, got, Tolerance.Accumulated, $"forward relu={relu}");
            AssertChannelSums(want, sum.Span, sumSq.Span, k, ho * wo, sumStart: 0);
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardInput_matches_double_reference(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var path = (IsaLevel)pathIndex;
        if (c < 16) return; // the dX plan writes 16-channel blocks: a planar input's gradient is the chain's (ConvChainLayer pads the weights)
        var rng = new Random(c * 7 + k + ks + p);
        var plan = new DirectConv2d(c, k, ks, p, h, w, path);
        var dxPlan = DirectConv2d.ForBackwardInput(plan);
        int ho = plan.OutHeight, wo = plan.OutWidth;
        double[] wt = Random(rng, k * c * ks * ks), dy = Random(rng, k * ho * wo);
        var expected = InputGradientReference(dy, wt, c, k, ks, p, h, w);
        var dyPad = ToPaddedBlocked(dy, k, ho, wo, dxPlan.Padding);
        var packed = new GuardedBuffer(dxPlan.WeightLength);
        dxPlan.PackWeights(ToFloat(wt), transposeAndFlip: true, packed.Pointer);
        var dx = new GuardedBuffer(dxPlan.OutputImage);
        dxPlan.ForwardImage(dyPad.Pointer, packed.Pointer, null, dx.Pointer, dxPlan.OutputPlane, w * 16, null, null, relu: false);
        GC.KeepAlive(dyPad);
        packed.AssertIntact("packed weights");
        dx.AssertIntact("dx");
        Assert.Equal(h, dxPlan.OutHeight);
        Assert.Equal(w, dxPlan.OutWidth);
        TensorAssert.Close(expected, FromBlocked(dx.Span, c, h, w), Tolerance.Accumulated, "dx");
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardWeight_accumulates_over_images_and_matches_double_reference(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        var path = (IsaLevel)pathIndex;
        var rng = new Random(c + k * 3 + ks * 5 + h);
        var plan = new DirectConv2d(c, k, ks, p, h, w, path);
        int ho = plan.OutHeight, wo = plan.OutWidth;
        var expected = new double[k * c * ks * ks];
        var acc = new GuardedBuffer(plan.WeightLength);
        for (int image = 0; image < 2; image++)
        {
            double[] x = Random(rng, c * h * w), dy = Random(rng, k * ho * wo);
            AddWeightGradReference(expected, x, dy, c, k, ks, p, h, w, ho, wo);
            var xb = ToPaddedBlocked(x, c, h, w, p);
            var dyb = ToPaddedBlocked(dy, k, ho, wo, 0);
            plan.WeightGradImage(xb.Pointer, dyb.Pointer, plan.OutputPlane, wo * 16, acc.Pointer);
            GC.KeepAlive(xb);
            GC.KeepAlive(dyb);
        }
        acc.AssertIntact("weight-gradient accumulator");
        var grad = new float[plan.WeightLength];
        plan.UnpackWeightGrad([(nint)acc.Pointer], grad, accumulate: false);
        TensorAssert.Close(expected, grad, Tolerance.Accumulated, "dW");

        // A second accumulator (another thread's share) is summed in, and accumulate adds to what is there.
        var second = new AlignedBuffer(plan.WeightLength);
        second.Span.Fill(1f);
        plan.UnpackWeightGrad([(nint)acc.Pointer, (nint)second.Pointer], grad, accumulate: true);
        GC.KeepAlive(acc);
        GC.KeepAlive(second);
        TensorAssert.Close(Array.ConvertAll(expected, v => 2 * v + 1), grad, Tolerance.Accumulated, "dW accumulated");
    }

    [Theory, MemberData(nameof(Cases))]
    public void BackwardWeight_of_several_images_in_one_call_has_the_bits_of_one_call_per_image(int c, int k, int ks, int p, int h, int w, int pathIndex)
    {
        // The compiled chain hands small feature maps to the kernel several images at a time, their gradients in padded
        // per-image slots (a dy padding of 1 here, so the image stride is not the plain image size).
        var path = (IsaLevel)pathIndex;
        var rng = new Random(c * 5 + k + ks * 3 + w);
        var plan = new DirectConv2d(c, k, ks, p, h, w, path);
        int ho = plan.OutHeight, wo = plan.OutWidth, images = 3, dyPad = 1;
        int dyRow = (wo + 2 * dyPad) * 16, dyPlane = (ho + 2 * dyPad) * dyRow, dyImage = k / 16 * dyPlane;
        var x = new AlignedBuffer(images * plan.InputImage);
        var dy = new AlignedBuffer(images * dyImage);
        var expected = new double[k * c * ks * ks];
        var single = new GuardedBuffer(plan.WeightLength);
        for (int m = 0; m < images; m++)
        {
            double[] xm = Random(rng, c * h * w), dym = Random(rng, k * ho * wo);
            AddWeightGradReference(expected, xm, dym, c, k, ks, p, h, w, ho, wo);
            ToPaddedBlocked(xm, c, h, w, p).Span.CopyTo(x.Span[(m * plan.InputImage)..]);
            ToPaddedBlocked(dym, k, ho, wo, dyPad).Span.CopyTo(dy.Span[(m * dyImage)..]);
            float* interior = dy.Pointer + (long)m * dyImage + dyPad * dyRow + dyPad * 16;
            plan.WeightGradImage(x.Pointer + (long)m * plan.InputImage, interior, dyPlane, dyRow, single.Pointer);
        }
        var batched = new GuardedBuffer(plan.WeightLength);
        plan.WeightGradImages(x.Pointer, plan.InputImage, dy.Pointer + dyPad * dyRow + dyPad * 16, dyImage, images, dyPlane, dyRow, batched.Pointer);
        single.AssertIntact("per-image accumulator");
        batched.AssertIntact("batched accumulator");
        GC.KeepAlive(x);
        GC.KeepAlive(dy);
        Assert.Equal(single.Span.ToArray(), batched.Span.ToArray());
        var grad = new float[plan.WeightLength];
        plan.UnpackWeightGrad([(nint)batched.Pointer], grad, accumulate: false);
        TensorAssert.Close(expected, grad, Tolerance.Accumulated, "dW of three images");
    }

    [Fact]
    public void Unsupported_channel_counts_throw_naming_them()
    {
        var e = Assert.Throws<ArgumentException>(() => new DirectConv2d(17, 16, 3, 1, 8, 8, IsaLevel.V256));
        Assert.Contains("17", e.Message);
        Assert.Throws<ArgumentException>(() => new DirectConv2d(0, 16, 3, 1, 8, 8, IsaLevel.V256));
        Assert.Throws<ArgumentException>(() => new DirectConv2d(16, 24, 3, 1, 8, 8, IsaLevel.V256));
        Assert.Throws<ArgumentException>(() => new DirectConv2d(16, 16, 9, 0, 8, 8, IsaLevel.V256));
    }

    [Fact]
    public void Split_is_balanced_and_covers_the_range()
    {
        Assert.Equal([(0, 4), (4, 5), (9, 5)], DirectConv2d.Split(14, 6));
        Assert.Equal([(0, 14)], DirectConv2d.Split(14, 14));
        Assert.Equal([(0, 8), (8, 8)], DirectConv2d.Split(16, 14));
    }

    /// <summary>Adds one image's weight gradient (PyTorch layout (K, C, ks, ks)) into <paramref name="expected"/>, in double.</summary>
    internal static void AddWeightGradReference(double[] expected, double[] x, double[] dy, int c, int k, int ks, int p, int h, int w, int ho, int wo,
        int stride = 1)
    {
        for (int o = 0; o < k; o++)
            for (int i = 0; i < c; i++)
                for (int kh = 0; kh < ks; kh++)
                    for (int kw = 0; kw < ks; kw++)
                    {
                        double s = 0;
                        for (int oy = 0; oy < ho; oy++)
                            for (int ox = 0; ox < wo; ox++)
                            {
                                int iy = oy * stride + kh - p, ix = ox * stride + kw - p;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < w) s += x[(i * h + iy) * w + ix] * dy[(o * ho + oy) * wo + ox];
                            }
                        expected[((o * c + i) * ks + kh) * ks + kw] += s;
                    }
    }

    internal static double[] Random(Random rng, int n)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    // Per-channel sum (added to sumStart, what the buffer held) and sum of squares of want ([k][pixels]) vs the kernel's.
    // Every wrong channel is named (not only the first), so a corrupted lane pattern shows whole.
    internal static void AssertChannelSums(double[] want, ReadOnlySpan<float> sum, ReadOnlySpan<float> sumSq, int k, int pixels, double sumStart)
    {
        var bad = new List<string>();
        for (int o = 0; o < k; o++)
        {
            double s = sumStart, q = 0;
            for (int i = 0; i < pixels; i++) { double v = want[o * pixels + i]; s += v; q += v * v; }
            if (!(Math.Abs(s - sum[o]) <= 1e-4 * (1 + Math.Abs(s)))) bad.Add($"sum[{o}] {sum[o]:R} vs {s}");
            if (!(Math.Abs(q - sumSq[o]) <= 1e-4 * (1 + q))) bad.Add($"sumSq[{o}] {sumSq[o]:R} vs {q}");
        }
        Assert.True(bad.Count == 0, string.Join("; ", bad));
    }

    // dx[i][y][x] = sum over o, kh, kw with y = oy + kh - p, x = ox + kw - p of dy[o][oy][ox] * w[o][i][kh][kw]
    internal static double[] InputGradientReference(double[] dy, double[] wt, int c, int k, int ks, int p, int h, int w)
    {
        int ho = h + 2 * p - ks + 1, wo = w + 2 * p - ks + 1;
        var dx = new double[c * h * w];
        for (int o = 0; o < k; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                    for (int i = 0; i < c; i++)
                        for (int kh = 0; kh < ks; kh++)
                            for (int kw = 0; kw < ks; kw++)
                            {
                                int iy = oy + kh - p, ix = ox + kw - p;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                dx[(i * h + iy) * w + ix] += dy[(o * ho + oy) * wo + ox] * wt[((o * c + i) * ks + kh) * ks + kw];
                            }
        return dx;
    }

    internal static float[] ToFloat(double[] a) => Array.ConvertAll(a, v => (float)v);

    /// <summary>y[o][y][x] = b[o] + sum w[o][i][kh][kw] * x[i][y + kh - p][x + kw - p] (zero outside), in double.</summary>
    internal static double[] Reference(double[] x, double[] w, double[] b, int c, int k, int ks, int p, int h, int wd, out int ho, out int wo)
    {
        ho = h + 2 * p - ks + 1;
        wo = wd + 2 * p - ks + 1;
        var y = new double[k * ho * wo];
        for (int o = 0; o < k; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++)
                {
                    double s = b[o];
                    for (int i = 0; i < c; i++)
                        for (int kh = 0; kh < ks; kh++)
                            for (int kw = 0; kw < ks; kw++)
                            {
                                int iy = oy + kh - p, ix = ox + kw - p;
                                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) s += w[((o * c + i) * ks + kh) * ks + kw] * x[(i * h + iy) * wd + ix];
                            }
                    y[(o * ho + oy) * wo + ox] = s;
                }
        return y;
    }

    /// <summary>NCHW (one image) to [C/16][H+2p][W+2p][16] with a zero border (planar [C][H+2p][W+2p] when C &lt; 16).</summary>
    internal static AlignedBuffer ToPaddedBlocked(double[] x, int c, int h, int w, int p)
    {
        int s = c < 16 ? 1 : 16, hp = h + 2 * p, wp = w + 2 * p;
        var buf = new AlignedBuffer((c < 16 ? c : c / 16) * hp * wp * s);
        var span = buf.Span;
        for (int i = 0; i < c; i++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++)
                    span[((i / s * hp + y + p) * wp + xx + p) * s + i % s] = (float)x[(i * h + y) * w + xx];
        return buf;
    }

    /// <summary>[C/16][H][W][16] to NCHW.</summary>
    internal static float[] FromBlocked(ReadOnlySpan<float> y, int c, int h, int w)
    {
        var r = new float[c * h * w];
        for (int i = 0; i < c; i++)
            for (int yy = 0; yy < h; yy++)
                for (int x = 0; x < w; x++)
                    r[(i * h + yy) * w + x] = y[((i / 16 * h + yy) * w + x) * 16 + i % 16];
        return r;
    }
}
