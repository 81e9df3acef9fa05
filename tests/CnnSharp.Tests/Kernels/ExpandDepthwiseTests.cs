using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The banded expansion + depthwise kernel against the two kernels it fuses (<see cref="PointwiseConv"/>, then
/// <see cref="GroupedConv2d"/>'s dedicated depthwise 3×3), bit for bit, at every SIMD level: stride 1 and 2, odd and
/// tiny planes, channel counts off the register tiles, several KC slices, bands of 1 row to the whole image, batches
/// of one and more images on 1 to 3 threads, with and without the bias and clamp epilogues, with and without the
/// projection 1x1 conv (and its residual) in the bands, and the block without expansion (depthwise + projection).
/// </summary>
public sealed class ExpandDepthwiseTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    // (N, C, E, H, W, stride)
    private static readonly (int N, int C, int E, int H, int W, int S)[] Shapes =
    [
        (1, 4, 8, 9, 9, 1), (2, 3, 13, 10, 7, 2), (1, 5, 6, 11, 20, 2), (1, 16, 24, 16, 16, 1), (1, 3, 5, 1, 1, 1),
        (1, 3, 5, 2, 3, 2), (2, 7, 17, 12, 5, 1), (1, 200, 9, 5, 6, 1), (1, 5, 6, 10, 20, 2),
        // A 7x7 map (49 = 32 + 17 pixels: the V512 1x1 convs' 17-column edge read in place at an 80-float pitch) whose
        // projection reads 200 channels (two KC slices at V512).
        (1, 6, 200, 7, 7, 1),
    ];

    private static (Conv2dGeometry Pw, Conv2dGeometry Dw) Geometry((int N, int C, int E, int H, int W, int S) s) =>
        (Conv2dGeometry.Create([s.N, s.C, s.H, s.W], [s.E, s.C, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pointwise"),
         Conv2dGeometry.Create([s.N, s.E, s.H, s.W], [s.E, 1, 3, 3], (s.S, s.S), (1, 1, 1, 1), (1, 1), s.E, "depthwise"));

    private sealed record Operands(float[] X, PackedConvWeights Pw, float[]? PwBias, float[] Dw, float[]? DwBias,
        PackedConvWeights Proj, float[]? ProjBias, float[] Residual);

    /// <summary>Projection output channels: not a multiple of any register tile.</summary>
    private const int K2 = 11;

    private static Operands Make((int N, int C, int E, int H, int W, int S) s, IsaLevel level, bool bias)
    {
        int seed = s.N * 1000 + s.C * 100 + s.E * 10 + s.H + s.W + s.S;
        var w = GradCheck.RandomValues(s.E * s.C, seed + 1);
        var gd = Geometry(s).Dw;
        return new Operands(GradCheck.RandomValues(s.N * s.C * s.H * s.W, seed), new PackedConvWeights(w, s.E, s.C, 1, 1, 1, level),
            bias ? GradCheck.RandomValues(s.E, seed + 2) : null, GradCheck.RandomValues(s.E * 9, seed + 3), bias ? GradCheck.RandomValues(s.E, seed + 4) : null,
            new PackedConvWeights(GradCheck.RandomValues(K2 * s.E, seed + 5), K2, s.E, 1, 1, 1, level), bias ? GradCheck.RandomValues(K2, seed + 6) : null,
            GradCheck.RandomValues(s.N * K2 * gd.OutH * gd.OutW, seed + 7));
    }

    private static Conv2dGeometry ProjectionGeometry((int N, int C, int E, int H, int W, int S) s)
    {
        var gd = Geometry(s).Dw;
        return Conv2dGeometry.Create([s.N, s.E, gd.OutH, gd.OutW], [K2, s.E, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "projection");
    }

    /// <summary>The unfused reference: the 1x1 conv into a full expansion, then the depthwise conv.</summary>
    private static float[] Unfused(Operands o, (int N, int C, int E, int H, int W, int S) s, IsaLevel level, bool relu6)
    {
        var (gp, gd) = Geometry(s);
        var e = new float[s.N * s.E * s.H * s.W];
        PointwiseConv.Forward(o.X, o.Pw, o.PwBias, default, e, gp, relu6, relu6 ? 6f : float.PositiveInfinity, 1, long.MaxValue);
        var y = new float[s.N * s.E * gd.OutH * gd.OutW];
        GroupedConv2d.Forward(e, o.Dw, o.DwBias, default, y, gd, relu6 ? 0f : float.NegativeInfinity, relu6 ? 6f : float.PositiveInfinity,
            level, 1, long.MaxValue);
        return y;
    }

    /// <summary>The unfused block: <see cref="Unfused"/>, then the projection with its residual (and ReLU when relu6).</summary>
    private static float[] UnfusedBlock(Operands o, (int N, int C, int E, int H, int W, int S) s, IsaLevel level, bool relu6)
    {
        var y = Unfused(o, s, level, relu6);
        var gj = ProjectionGeometry(s);
        var z = new float[s.N * K2 * gj.H * gj.W];
        PointwiseConv.Forward(y, o.Proj, o.ProjBias, relu6 ? o.Residual : default, z, gj, relu6, float.PositiveInfinity, 1, long.MaxValue);
        return z;
    }

    /// <summary>A block without expansion: the depthwise conv on x's first E channels' worth of values, then the projection.</summary>
    private static float[] UnfusedLone(Operands o, (int N, int C, int E, int H, int W, int S) s, IsaLevel level)
    {
        var gd = Geometry(s).Dw;
        var gj = ProjectionGeometry(s);
        var y = new float[s.N * s.E * gd.OutH * gd.OutW];
        GroupedConv2d.Forward(LoneInput(o, s), o.Dw, o.DwBias, default, y, gd, 0f, 6f, level, 1, long.MaxValue);
        var z = new float[s.N * K2 * gj.H * gj.W];
        PointwiseConv.Forward(y, o.Proj, o.ProjBias, o.Residual, z, gj, false, float.PositiveInfinity, 1, long.MaxValue);
        return z;
    }

    private static float[] LoneInput(Operands o, (int N, int C, int E, int H, int W, int S) s) =>
        GradCheck.RandomValues(s.N * s.E * s.H * s.W, o.X.Length + 99);

    private static unsafe float[] FusedLone(Operands o, (int N, int C, int E, int H, int W, int S) s, IsaLevel level, int threads, int bandRows)
    {
        var gd = Geometry(s).Dw;
        var gj = ProjectionGeometry(s);
        var x = LoneInput(o, s);
        var z = new float[s.N * K2 * gj.H * gj.W];
        Array.Fill(z, float.NaN);
        fixed (float* px = x, pd = o.Dw, pdb = o.DwBias, pjb = o.ProjBias, pr = o.Residual, pz = z)
            ExpandDepthwise.Forward(px, null, null, false, float.PositiveInfinity, pd, pdb, 0f, 6f, null, default, gd, level, threads, bandRows,
                new ExpandDepthwise.Projection(o.Proj, pjb, pr, pz, gj, false, float.PositiveInfinity));
        return z;
    }

    private static unsafe float[] FusedBlock(Operands o, (int N, int C, int E, int H, int W, int S) s, IsaLevel level, bool relu6, int threads, int bandRows,
        int partsPerImage = 0)
    {
        var (gp, gd) = Geometry(s);
        var gj = ProjectionGeometry(s);
        var z = new float[s.N * K2 * gj.H * gj.W];
        Array.Fill(z, float.NaN); // the output must be fully overwritten
        fixed (float* px = o.X, pb = o.PwBias, pd = o.Dw, pdb = o.DwBias, pjb = o.ProjBias, pr = o.Residual, pz = z)
            ExpandDepthwise.Forward(px, o.Pw, pb, relu6, relu6 ? 6f : float.PositiveInfinity, pd, pdb, relu6 ? 0f : float.NegativeInfinity,
                relu6 ? 6f : float.PositiveInfinity, null, gp, gd, level, threads, bandRows,
                new ExpandDepthwise.Projection(o.Proj, pjb, relu6 ? pr : null, pz, gj, relu6, float.PositiveInfinity), partsPerImage);
        return z;
    }

    private static unsafe float[] Fused(Operands o, (int N, int C, int E, int H, int W, int S) s, IsaLevel level, bool relu6, int threads, int bandRows)
    {
        var (gp, gd) = Geometry(s);
        var y = new float[s.N * s.E * gd.OutH * gd.OutW];
        Array.Fill(y, float.NaN); // the output must be fully overwritten
        fixed (float* px = o.X, pb = o.PwBias, pd = o.Dw, pdb = o.DwBias, py = y)
            ExpandDepthwise.Forward(px, o.Pw, pb, relu6, relu6 ? 6f : float.PositiveInfinity, pd, pdb, relu6 ? 0f : float.NegativeInfinity,
                relu6 ? 6f : float.PositiveInfinity, py, gp, gd, level, threads, bandRows);
        return y;
    }

    [Theory, MemberData(nameof(Levels))]
    public void Matches_the_unfused_convs_bit_for_bit_for_every_band_height_and_thread_count(int level)
    {
        var isa = (IsaLevel)level;
        foreach (var s in Shapes)
            foreach (bool epilogue in new[] { false, true })
            {
                var o = Make(s, isa, bias: epilogue);
                var expected = Unfused(o, s, isa, epilogue);
                int outH = Geometry(s).Dw.OutH;
                var expectedBlock = UnfusedBlock(o, s, isa, epilogue);
                var expectedLone = UnfusedLone(o, s, isa);
                foreach (int band in new[] { 0, 1, 2, 3, outH })
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        Assert.Equal(expected, Fused(o, s, isa, epilogue, threads, band));
                        Assert.Equal(expectedBlock, FusedBlock(o, s, isa, epilogue, threads, band));
                        Assert.Equal(expectedLone, FusedLone(o, s, isa, threads, band));
                    }
            }
    }

    /// <summary>
    /// Equal parts per image (<c>partsPerImage</c>, the op's split for a few images of a small map): every part count,
    /// band height and thread count gives the unfused convs' bits, on every SIMD path, including more parts than rows.
    /// </summary>
    [Theory, MemberData(nameof(Levels))]
    public void Equal_parts_per_image_match_the_unfused_convs_bit_for_bit(int level)
    {
        var isa = (IsaLevel)level;
        foreach (var s in Shapes)
        {
            var o = Make(s, isa, bias: true);
            var expected = UnfusedBlock(o, s, isa, true);
            int outH = Geometry(s).Dw.OutH;
            foreach (int parts in new[] { 1, 2, 3, outH + 1 })
                foreach (int band in new[] { 0, 1, 2 })
                    foreach (int threads in new[] { 1, 2, 3 })
                        Assert.Equal(expected, FusedBlock(o, s, isa, true, threads, band, parts));
        }
    }

    /// <summary>
    /// The block split over channels (<see cref="ExpandDepthwise.ForwardByChannels"/>: expansion + depthwise per part of
    /// the E channels, then the projection per part of its output channels): every part count (including more parts
    /// than MR panels, which leaves parts empty) and thread count gives the unfused convs' bits, on every SIMD path, with
    /// and without bias, residual and clamps; the outputs start as NaN, so a value it failed to write shows.
    /// </summary>
    [Theory, MemberData(nameof(Levels))]
    public unsafe void Channel_split_block_matches_the_unfused_convs_bit_for_bit(int level)
    {
        var isa = (IsaLevel)level;
        foreach (var s in Shapes)
            foreach (bool relu6 in new[] { false, true })
            {
                var o = Make(s, isa, bias: relu6);
                var expected = UnfusedBlock(o, s, isa, relu6);
                var (gp, gd) = Geometry(s);
                var gj = ProjectionGeometry(s);
                foreach (int parts in new[] { 1, 2, 3, 5 })
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        var y = new float[ExpandDepthwise.ChannelSplitFloats(gd)];
                        var z = new float[s.N * K2 * gj.H * gj.W];
                        Array.Fill(y, float.NaN);
                        Array.Fill(z, float.NaN);
                        fixed (float* px = o.X, pb = o.PwBias, pd = o.Dw, pdb = o.DwBias, py = y, pjb = o.ProjBias, pr = o.Residual, pz = z)
                            ExpandDepthwise.ForwardByChannels(px, o.Pw, pb, relu6, relu6 ? 6f : float.PositiveInfinity, pd, pdb,
                                relu6 ? 0f : float.NegativeInfinity, relu6 ? 6f : float.PositiveInfinity, py, gp, gd, isa, threads, parts,
                                new ExpandDepthwise.Projection(o.Proj, pjb, relu6 ? pr : null, pz, gj, relu6, float.PositiveInfinity));
                        Assert.Equal(expected, z);
                        // The depthwise output, plane by plane at the buffer's pitch.
                        int plane = gd.OutH * gd.OutW, pitch = (int)PointwiseConv.AlignedPitch(plane);
                        var planes = Enumerable.Range(0, s.N * s.E).SelectMany(i => y.Skip(i * pitch).Take(plane)).ToArray();
                        Assert.Equal(Unfused(o, s, isa, relu6), planes);
                    }
            }
    }

    [Fact]
    public void Band_height_keeps_the_expansion_rows_within_the_buffer_target()
    {
        // MobileNet-v2's first expansion: 96 channels of 112-wide rows, stride 2; the 56x56 one: 144 channels, stride 1.
        var (_, dw112) = Geometry((1, 16, 96, 112, 112, 2));
        var (_, dw56) = Geometry((1, 24, 144, 56, 56, 1));
        Assert.True((2 * ExpandDepthwise.BandRows(dw112) + 1) * 96 * 112 <= ExpandDepthwise.BufferFloats);
        Assert.True((ExpandDepthwise.BandRows(dw56) + 2) * 144 * 56 <= ExpandDepthwise.BufferFloats);
        Assert.True(ExpandDepthwise.BandRows(dw112) >= 2 && ExpandDepthwise.BandRows(dw56) >= 4);
        // With the projection the band's depthwise output (band rows at OutW per channel) shares the target.
        int b56 = ExpandDepthwise.BandRows(dw56, projection: true);
        Assert.True((b56 + 2) * 144 * 56 + b56 * 144 * 56 <= ExpandDepthwise.BufferFloats && b56 >= 2 && b56 < ExpandDepthwise.BandRows(dw56));
        var (_, wide) = Geometry((1, 3, 4096, 64, 64, 1)); // one row exceeds the target: still one row per band
        Assert.Equal(1, ExpandDepthwise.BandRows(wide));
    }

    [Fact]
    public unsafe void Rejects_pairs_it_does_not_compute()
    {
        var s = (1, 4, 8, 9, 9, 1);
        var (gp, _) = Geometry(s);
        var wrong = Conv2dGeometry.Create([1, 8, 9, 9], [8, 1, 3, 3], (1, 1), (0, 0, 0, 0), (1, 1), 8, "no padding");
        var o = Make(s, Isa.Level, bias: false);
        var y = new float[8 * 9 * 9];
        var e = Assert.Throws<ArgumentException>(() =>
        {
            fixed (float* px = o.X, pd = o.Dw, py = y)
                ExpandDepthwise.Forward(px, o.Pw, null, false, float.PositiveInfinity, pd, null, float.NegativeInfinity, float.PositiveInfinity,
                    py, gp, wrong, Isa.Level, 1);
        });
        Assert.Contains("depthwise 3x3", e.Message, StringComparison.Ordinal);
    }
}
