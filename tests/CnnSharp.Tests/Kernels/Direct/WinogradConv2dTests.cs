using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Tests.Kernels.Direct.DirectConv2dTests;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// Winograd F(2x2, 5x5) and F(4x4, 3x3) against naive double loops: forward with bias, ReLU and statistics, the backward-input use with
/// transposed and flipped weights, odd output sizes (partial edge tiles), output strides, every block size.
/// Errors are measured relative to the output scale (max |want|), the measure the training engine's tests use.
/// </summary>
public sealed unsafe class WinogradConv2dTests
{
    // Observed max |got - want| / max |want| (inputs and weights uniform in [-1, 1]): F(2x2, 5x5) 0.65e-6 to 3.1e-6,
    // F(4x4, 3x3) 0.35e-6 to 5.3e-6 (its A^T weights up to 8 per direction), against the direct kernel's 0.5e-6 to 0.7e-6; the engine's gradient tests allow 5e-5.
    // A wrong transform entry or a misplaced tile gives errors of order 1e-2 and more.
    private const double RelativeBound = 1e-5;

    /// <summary>
    /// (in, out, pad, height, width, tiles per block, kernel): the seed's conv2 and its dX shape, odd and tiny outputs,
    /// valid padding, 3 output groups; 3x3 on ResNet-like sizes (14x14 and 7x7: partial edge tiles), odd shapes, 64 input channels.
    /// </summary>
    public static TheoryData<int, int, int, int, int, int, int> Cases() => new()
    {
        { 16, 32, 2, 14, 14, 25, 5 },
        { 32, 16, 2, 14, 14, 49, 5 },
        { 16, 32, 2, 14, 14, 1, 5 },
        { 16, 16, 2, 7, 9, 4, 5 },
        { 32, 48, 0, 9, 6, 25, 5 },
        { 16, 16, 1, 4, 3, 7, 5 },
        { 16, 16, 0, 5, 5, 25, 5 },
        { 16, 32, 1, 14, 14, 12, 3 },
        { 32, 16, 1, 7, 7, 12, 3 },
        { 64, 16, 1, 7, 7, 1, 3 },
        { 16, 48, 0, 9, 6, 25, 3 },
        { 16, 16, 1, 5, 3, 7, 3 },
        { 16, 16, 0, 3, 3, 12, 3 },
        { 16, 16, 1, 23, 18, 12, 3 },
    };

    /// <summary><see cref="Cases"/> with 8-lane (false) and 16-lane (true, <see cref="WinogradConv2d.Wide"/>) plans.</summary>
    public static TheoryData<int, int, int, int, int, int, int, bool> WidthCases()
    {
        var cases = new TheoryData<int, int, int, int, int, int, int, bool>();
        foreach (object[] a in Cases())
            foreach (bool wide in new[] { false, true })
                cases.Add((int)a[0]!, (int)a[1]!, (int)a[2]!, (int)a[3]!, (int)a[4]!, (int)a[5]!, (int)a[6]!, wide);
        return cases;
    }

    [Theory, MemberData(nameof(WidthCases))]
    public void Forward_with_bias_relu_and_statistics_matches_double_reference(int c, int k, int p, int h, int w, int tilesPerBlock, int ks, bool wide)
    {
        var rng = new Random(c * 31 + k + p * 7 + h * 3 + w + tilesPerBlock + ks);
        var plan = new WinogradConv2d(c, k, p, h, w, tilesPerBlock, ks, wide);
        double[] x = Random(rng, c * h * w), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
        double[] expected = Reference(x, wt, b, c, k, ks, p, h, w, out int ho, out int wo);
        Assert.Equal((ho, wo), (plan.OutHeight, plan.OutWidth));

        var xb = ToPaddedBlocked(x, c, h, w, p);
        var (packed, bias, scratch) = Prepare(plan, wt, b);
        foreach (bool relu in new[] { false, true })
        {
            var y = new GuardedBuffer(plan.OutputImage);
            var sum = new GuardedBuffer(k);
            var sumSq = new GuardedBuffer(k);
            sum.Span.Fill(1f); // the kernel adds to what is there
            plan.ForwardImage(xb.Pointer, packed.Pointer, bias.Pointer, y.Pointer, plan.OutputPlane, wo * 16, sum.Pointer, sumSq.Pointer, relu, scratch.Pointer);
            GC.KeepAlive(xb); // raw pointers: keep the buffers reachable until the kernel returns
            GC.KeepAlive(packed);
            GC.KeepAlive(bias);
            scratch.AssertIntact("scratch");
            y.AssertIntact("y");
            sum.AssertIntact("sum");
            sumSq.AssertIntact("sumSq");
            var want = relu ? Array.ConvertAll(expected, v => Math.Max(v, 0)) : expected;
            AssertRelativelyClose(want, FromBlocked(y.Span, k, ho, wo), $"forward relu={relu}");
            AssertChannelSums(want, sum.Span, sumSq.Span, k, ho * wo, sumStart: 1);
        }
    }

