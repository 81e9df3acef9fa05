using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using CnnSharp.Kernels;

namespace CnnSharp.OrtPeer;

internal static unsafe partial class KernelBench
{
    /// <summary>
    /// MobileNet-v2's 7x7 tail at batch 1, phase by phase (<c>--tail</c>): for each block shape (features.15-16, 17 and
    /// the 14x14 → 7x7 features.14), one thread's half of
    /// <see cref="ExpandDepthwise.ForwardByChannels"/> at 2 threads (the input copy to an aligned pitch, the expansion
    /// of half the E channels, their depthwise conv, half the projection's output channels) and half of the head's
    /// <see cref="PointwiseConvPool"/>, in thread CPU time next to a Vector512 FMA peak; then the whole op at 1 and 2
    /// threads in wall time (the difference is the fork-joins and the imbalance). Weights in 8 copies used in turn, so
    /// that, as in the model, they come from L3.
    /// </summary>
    public static void Tail(int rounds)
    {
        const int Copies = 8;
        var level = Isa.Level;
        double peak = FmaPeak512(5);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MobileNet-v2 7x7 tail, batch 1, SIMD {level}, best of {rounds} interleaved rounds; FMA peak (Vector512, 1 thread) {peak:F1} GFLOP/s"));
        Console.WriteLine("| phase | ms | GFLOP/s | % peak |");
        Console.WriteLine("|---|---:|---:|---:|");
        var rows = new List<(string Name, Action Run, double Flops, bool Wall)>();
        int turn = 0;
        foreach (var (c, e, k) in new[] { (160, 960, 160), (160, 960, 320) })
        {
            var gp = Conv2dGeometry.Create([1, c, 7, 7], [e, c, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pw");
            var gd = Conv2dGeometry.Create([1, e, 7, 7], [e, 1, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), e, "dw");
            var gj = Conv2dGeometry.Create([1, e, 7, 7], [k, e, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pj");
            var pws = Enumerable.Range(0, Copies).Select(i => new PackedConvWeights(Random(e * c, 40 + i), e, c, 1, 1, 1, level)).ToArray();
            var pjs = Enumerable.Range(0, Copies).Select(i => new PackedConvWeights(Random(k * e, 50 + i), k, e, 1, 1, 1, level)).ToArray();
            float* x = Pinned(c * 49, 1), pb = Pinned(e, 2), dw = Pinned(e * 9, 3), db = Pinned(e, 4), jb = Pinned(k, 5), res = Pinned(k * 49, 6);
            float* xs = Pinned(c * 96, 7), ex = Pinned(e * 96, 8), y = Pinned(e * 96, 9), z = Pinned(k * 49, 10);
            var (m0, m1) = PointwiseConv.PanelRows(level, e, 0, 2);
            var (j0, j1) = PointwiseConv.PanelRows(level, k, 0, 2);
            var half = gd with { C = m1 - m0, K = m1 - m0, Groups = m1 - m0 };
            string s = $"{c}>{e}>{k}";
            rows.Add(($"{s} copy x to pitch 64", () => PointwiseConv.CopyToPitch(x, c, 49, xs, 64), 0, false));
            rows.Add(($"{s} expand rows [{m0},{m1})", () => PointwiseConv.Block(pws[turn++ % Copies], xs, 64, ex, 64, null, pb, 0, 49, m0, m1, true, 6f),
                2.0 * (m1 - m0) * c * 49, false));
            rows.Add(($"{s} depthwise [{m0},{m1})", () => DepthwiseConv3x3.ForwardRows(ex, 64, dw, db, y, 64, half, 0, 7, 0f, 6f, level),
                2.0 * (m1 - m0) * 9 * 49, false));
            rows.Add(($"{s} project rows [{j0},{j1})", () => PointwiseConv.Block(pjs[turn++ % Copies], y, 64, z, 49, k == c ? res : null, jb, 0, 49, j0, j1, false, float.PositiveInfinity),
                2.0 * (j1 - j0) * e * 49, false));
            foreach (int pitch in new[] { 80, 72 })
            {
                rows.Add(($"{s} expand rows [{m0},{m1}) pitch {pitch}", () => PointwiseConv.Block(pws[turn++ % Copies], xs, pitch, ex, pitch, null, pb, 0, 49, m0, m1, true, 6f),
                    2.0 * (m1 - m0) * c * 49, false));
                rows.Add(($"{s} project rows [{j0},{j1}) pitch {pitch}", () => PointwiseConv.Block(pjs[turn++ % Copies], y, pitch, z, 49, k == c ? res : null, jb, 0, 49, j0, j1, false, float.PositiveInfinity),
                    2.0 * (j1 - j0) * e * 49, false));
                rows.Add(($"{s} project rows [{j0},{j1}) pitch {pitch} packed edge", () =>
                {
                    Gemm.StridedEdges = false;
                    PointwiseConv.Block(pjs[turn++ % Copies], y, pitch, z, 49, k == c ? res : null, jb, 0, 49, j0, j1, false, float.PositiveInfinity);
                    Gemm.StridedEdges = true;
                }, 2.0 * (j1 - j0) * e * 49, false));
            }
            float* padded = Pinned(e * 80 + 16, 16) + 8;
            DepthwiseConv3x3.ClearPadding(padded, m1 - m0, 80, 7, 7);
            rows.Add(($"{s} depthwise [{m0},{m1}) padded in place", () => DepthwiseConv3x3.ForwardPadded(padded, 80, dw, db, y, 80, half, 0f, 6f, level),
                2.0 * (m1 - m0) * 9 * 49, false));
            rows.Add(($"{s} project rows [{j0},{j1}) packed edge", () =>
            {
                Gemm.StridedEdges = false;
                PointwiseConv.Block(pjs[turn++ % Copies], y, 64, z, 49, k == c ? res : null, jb, 0, 49, j0, j1, false, float.PositiveInfinity);
                Gemm.StridedEdges = true;
            }, 2.0 * (j1 - j0) * e * 49, false));
            foreach (int threads in new[] { 1, 2 })
            {
                rows.Add(($"{s} ForwardByChannels {threads}T (wall)", () =>
                {
                    var pj = new ExpandDepthwise.Projection(pjs[turn % Copies], jb, k == c ? res : null, z, gj, false, float.PositiveInfinity);
                    ExpandDepthwise.ForwardByChannels(x, pws[turn++ % Copies], pb, true, 6f, dw, db, 0f, 6f, y, gp, gd, level, threads, 2, pj);
                }, 2.0 * 49 * (e * c + e * 9 + k * e), true));
            }
        }
        {
            // features.14: 96 -> 576 at 14x14, depthwise stride 2 to 7x7, 576 -> 160.
            var gp = Conv2dGeometry.Create([1, 96, 14, 14], [576, 96, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pw");
            var gd = Conv2dGeometry.Create([1, 576, 14, 14], [576, 1, 3, 3], (2, 2), (1, 1, 1, 1), (1, 1), 576, "dw");
            var gj = Conv2dGeometry.Create([1, 576, 7, 7], [160, 576, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pj");
            var pws = Enumerable.Range(0, Copies).Select(i => new PackedConvWeights(Random(576 * 96, 70 + i), 576, 96, 1, 1, 1, level)).ToArray();
            var pjs = Enumerable.Range(0, Copies).Select(i => new PackedConvWeights(Random(160 * 576, 80 + i), 160, 576, 1, 1, 1, level)).ToArray();
            int inPitch = (int)PointwiseConv.AlignedPitch(196), outPitch = (int)PointwiseConv.AlignedPitch(49);
            float* x = Pinned(96 * 196, 21), xs = Pinned(96 * inPitch, 22), pb = Pinned(576, 23), dw = Pinned(576 * 9, 24), db = Pinned(576, 25);
            float* ex = Pinned(576 * inPitch, 26), y = Pinned(576 * outPitch, 27), jb = Pinned(160, 28), z = Pinned(160 * 49, 29);
            var (m0, m1) = PointwiseConv.PanelRows(level, 576, 0, 2);
            var (j0, j1) = PointwiseConv.PanelRows(level, 160, 0, 2);
            var half = gd with { C = m1 - m0, K = m1 - m0, Groups = m1 - m0 };
            rows.Add(($"96>576>160 copy x to pitch {inPitch}", () => PointwiseConv.CopyToPitch(x, 96, 196, xs, inPitch), 0, false));
            rows.Add(($"96>576>160 expand rows [{m0},{m1}) 14x14", () => PointwiseConv.Block(pws[turn++ % Copies], xs, inPitch, ex, inPitch, null, pb, 0, 196, m0, m1, true, 6f),
                2.0 * (m1 - m0) * 96 * 196, false));
            rows.Add(($"96>576>160 depthwise/2 [{m0},{m1})", () => DepthwiseConv3x3.ForwardRows(ex, inPitch, dw, db, y, outPitch, half, 0, 7, 0f, 6f, level),
                2.0 * (m1 - m0) * 9 * 49, false));
            rows.Add(($"96>576>160 project rows [{j0},{j1})", () => PointwiseConv.Block(pjs[turn++ % Copies], y, outPitch, z, 49, null, jb, 0, 49, j0, j1, false, float.PositiveInfinity),
                2.0 * (j1 - j0) * 576 * 49, false));
            rows.Add(("96>576>160 ForwardByChannels 2T (wall)", () =>
            {
                var pj = new ExpandDepthwise.Projection(pjs[turn % Copies], jb, null, z, gj, false, float.PositiveInfinity);
                ExpandDepthwise.ForwardByChannels(x, pws[turn++ % Copies], pb, true, 6f, dw, db, 0f, 6f, y, gp, gd, level, 2, 2, pj);
            }, 2.0 * (576 * 96 * 196 + 576 * 9 * 49 + 160 * 576 * 49), true));
        }
        {
            var g = Conv2dGeometry.Create([1, 320, 7, 7], [1280, 320, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "head");
            var packs = Enumerable.Range(0, Copies).Select(i => new PackedConvWeights(Random(1280 * 320, 60 + i), 1280, 320, 1, 1, 1, level)).ToArray();
            float* x = Pinned(320 * 49, 11), xs = Pinned(320 * 96, 12), b = Pinned(1280, 13), yh = Pinned(1280 * 96, 14), pooled = Pinned(1280, 15);
            var (m0, m1) = PointwiseConv.PanelRows(level, 1280, 0, 2);
            rows.Add(("head copy x to pitch 64", () => PointwiseConv.CopyToPitch(x, 320, 49, xs, 64), 0, false));
            rows.Add(($"head conv rows [{m0},{m1})", () => PointwiseConv.Block(packs[turn++ % Copies], xs, 64, yh, 64, null, b, 0, 49, m0, m1, true, 6f),
                2.0 * (m1 - m0) * 320 * 49, false));
            rows.Add(($"head conv rows [{m0},{m1}) packed edge", () =>
            {
                Gemm.StridedEdges = false;
                PointwiseConv.Block(packs[turn++ % Copies], xs, 64, yh, 64, null, b, 0, 49, m0, m1, true, 6f);
                Gemm.StridedEdges = true;
            }, 2.0 * (m1 - m0) * 320 * 49, false));
            foreach (int pitch in new[] { 80, 72 })
            {
                rows.Add(($"head conv rows [{m0},{m1}) pitch {pitch}", () => PointwiseConv.Block(packs[turn++ % Copies], xs, pitch, yh, pitch, null, b, 0, 49, m0, m1, true, 6f),
                    2.0 * (m1 - m0) * 320 * 49, false));
                rows.Add(($"head conv rows [{m0},{m1}) pitch {pitch} packed edge", () =>
                {
                    Gemm.StridedEdges = false;
                    PointwiseConv.Block(packs[turn++ % Copies], xs, pitch, yh, pitch, null, b, 0, 49, m0, m1, true, 6f);
                    Gemm.StridedEdges = true;
                }, 2.0 * (m1 - m0) * 320 * 49, false));
            }
            rows.Add(($"head pool rows [{m0},{m1})", () =>
            {
                for (int r = m0; r < m1; r++) pooled[r] = System.Numerics.Tensors.TensorPrimitives.Sum(new ReadOnlySpan<float>(yh + r * 64, 49)) / 49;
            }, 0, false));
            foreach (int threads in new[] { 1, 2 })
                rows.Add(($"head PointwiseConvPool {threads}T (wall)", () => PointwiseConvPool.Forward(x, packs[turn++ % Copies], b, true, 6f, pooled, g, threads, 2),
                    2.0 * 1280 * 320 * 49, true));
        }
        var best = new double[rows.Count];
        Array.Fill(best, double.MaxValue);
        using (WorkerPool.Shared.KeepSpinning())
        {
            foreach (var r in rows) Best(1, r.Run);
            for (int round = 0; round < rounds; round++)
                for (int i = 0; i < rows.Count; i++)
                    best[i] = Math.Min(best[i], rows[i].Wall ? WallBest(rows[i].Run, 20) : ThreadSeconds(rows[i].Run, 20));
        }
        for (int i = 0; i < rows.Count; i++)
        {
            double gf = rows[i].Flops / best[i] / 1e9;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {rows[i].Name} | {best[i] * 1000:F4} | {(rows[i].Flops > 0 ? gf.ToString("F1", CultureInfo.InvariantCulture) : "")} | {(rows[i].Flops > 0 ? (100 * gf / peak).ToString("F0", CultureInfo.InvariantCulture) + "%" : "")} |"));
        }
    }

    // The best wall time of single calls among `inner`.
    private static double WallBest(Action action, int inner)
    {
        double best = double.MaxValue;
        for (int i = 0; i < inner; i++) best = Math.Min(best, WallSeconds(action));
        return best;
    }

    private static float* Pinned(int n, int seed)
    {
        var a = GC.AllocateArray<float>(n + 16, pinned: true);
        Random(n, seed).CopyTo(a, 0);
        float* p = (float*)Unsafe.AsPointer(ref a[0]);
        s_keep.Add(a);
        return (float*)(((nint)p + 63) & ~(nint)63);
    }

    private static readonly List<float[]> s_keep = [];

    /// <summary>GFLOP/s of 16 independent Vector512 FMA chains on one thread.</summary>
    private static double FmaPeak512(int reps) => LoopPeak(reps, FmaLoop512, 16.0 * 16 * 2);

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaLoop512(int iterations)
    {
        var m = Vector512.Create(0.9999f);
        var add = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0,
            a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, add); a1 = Vector512.FusedMultiplyAdd(a1, m, add);
            a2 = Vector512.FusedMultiplyAdd(a2, m, add); a3 = Vector512.FusedMultiplyAdd(a3, m, add);
            a4 = Vector512.FusedMultiplyAdd(a4, m, add); a5 = Vector512.FusedMultiplyAdd(a5, m, add);
            a6 = Vector512.FusedMultiplyAdd(a6, m, add); a7 = Vector512.FusedMultiplyAdd(a7, m, add);
            a8 = Vector512.FusedMultiplyAdd(a8, m, add); a9 = Vector512.FusedMultiplyAdd(a9, m, add);
            a10 = Vector512.FusedMultiplyAdd(a10, m, add); a11 = Vector512.FusedMultiplyAdd(a11, m, add);
            a12 = Vector512.FusedMultiplyAdd(a12, m, add); a13 = Vector512.FusedMultiplyAdd(a13, m, add);
            a14 = Vector512.FusedMultiplyAdd(a14, m, add); a15 = Vector512.FusedMultiplyAdd(a15, m, add);
        }
        var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
        return Vector512.Sum(sum);
    }
}
