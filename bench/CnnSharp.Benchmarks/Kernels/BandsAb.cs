using System.Globalization;
using CnnSharp.Kernels;

namespace CnnSharp.Benchmarks.Kernels;

/// <summary>
/// <c>bands-ab [switch] [images] [reps]</c>: thread CPU time of <see cref="ExpandDepthwise.Forward"/> (one thread, whole
/// inverted-residual blocks: expansion, depthwise 3x3, projection, ReLU6 and the residual as in MobileNet-v2) on each of
/// MobileNet-v2's block shapes, with a switch off (A) and on (B), alternating in one process; prints GFLOP/s of each and
/// B/A of the best times. Switches: <c>vector-edges</c> (<see cref="EdgeStore.Vectorized"/>), <c>masked-split</c>
/// (<see cref="GroupedConv2d.MaskedDeinterleave"/>), <c>fused-epilogue</c> (<see cref="Gemm.FusedEpilogue"/>). <c>bands-ab parts [reps]</c>: each block's three kernels alone.
/// </summary>
internal static class BandsAb
{
    // (C, E, K, H = W, stride) of features.1-17 (one of each repeated shape; features.1 has no expansion).
    private static readonly (int C, int E, int K, int Hw, int Stride)[] Blocks =
        [(32, 0, 16, 112, 1), (16, 96, 24, 112, 2), (24, 144, 24, 56, 1), (24, 144, 32, 56, 2), (32, 192, 32, 28, 1), (32, 192, 64, 28, 2),
         (64, 384, 64, 14, 1), (64, 384, 96, 14, 1), (96, 576, 96, 14, 1), (96, 576, 160, 14, 2), (160, 960, 160, 7, 1), (160, 960, 320, 7, 1)];