    [Theory, MemberData(nameof(WidthCases))]
    public void BackwardInput_with_transposed_flipped_weights_matches_double_reference(int c, int k, int p, int h, int w, int tilesPerBlock, int ks, bool wide)
    {
        _ = tilesPerBlock;
        var rng = new Random(c + k * 5 + p + h * 11 + w + ks);
        var forward = new WinogradConv2d(c, k, p, h, w, kernelSize: ks, wide: wide);
        var dxPlan = WinogradConv2d.ForBackwardInput(forward);
        Assert.Equal((ks, wide), (dxPlan.KernelSize, dxPlan.Wide));
        int ho = forward.OutHeight, wo = forward.OutWidth;
        double[] wt = Random(rng, k * c * ks * ks), dy = Random(rng, k * ho * wo);
        var expected = InputGradientReference(dy, wt, c, k, ks, p, h, w);
        var dyPad = ToPaddedBlocked(dy, k, ho, wo, dxPlan.Padding);
        var packed = new GuardedBuffer(dxPlan.PackedLength);
        dxPlan.PackWeights(ToFloat(wt), transposeAndFlip: true, packed.Pointer);
        var dx = new GuardedBuffer(dxPlan.OutputImage);
        var scratch = new GuardedBuffer(dxPlan.ScratchLength);
        dxPlan.ForwardImage(dyPad.Pointer, packed.Pointer, null, dx.Pointer, dxPlan.OutputPlane, w * 16, null, null, relu: false, scratch.Pointer);
        GC.KeepAlive(dyPad);
        packed.AssertIntact("packed weights");
        scratch.AssertIntact("scratch");
        dx.AssertIntact("dx");
        Assert.Equal((h, w), (dxPlan.OutHeight, dxPlan.OutWidth));
        AssertRelativelyClose(expected, FromBlocked(dx.Span, c, h, w), "dx");
    }

    [Theory]
    [InlineData(14, 14, 5)]
    [InlineData(7, 5, 5)]
    [InlineData(14, 14, 3)]
    [InlineData(7, 5, 3)]
    public void Output_strides_are_honoured_and_nothing_outside_the_output_is_written(int h, int w, int ks)
    {
        // Store into the interior of a bigger padded buffer (the next layer's input), as the engine's callers may.
        const int c = 16, k = 32, border = 3;
        int p = ks / 2;
        var rng = new Random(h * 100 + w + ks);
        var plan = new WinogradConv2d(c, k, p, h, w, kernelSize: ks);
        int ho = plan.OutHeight, wo = plan.OutWidth, rowLen = (wo + 2 * border) * 16, planeLen = (ho + 2 * border) * rowLen;
        double[] x = Random(rng, c * h * w), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
        double[] expected = Reference(x, wt, b, c, k, ks, p, h, w, out _, out _);
        var xb = ToPaddedBlocked(x, c, h, w, p);
        var (packed, bias, scratch) = Prepare(plan, wt, b);
        var big = new AlignedBuffer(k / 16 * planeLen);
        big.Span.Fill(float.NaN);
        plan.ForwardImage(xb.Pointer, packed.Pointer, bias.Pointer, big.Pointer + border * rowLen + border * 16, planeLen, rowLen, null, null, false, scratch.Pointer);
        GC.KeepAlive(xb);
        GC.KeepAlive(packed);
        GC.KeepAlive(bias);
        GC.KeepAlive(scratch);
        var got = new float[k * ho * wo];
        for (int o = 0; o < k; o++)
            for (int yy = 0; yy < ho + 2 * border; yy++)
                for (int xx = 0; xx < wo + 2 * border; xx++)
                {
                    float v = big.Span[o / 16 * planeLen + yy * rowLen + xx * 16 + o % 16];
                    bool inside = yy >= border && yy < ho + border && xx >= border && xx < wo + border;
                    if (inside) got[(o * ho + yy - border) * wo + xx - border] = v;
                    else Assert.True(float.IsNaN(v), $"channel {o} wrote outside the output at ({yy - border}, {xx - border})");
                }
        AssertRelativelyClose(expected, got, "strided forward");
    }

