using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// A block without expansion with the RGB stem in its bands (<see cref="ExpandDepthwise.Stem"/>) against the stem run
/// whole (<see cref="StemConv3x3S2.Forward"/>) and then the block banded without it, bit for bit, at every SIMD level:
/// 1 to 4 input channels, even and odd input sizes, depthwise stride 1 and 2, bands of 1 row to the whole map, the
/// default and equal-part splits, batches of one and more images on 1 to 3 threads, with and without the stem's bias.
/// </summary>
public sealed class ExpandDepthwiseStemTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    // (N, stem input channels, stem output channels = depthwise channels, H, W, depthwise stride)
    private static readonly (int N, int C, int K, int H, int W, int S)[] Shapes =
    [
        (1, 3, 8, 16, 16, 1), (2, 3, 16, 15, 13, 1), (1, 1, 8, 9, 20, 2), (1, 4, 16, 40, 36, 1), (3, 2, 8, 7, 7, 1), (1, 3, 32, 33, 35, 2),
    ];

    /// <summary>Projection output channels: not a multiple of any register tile.</summary>
    private const int K2 = 11;

    private static (Conv2dGeometry Stem, Conv2dGeometry Dw, Conv2dGeometry Proj) Geometry((int N, int C, int K, int H, int W, int S) s)
    {
        var gs = Conv2dGeometry.Create([s.N, s.C, s.H, s.W], [s.K, s.C, 3, 3], (2, 2), (1, 1, 1, 1), (1, 1), 1, "stem");
        var gd = Conv2dGeometry.Create([s.N, s.K, gs.OutH, gs.OutW], [s.K, 1, 3, 3], (s.S, s.S), (1, 1, 1, 1), (1, 1), s.K, "depthwise");
        var gj = Conv2dGeometry.Create([s.N, s.K, gd.OutH, gd.OutW], [K2, s.K, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "projection");
        return (gs, gd, gj);
    }

    private sealed record Operands(float[] X, float[] Stem, float[]? StemBias, float[] Dw, float[] DwBias, PackedConvWeights Proj, float[] ProjBias);

    private static Operands Make((int N, int C, int K, int H, int W, int S) s, IsaLevel level, bool bias)
    {
        int seed = s.N * 1000 + s.C * 100 + s.K * 10 + s.H + s.W + s.S;
        return new Operands(GradCheck.RandomValues(s.N * s.C * s.H * s.W, seed), GradCheck.RandomValues(s.K * s.C * 9, seed + 1),
            bias ? GradCheck.RandomValues(s.K, seed + 2) : null, GradCheck.RandomValues(s.K * 9, seed + 3), GradCheck.RandomValues(s.K, seed + 4),
            new PackedConvWeights(GradCheck.RandomValues(K2 * s.K, seed + 5), K2, s.K, 1, 1, 1, level), GradCheck.RandomValues(K2, seed + 6));
    }

    /// <summary>The stem whole (ReLU6), then the block banded on its output (one thread, default bands).</summary>
    private static unsafe float[] Separate(Operands o, (int N, int C, int K, int H, int W, int S) s, IsaLevel level)
    {
        var (gs, gd, gj) = Geometry(s);
        var stem = new float[s.N * s.K * gs.OutH * gs.OutW];
        StemConv3x3S2.Forward(o.X, o.Stem, o.StemBias, stem, gs, 0f, 6f, level, 1);
        var z = new float[s.N * K2 * gj.H * gj.W];
        fixed (float* px = stem, pd = o.Dw, pdb = o.DwBias, pjb = o.ProjBias, pz = z)
            ExpandDepthwise.Forward(px, null, null, false, float.PositiveInfinity, pd, pdb, 0f, 6f, null, default, gd, level, 1, 0,
                new ExpandDepthwise.Projection(o.Proj, pjb, null, pz, gj, false, float.PositiveInfinity));
        return z;
    }

    private static unsafe float[] InBands(Operands o, (int N, int C, int K, int H, int W, int S) s, IsaLevel level, int threads, int bandRows, int parts)
    {
        var (gs, gd, gj) = Geometry(s);
        var packed = new float[s.K * s.C * 9];
        StemConv3x3S2.Pack(o.Stem, gs, level, packed);
        var z = new float[s.N * K2 * gj.H * gj.W];
        Array.Fill(z, float.NaN); // the output must be fully overwritten
        fixed (float* px = o.X, pw = packed, psb = o.StemBias, pd = o.Dw, pdb = o.DwBias, pjb = o.ProjBias, pz = z)
            ExpandDepthwise.Forward(px, null, null, false, float.PositiveInfinity, pd, pdb, 0f, 6f, null, default, gd, level, threads, bandRows,
                new ExpandDepthwise.Projection(o.Proj, pjb, null, pz, gj, false, float.PositiveInfinity), parts,
                new ExpandDepthwise.Stem(pw, psb, gs, 0f, 6f, level));
        return z;
    }

    [Theory, MemberData(nameof(Levels))]
    public void Stem_in_the_bands_matches_the_stem_run_whole_bit_for_bit(int level)
    {
        var isa = (IsaLevel)level;
        foreach (var s in Shapes)
            foreach (bool bias in new[] { true, false })
            {
                var o = Make(s, isa, bias);
                var expected = Separate(o, s, isa);
                foreach (int parts in new[] { 0, 2, 3 })
                    foreach (int band in new[] { 0, 1, 2, 5 })
                        foreach (int threads in new[] { 1, 2, 3 })
                            Assert.Equal(expected, InBands(o, s, isa, threads, band, parts));
            }
    }

    [Fact]
    public unsafe void A_stem_that_does_not_produce_the_depthwise_input_is_refused()
    {
        var s = (N: 1, C: 3, K: 8, H: 16, W: 16, S: 1);
        var (gs, gd, gj) = Geometry(s);
        var wrong = Geometry((1, 3, 16, 16, 16, 1)).Stem; // 16 output channels for an 8-channel depthwise conv
        var o = Make(s, IsaLevel.Scalar, true);
        var z = new float[K2 * gj.H * gj.W];
        var packed = new float[16 * 27];
        fixed (float* px = o.X, pw = packed, pd = o.Dw, pz = z)
        {
            float* ppw = pw, ppx = px, ppd = pd, ppz = pz;
            var e = Assert.Throws<ArgumentException>(() => ExpandDepthwise.Forward(ppx, null, null, false, float.PositiveInfinity, ppd, null, 0f, 6f, null,
                default, gd, IsaLevel.Scalar, 1, 0, new ExpandDepthwise.Projection(o.Proj, null, null, ppz, gj, false, float.PositiveInfinity), 0,
                new ExpandDepthwise.Stem(ppw, null, wrong, 0f, 6f, IsaLevel.Scalar)));
            Assert.Contains("does not produce the depthwise input", e.Message);
        }
    }
}