    public static int Run(string[] args)
    {
        string toggle = args.Length > 1 ? args[1] : "vector-edges";
        if (toggle == "parts") return Parts(args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 30);
        int images = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 4;
        int reps = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 15;
        Action<bool> set = toggle switch
        {
            "fused-epilogue" => on => Gemm.FusedEpilogue = on,
            "vector-edges" => on => EdgeStore.Vectorized = on,
            "masked-split" => on => GroupedConv2d.MaskedDeinterleave = on,
            _ => throw new ArgumentException($"bands-ab: unknown switch {toggle} (known: vector-edges, masked-split, fused-epilogue, parts)"),
        };
        Console.WriteLine($"ISA {Isa.Level}, 1 thread, {images} images, {toggle}, best of {reps}, thread CPU time: {CpuClock.IsThreadTime}, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine("block (C>E>K, HxW, s)        A GFLOP/s  B GFLOP/s   B/A  same bits");
        var rng = new Random(1);
        double sumA = 0, sumB = 0;
        foreach (var (c, e0, k, hw, s) in Blocks)
        {
            int e = e0 == 0 ? c : e0;
            var gp = Conv2dGeometry.Create([images, c, hw, hw], [e, c, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1);
            var gd = Conv2dGeometry.Create([images, e, hw, hw], [e, 1, 3, 3], (s, s), (1, 1, 1, 1), (1, 1), e);
            var gj = Conv2dGeometry.Create([images, e, gd.OutH, gd.OutW], [k, e, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1);
            float[] Random(int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => ((float)rng.NextDouble() - 0.5f) * scale)];
            var x = Random(images * c * hw * hw, 2f);
            var pw = e0 == 0 ? null : new PackedConvWeights(Random(e * c, 0.3f), e, c, 1, 1, 1, Isa.Level);
            var pj = new PackedConvWeights(Random(k * e, 0.2f), k, e, 1, 1, 1, Isa.Level);
            var pwb = Random(e, 0.1f);
            var dw = Random(e * 9, 0.5f);
            var dwb = Random(e, 0.1f);
            var pjb = Random(k, 0.1f);
            bool residual = s == 1 && c == k;
            var r = residual ? Random(images * k * gd.OutH * gd.OutW, 1f) : [];
            var z = new[] { new float[images * k * gd.OutH * gd.OutW], new float[images * k * gd.OutH * gd.OutW] };
            double[] best = [double.MaxValue, double.MaxValue];
            unsafe
            {
                fixed (float* px = x, pb = pwb, pd = dw, pdb = dwb, pjbp = pjb, pr = r, pz0 = z[0], pz1 = z[1])
                {
                    for (int rep = 0; rep < reps; rep++)
                        for (int v = 0; v < 2; v++)
                        {
                            set(v == 1);
                            var proj = new ExpandDepthwise.Projection(pj, pjbp, residual ? pr : null, v == 0 ? pz0 : pz1, gj, false, float.PositiveInfinity);
                            double t0 = CpuClock.Seconds();
                            ExpandDepthwise.Forward(px, pw, pb, true, 6f, pd, pdb, 0f, 6f, null, gp, gd, Isa.Level, 1, projection: proj);
                            best[v] = Math.Min(best[v], CpuClock.Seconds() - t0);
                        }
                }
            }
            set(true);
            double flops = 2.0 * images * ((e0 == 0 ? 0 : (double)e * c * hw * hw) + 9.0 * e * gd.OutH * gd.OutW + (double)k * e * gd.OutH * gd.OutW);
            sumA += best[0];
            sumB += best[1];
            string name = FormattableString.Invariant($"{c}>{e}>{k}, {hw}x{hw}, s{s}").PadRight(28);
            Console.WriteLine(name + FormattableString.Invariant($"{flops / best[0] / 1e9,10:F1} {flops / best[1] / 1e9,10:F1} {best[1] / best[0],6:F3}  {z[0].AsSpan().SequenceEqual(z[1])}"));
        }
        Console.WriteLine(FormattableString.Invariant($"sum of best times: A {sumA * 1e3:F2} ms, B {sumB * 1e3:F2} ms, B/A {sumB / sumA:F3}"));
        return 0;
    }

    /// <summary><c>bands-ab parts [reps]</c>: each block's three kernels alone on one whole image (thread CPU, best of
    /// reps), each with its switch off and on: the expansion and projection GEMMs (<see cref="PointwiseConv.Block"/>,
    /// <see cref="EdgeStore.Vectorized"/>) and the depthwise conv (<see cref="GroupedConv2d.MaskedDeinterleave"/>);
    /// GFLOP/s and microseconds.</summary>
    private static unsafe int Parts(int reps)
    {
        Console.WriteLine($"ISA {Isa.Level}, 1 thread, one image, best of {reps}, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; GFLOP/s (us), switch off / on");
        Console.WriteLine("block                     expansion off / on             depthwise off / on             projection off / on");
        var rng = new Random(1);
        foreach (var (c, e0, k, hw, s) in Blocks)
        {
            int e = e0 == 0 ? c : e0;
            var gd = Conv2dGeometry.Create([1, e, hw, hw], [e, 1, 3, 3], (s, s), (1, 1, 1, 1), (1, 1), e);
            int p = hw * hw, q = gd.OutH * gd.OutW;
            float[] Random(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f)];
            var x = Random(c * p);
            var ex = Random(e * p);
            var d = Random(e * q);
            var z = new float[k * q];
            var pw = new PackedConvWeights(Random(e * c), e, c, 1, 1, 1, Isa.Level);
            var pj = new PackedConvWeights(Random(k * e), k, e, 1, 1, 1, Isa.Level);
            var b = Random(Math.Max(e, k));
            var dw = Random(e * 9);
            var t = new double[6];
            Array.Fill(t, double.MaxValue);
            fixed (float* px = x, pe = ex, pd = d, pz = z, pb = b, pdw = dw)
            {
                for (int r = 0; r < reps; r++)
                    for (int v = 0; v < 6; v++)
                    {
                        EdgeStore.Vectorized = GroupedConv2d.MaskedDeinterleave = (v & 1) == 1;
                        double t0 = CpuClock.Seconds();
                        switch (v >> 1)
                        {
                            case 0: PointwiseConv.Block(pw, px, p, pe, p, null, pb, 0, p, 0, e, true, 6f); break;
                            case 1: DepthwiseConv3x3.ForwardRows(pe, p, pdw, pb, pd, q, gd, 0, gd.OutH, 0f, 6f, Isa.Level); break;
                            default: PointwiseConv.Block(pj, pd, q, pz, q, null, pb, 0, q, 0, k, false, float.PositiveInfinity); break;
                        }
                        t[v] = Math.Min(t[v], CpuClock.Seconds() - t0);
                    }
            }
            EdgeStore.Vectorized = GroupedConv2d.MaskedDeinterleave = true;
            double[] flops = [2.0 * e * c * p, 18.0 * e * q, 2.0 * k * e * q];
            string line = FormattableString.Invariant($"{c}>{e}>{k}, {hw}x{hw}, s{s}").PadRight(26);
            for (int v = 0; v < 6; v++) line += FormattableString.Invariant($"{flops[v >> 1] / t[v] / 1e9,6:F1} ({t[v] * 1e6,4:F0}){((v & 1) == 0 ? " / " : "    ")}");
            Console.WriteLine(line);
        }
        return 0;
    }
}