    [Fact]
    public void Agrees_with_the_direct_kernel_on_the_seed_conv2()
    {
        var rng = new Random(5);
        var wino = new WinogradConv2d(16, 32, 2, 14, 14);
        var direct = new DirectConv2d(16, 32, 5, 2, 14, 14, IsaLevel.V256);
        double[] x = Random(rng, 16 * 196), wt = Random(rng, 32 * 16 * 25);
        var xb = ToPaddedBlocked(x, 16, 14, 14, 2);
        var u = new AlignedBuffer(wino.PackedLength);
        var packed = new AlignedBuffer(direct.WeightLength);
        wino.PackWeights(ToFloat(wt), false, u.Pointer);
        direct.PackWeights(ToFloat(wt), false, packed.Pointer);
        var scratch = new AlignedBuffer(wino.ScratchLength);
        var y1 = new AlignedBuffer(wino.OutputImage);
        var y2 = new AlignedBuffer(direct.OutputImage);
        wino.ForwardImage(xb.Pointer, u.Pointer, null, y1.Pointer, wino.OutputPlane, 14 * 16, null, null, false, scratch.Pointer);
        direct.ForwardImage(xb.Pointer, packed.Pointer, null, y2.Pointer, direct.OutputPlane, 14 * 16, null, null, false);
        GC.KeepAlive(xb);
        GC.KeepAlive(u);
        GC.KeepAlive(packed);
        GC.KeepAlive(scratch);
        AssertRelativelyClose(TensorAssertToDouble(y2.Span), y1.Span.ToArray(), "winograd vs direct");
    }

