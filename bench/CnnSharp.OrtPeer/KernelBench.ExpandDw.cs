using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using CnnSharp.Kernels;

namespace CnnSharp.OrtPeer;

// --expand-dw: where the time of MobileNet-v2's early banded blocks goes, one thread.
internal static unsafe partial class KernelBench
{
    /// <summary>
    /// MobileNet-v2's early blocks (stem + features.1, features.2-4) at batch 1 on one thread: the whole banded op
    /// (<see cref="ExpandDepthwise.Forward"/>) and its pieces timed inside the same band loop (expansion or stem rows,
    /// halo move, depthwise rows, projection), thread CPU, best of <paramref name="rounds"/>, against a Vector512 FMA peak.
    /// </summary>
    public static void ExpandDw(int rounds)
    {
        Parallelism.MaxThreads = 1;
        var level = Isa.Level;
        double peak256 = FmaPeak(5), peak512 = FmaPeak512(5);
        Console.WriteLine($"Early MobileNet-v2 blocks, 1 thread, SIMD {level}, best of {rounds} (thread CPU); FMA peak Vector256 {peak256:F1}, Vector512 {peak512:F1} GFLOP/s");
        Console.WriteLine("| block | piece | ms | MFLOP | GFLOP/s | % of 512 peak |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        // (name, stem, C in, E, H (dw input), stride, K out, residual)
        (string Name, bool Stem, int C, int E, int H, int S, int K, bool Res)[] blocks =
        [
            ("stem+f1", true, 3, 32, 112, 1, 16, false),
            ("f2", false, 16, 96, 112, 2, 24, false),
            ("f3", false, 24, 144, 56, 1, 24, true),
            ("f4", false, 24, 144, 56, 2, 32, false),
        ];
        foreach (var b in blocks) ExpandDwBlock(b.Name, b.Stem, b.C, b.E, b.H, b.S, b.K, b.Res, rounds, level, peak512);
    }

    private static void ExpandDwBlock(string name, bool stem, int c, int e, int h, int s, int k, bool res, int rounds, IsaLevel level, double peak)
    {
        var gs = Conv2dGeometry.Create([1, 3, 2 * h, 2 * h], [e, 3, 3, 3], (2, 2), (1, 1, 1, 1), (1, 1), 1, "stem");
        var gp = Conv2dGeometry.Create([1, c, h, h], [e, c, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pw");
        var gd = Conv2dGeometry.Create([1, e, h, h], [e, 1, 3, 3], (s, s), (1, 1, 1, 1), (1, 1), e, "dw");
        var gj = Conv2dGeometry.Create([1, e, gd.OutH, gd.OutW], [k, e, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pj");
        int inFloats = stem ? 3 * 4 * h * h : c * h * h;
        var x = Pinned(Random(inFloats, 1));
        var pw = stem ? null : new PackedConvWeights(Random(e * c, 2), e, c, 1, 1, 1, level);
        var stemW = Random(e * 27, 2);
        var stemPacked = Pinned(new float[e * 27]);
        StemConv3x3S2.Pack(stemW, gs, level, stemPacked);
        var pwb = Pinned(Random(e, 3));
        var dw = Pinned(Random(e * 9, 4));
        var dwb = Pinned(Random(e, 5));
        var pj = new PackedConvWeights(Random(k * e, 6), k, e, 1, 1, 1, level);
        var pjb = Pinned(Random(k, 7));
        int outPlane = gd.OutH * gd.OutW;
        var r = Pinned(Random(k * outPlane, 8));
        var z = Pinned(new float[k * outPlane]);
        int bandRows = ExpandDepthwise.BandRows(gd, projection: true, expansion: true);
        int w = gd.W, maxRows = s == 1 ? bandRows + 2 : 2 * bandRows + 1;
        nint plane = ((nint)maxRows * w + 15) & ~(nint)15, bandPlane = ((nint)bandRows * gd.OutW + 15) & ~(nint)15;
        var bufArr = Pinned(new float[plane * e + 512]);
        var bandArr = Pinned(new float[bandPlane * e + 16]);
        fixed (float* px = x, psp = stemPacked, ppwb = pwb, pdw = dw, pdwb = dwb, ppjb = pjb, pr = r, pz = z, pbuf0 = bufArr, pband0 = bandArr)
        {
            float* buffer = Align64(pbuf0 + 16), band0 = Align64(pband0), rr = res ? pr : null;
            float* px2 = px, psp2 = psp, ppwb2 = ppwb, pdw2 = pdw, pdwb2 = pdwb, ppjb2 = ppjb, pz2 = pz;
            var projection = new ExpandDepthwise.Projection(pj, ppjb, rr, pz, gj, false, float.PositiveInfinity);
            var stemArg = stem ? new ExpandDepthwise.Stem(psp, ppwb, gs, 0f, 6f, level) : default;
            void Whole(int parts) => ExpandDepthwise.Forward(px2, pw, stem ? null : ppwb2, true, 6f, pdw2, pdwb2, 0f, 6f, null, gp, gd, level, 1,
                projection: projection, partsPerImage: parts, stem: stemArg);
            ExpandDepthwise.InPlaceRows = false;
            double whole = Best(rounds, () => Whole(0));
            double whole2 = Best(rounds, () => Whole(2));
            ExpandDepthwise.InPlaceRows = true;
            double inPlace = Best(rounds, () => Whole(0));
            double expandFlops = stem ? 2.0 * 27 * e * h * h : 2.0 * c * e * h * h;
            double flops = expandFlops + 2.0 * 9 * e * outPlane + 2.0 * e * k * outPlane;
            PieceRow(name, $"whole op (band {bandRows} rows, 1 unit)", whole, flops, peak);
            PieceRow(name, "whole op (2 equal parts)", whole2, flops, peak);
            PieceRow(name, "whole op, in-place rows (1 unit)", inPlace, flops, peak);
            // The pieces in the op's band loop with InPlaceRows off (one unit per image), each timed separately.
            var t = new double[7];
            var best = Enumerable.Repeat(double.MaxValue, 7).ToArray();
            void Pieces()
            {
                Array.Clear(t);
                int have0 = 0, have1 = 0;
                nint inPlane = (nint)h * w;
                for (int o0 = 0; o0 < gd.OutH; o0 += bandRows)
                {
                    int o1 = Math.Min(o0 + bandRows, gd.OutH);
                    int r0 = Math.Max(o0 * s - 1, 0), r1 = Math.Min((o1 - 1) * s + 2, gd.H);
                    int keep = have1 > r0 && have0 <= r0 ? have1 - r0 : 0;
                    double t0 = ThreadCpuSeconds();
                    if (keep > 0 && r0 > have0)
                        for (int ch = 0; ch < e; ch++)
                        {
                            float* p = buffer + ch * plane;
                            new ReadOnlySpan<float>(p + (nint)(r0 - have0) * w, keep * w).CopyTo(new Span<float>(p, keep * w));
                        }
                    double t1 = ThreadCpuSeconds();
                    int from = r0 + keep;
                    if (stem) StemConv3x3S2.ForwardRows(px2, psp2, ppwb2, gs, 0f, 6f, level, from, r1, buffer + (nint)keep * w, plane);
                    else PointwiseConv.Block(pw!, px2 + (nint)from * w, inPlane, buffer + (nint)keep * w, plane, null, ppwb2, 0, (r1 - from) * w, 0, e, true, 6f);
                    (have0, have1) = (r0, r1);
                    double t2 = ThreadCpuSeconds();
                    nint at = (nint)o0 * gd.OutW;
                    DepthwiseConv3x3.ForwardRows(buffer - (nint)have0 * w, plane, pdw2, pdwb2, band0 - at, bandPlane, gd, o0, o1, 0f, 6f, level);
                    double t3 = ThreadCpuSeconds();
                    PointwiseConv.Block(pj, band0, bandPlane, pz2 + at, outPlane, rr is null ? null : rr + at, ppjb2, 0, (o1 - o0) * gd.OutW, 0, k, false, float.PositiveInfinity);
                    double t4 = ThreadCpuSeconds();
                    // The in-place path's taps alone (over this layout: the same work, other values).
                    DepthwiseConv3x3.RowTaps = false;
                    DepthwiseConv3x3.ForwardPrepared(buffer, plane, pdw2, pdwb2, band0 - at, bandPlane, gd, o0, o1, 0f, 6f, level, true);
                    double t5 = ThreadCpuSeconds();
                    DepthwiseConv3x3.RowTaps = true;
                    DepthwiseConv3x3.ForwardPrepared(buffer, plane, pdw2, pdwb2, band0 - at, bandPlane, gd, o0, o1, 0f, 6f, level, true);
                    double t6 = ThreadCpuSeconds();
                    // Every channel reading channel 0's band (in L1): the taps' own speed.
                    DepthwiseConv3x3.ForwardPrepared(buffer, 0, pdw2, pdwb2, band0 - at, bandPlane, gd, o0, o1, 0f, 6f, level, true);
                    t[4] += t5 - t4;
                    t[5] += t6 - t5;
                    t[6] += ThreadCpuSeconds() - t6;
                    t[0] += t1 - t0;
                    t[1] += t2 - t1;
                    t[2] += t3 - t2;
                    t[3] += t4 - t3;
                }
            }
            // The expansion of one band's rows repeated as many times as there are bands (input and output hot in L1/L2).
            if (!stem)
            {
                int rowsPer = Math.Min(gd.H, s * bandRows), bands = (gd.OutH + bandRows - 1) / bandRows;
                double hot = Best(rounds, () =>
                {
                    for (int i = 0; i < bands; i++)
                        PointwiseConv.Block(pw!, px2, (nint)h * w, buffer, plane, null, ppwb2, 0, rowsPer * w, 0, e, true, 6f);
                });
                PieceRow(name, "  expansion rows, one band's repeated (hot)", hot, 2.0 * c * e * rowsPer * w * bands, peak);
            }
            for (int i = 0; i < 20; i++) Pieces();
            for (int rep = 0; rep < rounds * 20; rep++)
            {
                Pieces();
                for (int i = 0; i < 7; i++) best[i] = Math.Min(best[i], t[i]);
            }
            PieceRow(name, "  halo move", best[0], 0, peak);
            PieceRow(name, stem ? "  stem rows" : "  expansion rows", best[1], expandFlops, peak);
            PieceRow(name, "  depthwise rows", best[2], 2.0 * 9 * e * outPlane, peak);
            PieceRow(name, "  projection", best[3], 2.0 * e * k * outPlane, peak);
            PieceRow(name, "  sum of pieces", best[..4].Sum(), flops, peak);
            PieceRow(name, "  depthwise taps alone (ForwardPrepared)", best[4], 2.0 * 9 * e * outPlane, peak);
            PieceRow(name, "  the same by row pointers (RowTaps)", best[5], 2.0 * 9 * e * outPlane, peak);
            PieceRow(name, "  the same, input in L1 (one channel's band)", best[6], 2.0 * 9 * e * outPlane, peak);
        }
    }

    private static float[] Pinned(float[] source)
    {
        var a = GC.AllocateUninitializedArray<float>(source.Length, pinned: true);
        source.CopyTo(a, 0);
        return a;
    }

    private static float* Align64(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    private static void PieceRow(string block, string piece, double seconds, double flops, double peak)
    {
        double gflops = flops / seconds / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {block} | {piece} | {seconds * 1000:F4} | {flops / 1e6:F1} | {(flops > 0 ? gflops.ToString("F1", CultureInfo.InvariantCulture) : "-")} | {(flops > 0 ? (100 * gflops / peak).ToString("F0", CultureInfo.InvariantCulture) + "%" : "-")} |"));
    }
}
