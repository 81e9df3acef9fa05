using CnnSharp.Kernels;
using CnnSharp.Tests.Compile;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The direct 3×3 stride-2 stem kernel (1 to 4 input channels, padding 1) against the float64 reference at every SIMD
/// level: even and odd, square and non-square planes (widths below and across vector widths, strips whose vectors
/// straddle rows), one output row per strip and uneven strips, bias or none, with and without the ReLU6 clamp; the same
/// bits for every thread count and strip height; an infinity beside the padding stays out of the masked taps; the tile's
/// kx taps written out (<see cref="StemConv3x3S2.UnrolledTaps"/>) give the looped taps' bits. In the plan-switch
/// collection: it flips that switch.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class StemConv3x3S2Tests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    private static ConvCase Stem(int n, int c, int h, int w, int k, bool bias) =>
        new(n, c, h, w, k, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 1, bias);

    private static IEnumerable<ConvCase> Cases()
    {
        yield return Stem(1, 3, 1, 1, 8, true);
        yield return Stem(2, 3, 2, 2, 16, false);
        yield return Stem(1, 3, 224, 224, 32, true); // MobileNet-v2's stem
        yield return Stem(2, 1, 15, 15, 8, true);
        yield return Stem(1, 4, 9, 34, 24, false);
        yield return Stem(1, 2, 33, 7, 8, true);
        yield return Stem(1, 3, 40, 3, 16, true);
    }

    private static float[] Run(ConvCase c, IsaLevel level, float min, float max, int threads = 1, int stripRows = 0)
    {
        var g = c.Geometry;
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        Array.Fill(y, float.NaN); // the output must be fully overwritten
        // Poison this thread's buffers: the kernel must write (or mask) everything it reads for stored outputs.
        Scratch.GetSpan(Scratch.Slot.GroupedInput, 1 << 16).Fill(float.NaN);
        Scratch.GetSpan(Scratch.Slot.GroupedOutput, 1 << 14).Fill(float.NaN);
        StemConv3x3S2.Forward(ConvCases.Input(c), ConvCases.Weight(c), c.HasBias ? ConvCases.Bias(c) : default, y, g, min, max, level, threads, stripRows);
        return y;
    }

    [Fact]
    public void Applies_to_3x3_stride_2_padding_1_over_few_channels_only()
    {
        Assert.True(StemConv3x3S2.Applies(Stem(1, 3, 224, 224, 32, true).Geometry));
        Assert.True(StemConv3x3S2.Applies(Stem(1, 4, 8, 8, 8, false).Geometry));
        Assert.False(StemConv3x3S2.Applies(Stem(1, 5, 8, 8, 8, true).Geometry)); // 5 channels
        Assert.False(StemConv3x3S2.Applies(Stem(1, 3, 8, 8, 12, true).Geometry)); // K not a multiple of 8
        Assert.False(StemConv3x3S2.Applies(new ConvCase(1, 3, 8, 8, 8, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, true).Geometry)); // stride 1
        Assert.False(StemConv3x3S2.Applies(new ConvCase(1, 3, 8, 8, 8, 3, 3, (2, 2), (0, 0, 0, 0), (1, 1), 1, true).Geometry)); // padding 0
        Assert.False(StemConv3x3S2.Applies(new ConvCase(1, 3, 8, 8, 8, 5, 5, (2, 2), (1, 1, 1, 1), (1, 1), 1, true).Geometry)); // 5x5
        Assert.False(StemConv3x3S2.Applies(new ConvCase(1, 4, 8, 8, 8, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 2, true).Geometry)); // groups
    }

    [Fact]
    public void Mismatched_operands_throw_naming_the_operand()
    {
        var c = Stem(1, 3, 8, 8, 8, true);
        var g = c.Geometry;
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        var e = Assert.Throws<ArgumentException>(() => StemConv3x3S2.Forward(new float[5], ConvCases.Weight(c), ConvCases.Bias(c), y, g, 0f, 6f, IsaLevel.Scalar, 1));
        Assert.Equal("x", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => StemConv3x3S2.Forward(ConvCases.Input(c), ConvCases.Weight(c), ConvCases.Bias(c), new float[3], g, 0f, 6f, IsaLevel.Scalar, 1));
        Assert.Equal("y", e.ParamName);
        var wrong = Stem(1, 3, 8, 8, 12, true);
        e = Assert.Throws<ArgumentException>(() => StemConv3x3S2.Forward(ConvCases.Input(wrong), ConvCases.Weight(wrong), ConvCases.Bias(wrong), new float[12 * 16], wrong.Geometry, 0f, 6f, IsaLevel.Scalar, 1));
        Assert.Equal("g", e.ParamName);
    }

    [Theory, MemberData(nameof(Levels))]
    public void Forward_and_epilogue_match_reference(int level)
    {
        var epilogues = new (float Min, float Max, int Strip)[]
        {
            (float.NegativeInfinity, float.PositiveInfinity, 0), (float.NegativeInfinity, float.PositiveInfinity, 1),
            (0f, 6f, 0), (0f, 0.5f, 3),
        };
        foreach (var c in Cases())
            foreach (var (min, max, strip) in epilogues)
                TensorAssert.Close(GroupedConv2dTests.Expected(c, min, max, residual: false),
                    Run(c, (IsaLevel)level, min, max, stripRows: strip), Tolerance.Accumulated,
                    $"{c} clamp [{min}, {max}] strip {strip}");
    }

    [Theory, MemberData(nameof(Levels))]
    public void Written_out_taps_give_the_looped_taps_bits(int level)
    {
        try
        {
            foreach (var c in Cases())
                foreach (var (min, max) in new[] { (float.NegativeInfinity, float.PositiveInfinity), (0f, 6f) })
                {
                    StemConv3x3S2.UnrolledTaps = false;
                    var looped = Run(c, (IsaLevel)level, min, max, stripRows: 3);
                    StemConv3x3S2.UnrolledTaps = true;
                    Assert.Equal(looped, Run(c, (IsaLevel)level, min, max, stripRows: 3));
                }
        }
        finally
        {
            StemConv3x3S2.UnrolledTaps = true;
        }
    }

    [Fact]
    public void Results_are_identical_for_every_thread_count_and_strip_height()
    {
        foreach (var c in Cases())
        {
            var one = Run(c, Isa.Level, 0f, 6f);
            foreach (int threads in new[] { 2, 3, 5 })
                Assert.Equal(one, Run(c, Isa.Level, 0f, 6f, threads));
            Assert.Equal(one, Run(c, Isa.Level, 0f, 6f, stripRows: 1));
            Assert.Equal(one, Run(c, Isa.Level, 0f, 6f, 2, stripRows: 2));
        }
    }

    [Fact]
    public void Infinite_input_beside_the_padding_stays_out_of_masked_taps()
    {
        // Output (1, 0)'s left taps would read input column -1; the strip layout puts the previous row's last odd
        // column there (row 1, column 3 here), whose infinity must be masked to 0, not multiplied.
        var c = Stem(1, 1, 4, 4, 8, false);
        var g = c.Geometry;
        var x = new float[16];
        x[1 * 4 + 3] = float.PositiveInfinity;
        var w = new float[8 * 9];
        Array.Fill(w, 1f);
        var y = new float[8 * 4];
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V128, IsaLevel.V256, IsaLevel.V512 })
        {
            StemConv3x3S2.Forward(x, w, default, y, g, float.NegativeInfinity, float.PositiveInfinity, level, 1);
            for (int k = 0; k < 8; k++)
                for (int oh = 0; oh < 2; oh++)
                    for (int ow = 0; ow < 2; ow++)
                        Assert.Equal(oh <= 1 && ow == 1 ? float.PositiveInfinity : 0f, y[k * 4 + oh * 2 + ow]);
        }
    }
}