    [Fact]
    public void Unsupported_geometry_throws_naming_it()
    {
        var e = Assert.Throws<ArgumentException>(() => new WinogradConv2d(8, 16, 2, 14, 14));
        Assert.Contains("8", e.Message);
        e = Assert.Throws<ArgumentException>(() => new WinogradConv2d(16, 20, 2, 14, 14));
        Assert.Contains("20", e.Message);
        Assert.Throws<ArgumentException>(() => new WinogradConv2d(16, 16, 0, 4, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WinogradConv2d(16, 16, 2, 8, 8, tilesPerBlock: 0));
        e = Assert.Throws<ArgumentException>(() => new WinogradConv2d(16, 16, 2, 8, 8, kernelSize: 7));
        Assert.Contains("7x7", e.Message);
        var plan = new WinogradConv2d(16, 16, 2, 8, 8);
        var packed = new AlignedBuffer(plan.PackedLength);
        Assert.Throws<ArgumentException>(() => plan.PackWeights(new float[16 * 16 * 9], false, packed.Pointer));
    }

    [Fact]
    public void For_applies_only_to_5x5_and_3x3_multiple_of_16_inputs_on_the_wide_paths()
    {
        var plan = WinogradConv2d.For(new DirectConv2d(16, 32, 5, 2, 14, 14, IsaLevel.V256));
        Assert.NotNull(plan);
        Assert.Equal((16, 32, 2, 14, 14), (plan.InChannels, plan.OutChannels, plan.Padding, plan.OutHeight, plan.OutWidth));
        Assert.NotNull(WinogradConv2d.For(new DirectConv2d(16, 32, 5, 2, 14, 14, IsaLevel.V512)));
        Assert.Null(WinogradConv2d.For(new DirectConv2d(16, 32, 5, 2, 14, 14, IsaLevel.V128)));
        Assert.Null(WinogradConv2d.For(new DirectConv2d(16, 32, 5, 2, 14, 14, IsaLevel.Scalar)));
        var f43 = WinogradConv2d.For(new DirectConv2d(16, 32, 3, 1, 14, 14, IsaLevel.V256));
        Assert.NotNull(f43);
        Assert.Equal((3, 4, 4, 4), (f43.KernelSize, f43.TileSize, f43.TileRows, f43.TileColumns));
        Assert.Null(WinogradConv2d.For(new DirectConv2d(16, 32, 3, 1, 14, 14, IsaLevel.V128)));
        Assert.Null(WinogradConv2d.For(new DirectConv2d(16, 32, 1, 0, 14, 14, IsaLevel.V256)));
        Assert.Null(WinogradConv2d.For(new DirectConv2d(1, 16, 5, 2, 28, 28, IsaLevel.V256)));
    }

    [Fact]
    public void Blocks_cover_every_tile_once_and_size_the_scratch()
    {
        var plan = new WinogradConv2d(16, 32, 2, 14, 14, tilesPerBlock: 20);
        Assert.Equal((7, 7), (plan.TileRows, plan.TileColumns));
        Assert.Equal(17, plan.TilesPerBlock); // 49 tiles = runs 5 5 6 5 6 5 6 5 6, three runs per block: 16, 16, 17
        // V and M of 17 tiles, each position padded by one 64-byte line (WinogradConv2d.PositionPad), two 6x6 tiles, the sums.
        Assert.Equal(36 * (17 * 48 + 2 * WinogradConv2d.PositionPad) + 2 * 36 * 16 + 2 * 32, plan.ScratchLength);
        Assert.Equal(6, new WinogradConv2d(16, 32, 2, 14, 14, tilesPerBlock: 1).TilesPerBlock); // at least one run
        var odd = new WinogradConv2d(16, 16, 2, 7, 9);
        Assert.Equal((4, 5), (odd.TileRows, odd.TileColumns));
    }

    [Theory]
    [InlineData(3, 64, 64, 1, 14, 14)]
    [InlineData(3, 16, 64, 1, 7, 7)]
    [InlineData(5, 16, 48, 2, 14, 14)]
    public void Parts_over_any_threads_and_split_give_the_bits_of_the_whole_image(int ks, int c, int k, int p, int h, int w)
    {
        var rng = new Random(ks * 7 + c + k + h);
        var plan = new WinogradConv2d(c, k, p, h, w, kernelSize: ks);
        double[] x = Random(rng, c * h * w), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
        var xb = ToPaddedBlocked(x, c, h, w, p);
        var packed = new AlignedBuffer(plan.PackedLength);
        plan.PackWeights(ToFloat(wt), transposeAndFlip: false, packed.Pointer);
        var bias = new AlignedBuffer(k);
        ToFloat(b).CopyTo(bias.Span);
        var whole = new AlignedBuffer(plan.OutputImage);
        var scratch = new[] { new AlignedBuffer(plan.ScratchLength), new AlignedBuffer(plan.ScratchLength), new AlignedBuffer(plan.ScratchLength) };
        plan.ForwardImage(xb.Pointer, packed.Pointer, bias.Pointer, whole.Pointer, plan.OutputPlane, plan.OutWidth * 16, null, null, true, scratch[0].Pointer);
        var want = whole.Span.ToArray();
        Assert.Contains(want, v => v > 0);
        foreach (int threads in new[] { 1, 2, 3 })
            foreach (int groupsPerPart in new[] { 1, 3, k / 16 })
            {
                var y = new AlignedBuffer(plan.OutputImage);
                y.Span.Fill(float.NaN);
                float* px = xb.Pointer, pw = packed.Pointer, pb = bias.Pointer, py = y.Pointer;
                nint plane = plan.OutputPlane, row = plan.OutWidth * 16;
                WorkerPool.Shared.RunDynamic(threads, plan.PartCount(groupsPerPart), (part, thread) =>
                    plan.ForwardPart(part, groupsPerPart, px, pw, pb, py, plane, row, true, scratch[thread].Pointer));
                Assert.True(want.AsSpan().SequenceEqual(y.Span), $"threads {threads}, {groupsPerPart} groups per part: outputs differ");
                GC.KeepAlive(y);
            }
        GC.KeepAlive(xb);
        GC.KeepAlive(packed);
        GC.KeepAlive(bias);
        GC.KeepAlive(scratch);
    }

    private static double[] TensorAssertToDouble(ReadOnlySpan<float> v)
    {
        var r = new double[v.Length];
        for (int i = 0; i < r.Length; i++) r[i] = v[i];
        return r;
    }

    private static void AssertRelativelyClose(double[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        double scale = 0, worst = 0;
        int at = 0;
        for (int i = 0; i < want.Length; i++)
        {
            scale = Math.Max(scale, Math.Abs(want[i]));
            double err = Math.Abs(got[i] - want[i]);
            if (!(err <= worst)) { worst = err; at = i; }
        }
        Assert.True(worst <= RelativeBound * scale,
            $"{what}: max |got - want| = {worst:G3} at {at} (got {got[at]}, want {want[at]:G9}) is {worst / scale:G3} of max |want| {scale:G3}");
    }

    /// <summary>The plan's packed weights, its bias and a scratch buffer (raw-pointer buffers the caller keeps alive).</summary>
    private static (GuardedBuffer Packed, AlignedBuffer Bias, GuardedBuffer Scratch) Prepare(WinogradConv2d plan, double[] wt, double[] b)
    {
        var packed = new GuardedBuffer(plan.PackedLength);
        plan.PackWeights(ToFloat(wt), transposeAndFlip: false, packed.Pointer);
        packed.AssertIntact("packed weights");
        var bias = new AlignedBuffer(plan.OutChannels);
        ToFloat(b).CopyTo(bias.Span);
        return (packed, bias, new GuardedBuffer(plan.ScratchLength));
    }
}
