using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The dedicated depthwise 3×3 kernel (padding 1, stride 1 and 2) against the float64 reference at every SIMD level:
/// planes of 1×1, 2×2, 7×7, 112×112 and odd, non-square sizes (widths that are not a multiple of any vector width),
/// one output row per strip and uneven strips, the bias/residual/clamp epilogue, and the same bits for every thread
/// count and strip height.
/// </summary>
public sealed class DepthwiseConv3x3Tests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    private static ConvCase Dw(int n, int c, int h, int w, int stride, bool bias) =>
        new(n, c, h, w, c, 3, 3, (stride, stride), (1, 1, 1, 1), (1, 1), c, bias);

    private static IEnumerable<ConvCase> Cases()
    {
        foreach (int s in new[] { 1, 2 })
        {
            yield return Dw(1, 3, 1, 1, s, true);
            yield return Dw(2, 3, 2, 2, s, false);
            yield return Dw(1, 4, 7, 7, s, true);
            yield return Dw(1, 2, 14, 14, s, true);
            yield return Dw(1, 2, 112, 112, s, true);
            yield return Dw(2, 3, 9, 5, s, false);
            yield return Dw(1, 2, 17, 23, s, true);
            yield return Dw(1, 2, 3, 40, s, true);
        }
    }

    private static float[] Run(ConvCase c, IsaLevel level, float min, float max, bool residual, int threads = 1, long threshold = long.MaxValue,
        int stripFloats = GroupedConv2d.DefaultStripFloats)
    {
        var g = c.Geometry;
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        Array.Fill(y, float.NaN); // the output must be fully overwritten
        // Poison this thread's buffers: the kernel must zero (or mask) what it reads.
        Scratch.GetSpan(Scratch.Slot.GroupedInput, 1 << 16).Fill(float.NaN);
        Scratch.GetSpan(Scratch.Slot.GroupedOutput, 1 << 14).Fill(float.NaN);
        GroupedConv2d.Forward(ConvCases.Input(c), ConvCases.Weight(c), c.HasBias ? ConvCases.Bias(c) : default,
            residual ? GroupedConv2dTests.Residual(c) : default, y, g, min, max, level, threads, threshold, stripFloats);
        return y;
    }

    [Fact]
    public void Applies_to_depthwise_3x3_padding_1_at_stride_1_and_2_only()
    {
        Assert.True(DepthwiseConv3x3.Applies(Dw(1, 4, 8, 8, 1, true).Geometry));
        Assert.True(DepthwiseConv3x3.Applies(Dw(1, 4, 8, 8, 2, true).Geometry));
        Assert.False(DepthwiseConv3x3.Applies(new ConvCase(1, 4, 8, 8, 8, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 4, true).Geometry)); // multiplier 2
        Assert.False(DepthwiseConv3x3.Applies(new ConvCase(1, 4, 8, 8, 4, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1), 4, true).Geometry)); // padding 0
        Assert.False(DepthwiseConv3x3.Applies(new ConvCase(1, 4, 8, 8, 4, 3, 3, (3, 3), (1, 1, 1, 1), (1, 1), 4, true).Geometry)); // stride 3
        Assert.False(DepthwiseConv3x3.Applies(new ConvCase(1, 4, 8, 8, 4, 5, 5, (1, 1), (1, 1, 1, 1), (1, 1), 4, true).Geometry)); // 5x5
        Assert.False(DepthwiseConv3x3.Applies(new ConvCase(1, 4, 8, 8, 4, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2), 4, true).Geometry)); // dilation
    }

    [Theory, MemberData(nameof(Levels))]
    public void Forward_and_epilogue_match_reference(int level)
    {
        // No epilogue over whole planes, one output row per strip and uneven strips; then ReLU6, and residual + clip.
        var epilogues = new (float Min, float Max, bool Residual, int Strip)[]
        {
            (float.NegativeInfinity, float.PositiveInfinity, false, GroupedConv2d.DefaultStripFloats),
            (float.NegativeInfinity, float.PositiveInfinity, false, 1), (float.NegativeInfinity, float.PositiveInfinity, false, 37),
            (0f, 6f, false, GroupedConv2d.DefaultStripFloats), (0f, 0.5f, true, GroupedConv2d.DefaultStripFloats),
        };
        foreach (var c in Cases())
            foreach (var (min, max, residual, strip) in epilogues)
                TensorAssert.Close(GroupedConv2dTests.Expected(c, min, max, residual),
                    Run(c, (IsaLevel)level, min, max, residual, stripFloats: strip), Tolerance.Accumulated,
                    $"{c} clamp [{min}, {max}] residual {residual} strip {strip}");
    }

    [Theory, MemberData(nameof(Levels))]
    public void Masked_stride_2_row_splits_give_the_bits_of_the_plain_ones(int level)
    {
        // GroupedConv2d.MaskedDeinterleave: rows of at most 32 floats split in masked steps (DepthwiseConv3x3's narrow
        // copy), longer ones with a masked tail; widths around 16 and 32, odd and even, whole planes and one-row strips.
        ConvCase[] extra = [Dw(1, 2, 6, 31, 2, true), Dw(1, 2, 5, 32, 2, false), Dw(1, 2, 4, 33, 2, true), Dw(2, 3, 15, 15, 2, true), Dw(1, 2, 9, 16, 2, true), Dw(1, 2, 3, 17, 2, false)];
        bool saved = GroupedConv2d.MaskedDeinterleave;
        try
        {
            foreach (var c in Cases().Concat(extra))
                foreach (int strip in new[] { GroupedConv2d.DefaultStripFloats, 1 })
                {
                    GroupedConv2d.MaskedDeinterleave = false;
                    var plain = Run(c, (IsaLevel)level, 0f, 6f, true, stripFloats: strip);
                    GroupedConv2d.MaskedDeinterleave = true;
                    Assert.Equal(plain, Run(c, (IsaLevel)level, 0f, 6f, true, stripFloats: strip));
                }
        }
        finally
        {
            GroupedConv2d.MaskedDeinterleave = saved;
        }
    }

    [Fact]
    public void Results_are_identical_for_every_thread_count_and_strip_height()
    {
        foreach (var c in Cases())
        {
            var one = Run(c, Isa.Level, 0f, 6f, true);
            foreach (int threads in new[] { 2, 3, 5 })
                Assert.Equal(one, Run(c, Isa.Level, 0f, 6f, true, threads, threshold: 0));
            Assert.Equal(one, Run(c, Isa.Level, 0f, 6f, true, stripFloats: 1));
        }
    }

    [Fact]
    public void Infinite_input_beside_the_padding_stays_out_of_masked_taps()
    {
        // The tap left of column 0 reads the previous row's last value: an infinity there must not leak in as 0·∞ = NaN.
        var c = Dw(1, 1, 4, 4, 1, false);
        var g = c.Geometry;
        var x = new float[16];
        x[3] = float.PositiveInfinity; // row 0, last column: the masked left tap of (1, 0) and right tap of (0, 3)'s neighbour
        var w = new float[9];
        Array.Fill(w, 1f);
        var y = new float[16];
        GroupedConv2d.Forward(x, w, default, default, y, g, float.NegativeInfinity, float.PositiveInfinity, Isa.Level, 1, long.MaxValue);
        for (int oh = 0; oh < 4; oh++)
            for (int ow = 0; ow < 4; ow++)
                Assert.Equal(oh <= 1 && ow >= 2 ? float.PositiveInfinity : 0f, y[oh * 4 + ow]);
    }

    /// <summary>
    /// <see cref="DepthwiseConv3x3.ForwardPadded"/> (the planes read in place in the padded layout) gives
    /// <see cref="DepthwiseConv3x3.ForwardRows"/>'s bits at every level, with and without bias and clamps, at the smallest
    /// pitch and a wider one; the buffer starts as NaN, so padding that <see cref="DepthwiseConv3x3.ClearPadding"/> left
    /// or a read outside the masked taps shows.
    /// </summary>
    [Theory, MemberData(nameof(Levels))]
    public unsafe void Padded_planes_read_in_place_give_the_bits_of_the_copied_rows(int level)
    {
        const int c = 5;
        foreach (var (h, w) in new[] { (7, 7), (1, 1), (2, 3), (5, 9), (14, 14), (3, 17) })
            foreach (bool epilogue in new[] { false, true })
            {
                var g = Dw(1, c, h, w, 1, epilogue).Geometry;
                var x = GradCheck.RandomValues(c * h * w, h * w);
                var wt = GradCheck.RandomValues(c * 9, h + w);
                var b = GradCheck.RandomValues(c, h * w + 1);
                float min = epilogue ? 0f : float.NegativeInfinity, max = epilogue ? 6f : float.PositiveInfinity;
                foreach (int extra in new[] { 0, 19 })
                {
                    int pitch = DepthwiseConv3x3.PaddedFloats(h, w) + extra, at = DepthwiseConv3x3.PaddedOffset(w);
                    var padded = new float[c * pitch];
                    Array.Fill(padded, float.NaN);
                    var expected = new float[c * h * w];
                    var actual = new float[c * h * w];
                    Array.Fill(actual, float.NaN);
                    fixed (float* px = x, pp = padded, pw = wt, pb = b, pe = expected, pa = actual)
                    {
                        DepthwiseConv3x3.ClearPadding(pp, c, pitch, h, w);
                        for (int ch = 0; ch < c; ch++) Array.Copy(x, ch * h * w, padded, ch * pitch + at, h * w);
                        DepthwiseConv3x3.ForwardRows(px, h * w, pw, epilogue ? pb : null, pe, h * w, g, 0, h, min, max, (IsaLevel)level);
                        DepthwiseConv3x3.ForwardPadded(pp, pitch, pw, epilogue ? pb : null, pa, h * w, g, min, max, (IsaLevel)level);
                    }
                    Assert.Equal(expected, actual);
                }
            }
    }
}
