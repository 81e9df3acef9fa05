using CnnSharp.Kernels;
using CnnSharp.Tests.Compile;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// <see cref="ExpandDepthwise.InPlaceRows"/> (the expansion rows computed straight into the depthwise taps' layout; at
/// stride 2 the input channels split by phase before the 1x1 conv) and <see cref="DepthwiseConv3x3.RowTaps"/> (those taps
/// from per-row pointers, V512 clamps as vmaxps / vminps): bit for bit the unfused 1x1 conv then depthwise conv (and
/// projection), and the banded path with both off, at every SIMD level: stride 1 and stride 2 with even maps (the in-place
/// layout) and odd ones (the copying path), rows narrower and wider than a vector, several KC slices, bands of 1 row to the
/// whole map, the default and equal-part splits, 1 to 3 threads; NaN inputs and clamps that bite.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ExpandDepthwiseInPlaceTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    // (N, C, E, H, W, stride): even stride-2 maps of 2 to 40 columns, stride-1 maps (11, 1, 16 and 32 wide: rows of whole
    // vectors too), odd ones, C over one KC slice (200).
    private static readonly (int N, int C, int E, int H, int W, int S)[] Shapes =
    [
        (1, 16, 24, 12, 34, 2), (2, 5, 19, 10, 12, 2), (1, 3, 5, 2, 2, 2), (1, 200, 9, 6, 4, 2), (1, 7, 13, 8, 40, 2),
        (2, 6, 17, 9, 11, 1), (1, 3, 8, 1, 1, 1), (1, 5, 11, 11, 8, 2), (1, 4, 9, 9, 7, 2), (1, 6, 10, 7, 32, 1), (2, 4, 9, 6, 16, 1),
    ];

    /// <summary>Projection output channels: not a multiple of any register tile.</summary>
    private const int K2 = 7;

    private static (Conv2dGeometry Pw, Conv2dGeometry Dw, Conv2dGeometry Proj) Geometry((int N, int C, int E, int H, int W, int S) s)
    {
        var gp = Conv2dGeometry.Create([s.N, s.C, s.H, s.W], [s.E, s.C, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pointwise");
        var gd = Conv2dGeometry.Create([s.N, s.E, s.H, s.W], [s.E, 1, 3, 3], (s.S, s.S), (1, 1, 1, 1), (1, 1), s.E, "depthwise");
        var gj = Conv2dGeometry.Create([s.N, s.E, gd.OutH, gd.OutW], [K2, s.E, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "projection");
        return (gp, gd, gj);
    }

    private sealed record Operands(float[] X, PackedConvWeights Pw, float[] PwBias, float[] Dw, float[] DwBias, PackedConvWeights Proj,
        float[] ProjBias, float[] Residual);

    private static Operands Make((int N, int C, int E, int H, int W, int S) s, IsaLevel level)
    {
        int seed = s.N * 1000 + s.C * 100 + s.E * 10 + s.H + s.W + s.S;
        var (_, gd, _) = Geometry(s);
        // Values up to ±3 so that ReLU6 and the depthwise clamp at 1 both bite; one NaN pixel passes through every clamp.
        var x = GradCheck.RandomValues(s.N * s.C * s.H * s.W, seed, -3f, 3f);
        x[x.Length / 2] = float.NaN;
        return new Operands(x, new PackedConvWeights(GradCheck.RandomValues(s.E * s.C, seed + 1), s.E, s.C, 1, 1, 1, level),
            GradCheck.RandomValues(s.E, seed + 2), GradCheck.RandomValues(s.E * 9, seed + 3), GradCheck.RandomValues(s.E, seed + 4),
            new PackedConvWeights(GradCheck.RandomValues(K2 * s.E, seed + 5), K2, s.E, 1, 1, 1, level), GradCheck.RandomValues(K2, seed + 6),
            GradCheck.RandomValues(s.N * K2 * gd.OutH * gd.OutW, seed + 7));
    }

    /// <summary>The unfused convs: the expansion whole (ReLU6), the depthwise conv (clamped to [0, 1]), the projection + residual.</summary>
    private static (float[] Y, float[] Z) Unfused(Operands o, (int N, int C, int E, int H, int W, int S) s, IsaLevel level)
    {
        var (gp, gd, gj) = Geometry(s);
        var e = new float[s.N * s.E * s.H * s.W];
        PointwiseConv.Forward(o.X, o.Pw, o.PwBias, default, e, gp, true, 6f, 1, long.MaxValue);
        var y = new float[s.N * s.E * gd.OutH * gd.OutW];
        GroupedConv2d.Forward(e, o.Dw, o.DwBias, default, y, gd, 0f, 1f, level, 1, long.MaxValue);
        var z = new float[s.N * K2 * gj.H * gj.W];
        PointwiseConv.Forward(y, o.Proj, o.ProjBias, o.Residual, z, gj, false, float.PositiveInfinity, 1, long.MaxValue);
        return (y, z);
    }

    /// <summary>The banded op with the two switches set: the depthwise output alone, and the whole block.</summary>
    private static unsafe (float[] Y, float[] Z) Banded(Operands o, (int N, int C, int E, int H, int W, int S) s, IsaLevel level, bool inPlace,
        bool rowTaps, int threads, int bandRows, int parts)
    {
        var (gp, gd, gj) = Geometry(s);
        var y = new float[s.N * s.E * gd.OutH * gd.OutW];
        var z = new float[s.N * K2 * gj.H * gj.W];
        Array.Fill(y, float.NaN); // both outputs must be fully overwritten
        Array.Fill(z, float.NaN);
        bool savedInPlace = ExpandDepthwise.InPlaceRows, savedRowTaps = DepthwiseConv3x3.RowTaps;
        try
        {
            ExpandDepthwise.InPlaceRows = inPlace;
            DepthwiseConv3x3.RowTaps = rowTaps;
            fixed (float* px = o.X, pb = o.PwBias, pd = o.Dw, pdb = o.DwBias, py = y, pjb = o.ProjBias, pr = o.Residual, pz = z)
            {
                ExpandDepthwise.Forward(px, o.Pw, pb, true, 6f, pd, pdb, 0f, 1f, py, gp, gd, level, threads, bandRows, partsPerImage: parts);
                ExpandDepthwise.Forward(px, o.Pw, pb, true, 6f, pd, pdb, 0f, 1f, null, gp, gd, level, threads, bandRows,
                    new ExpandDepthwise.Projection(o.Proj, pjb, pr, pz, gj, false, float.PositiveInfinity), parts);
            }
        }
        finally
        {
            ExpandDepthwise.InPlaceRows = savedInPlace;
            DepthwiseConv3x3.RowTaps = savedRowTaps;
        }
        return (y, z);
    }

    [Theory, MemberData(nameof(Levels))]
    public void In_place_rows_give_the_unfused_convs_bits_for_every_band_split_and_thread_count(int level)
    {
        var isa = (IsaLevel)level;
        foreach (var s in Shapes)
        {
            var o = Make(s, isa);
            var (y, z) = Unfused(o, s, isa);
            int outH = Geometry(s).Dw.OutH;
            foreach (int band in new[] { 0, 1, 2, 3, outH })
                foreach (int parts in new[] { 0, 2, 3 })
                    foreach (int threads in new[] { 1, 2, 3 })
                        foreach (bool rowTaps in new[] { false, true })
                        {
                            var (by, bz) = Banded(o, s, isa, inPlace: true, rowTaps, threads, band, parts);
                            Assert.Equal(y, by);
                            Assert.Equal(z, bz);
                        }
        }
    }

    [Theory, MemberData(nameof(Levels))]
    public void In_place_rows_give_the_copying_paths_bits(int level)
    {
        var isa = (IsaLevel)level;
        foreach (var s in Shapes)
        {
            var o = Make(s, isa);
            foreach (int band in new[] { 0, 1, 4 })
            {
                var copying = Banded(o, s, isa, inPlace: false, rowTaps: false, 1, band, 0);
                var inPlace = Banded(o, s, isa, inPlace: true, rowTaps: true, 2, band, 0);
                Assert.Equal(copying.Y, inPlace.Y);
                Assert.Equal(copying.Z, inPlace.Z);
            }
        }
    }

    [Fact]
    public void Phase_offsets_place_every_padded_row_once_in_the_input_rows_count_of_floats()
    {
        // rows output rows at stride 2 read 2·rows + 1 padded rows of W = 2·ow floats: each half-row lands on its own run.
        foreach (var (rows, ow) in new[] { (1, 1), (3, 7), (4, 56) })
        {
            var seen = new bool[(2 * rows + 1) * 2 * ow];
            for (int pr = 0; pr <= 2 * rows; pr++)
                foreach (bool odd in new[] { false, true })
                {
                    nint at = DepthwiseConv3x3.PhaseOffset(pr, odd, rows, ow);
                    for (int j = 0; j < ow; j++)
                    {
                        Assert.False(seen[at + j]);
                        seen[at + j] = true;
                    }
                }
            Assert.All(seen, Assert.True);
        }
        Assert.True(DepthwiseConv3x3.PreparedApplies(Geometry((1, 1, 4, 8, 6, 2)).Dw));
        Assert.False(DepthwiseConv3x3.PreparedApplies(Geometry((1, 1, 4, 8, 7, 2)).Dw));
        Assert.False(DepthwiseConv3x3.PreparedApplies(Geometry((1, 1, 4, 7, 8, 2)).Dw));
        Assert.True(DepthwiseConv3x3.PreparedApplies(Geometry((1, 1, 4, 7, 7, 1)).Dw));
    }
}
