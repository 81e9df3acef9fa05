using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>rowtiles-ab</c> mode: one thread's CPU time per image of the direct convolution on small maps, alternating A row
/// tiles and B block tiles of several rows (<see cref="DirectConv2d.MultiRowTiles"/>), for the forward and the input
/// gradient (the forward of <see cref="DirectConv2d.ForBackwardInput"/>) of ResNet-9's and ResNet-8's narrow stages;
/// then the direct weight gradient of the same shapes (no A/B: where the rest of a small stage's backward goes).
/// </summary>
internal static unsafe class RowTilesAb
{
    public static int Run(string[] args)
    {
        _ = args;
        // (C, K, kernel, pad, H, W) of the forward; each is measured forward and as the input gradient.
        (int C, int K, int Ks, int P, int H, int W)[] shapes = [(64, 128, 3, 1, 7, 7), (128, 128, 3, 1, 3, 3), (64, 64, 3, 1, 8, 8), (32, 32, 3, 1, 4, 4)];
        const int images = 16, rounds = 7;
        var rng = new Random(1);
        Console.WriteLine($"thread CPU us per image (GFLOP/s), {images} images per call, median of {rounds} rounds, ISA {Isa.Level}, thread time {CpuClock.IsThreadTime}");
        foreach (var (c, k, ks, p, h, w) in shapes)
            foreach (bool dx in new[] { false, true })
            {
                var plans = new DirectConv2d[2];
                for (int v = 0; v < 2; v++)
                {
                    var forward = new DirectConv2d(c, k, ks, p, h, w, Isa.Level, multiRowTiles: v == 1);
                    plans[v] = dx ? DirectConv2d.ForBackwardInput(forward) : forward;
                }
                var plan = plans[0];
                var x = new AlignedBuffer(images * plan.InputImage);
                for (int i = 0; i < x.Span.Length; i++) x.Span[i] = (float)rng.NextDouble();
                var packed = new AlignedBuffer(plan.WeightLength);
                for (int i = 0; i < packed.Span.Length; i++) packed.Span[i] = (float)rng.NextDouble();
                var y = new AlignedBuffer(images * plan.OutputImage);
                var t = new double[2][];
                for (int v = 0; v < 2; v++) t[v] = new double[rounds];
                for (int r = -1; r < rounds; r++)
                    for (int v = 0; v < 2; v++)
                    {
                        var pv = plans[v];
                        double t0 = CpuClock.Seconds();
                        for (int n = 0; n < images; n++)
                            pv.ForwardImage(x.Pointer + (long)n * pv.InputImage, packed.Pointer, null, y.Pointer + (long)n * pv.OutputImage,
                                pv.OutputPlane, pv.OutWidth * 16, null, null, relu: false);
                        if (r >= 0) t[v][r] = (CpuClock.Seconds() - t0) / images * 1e6;
                    }
                double a = ProcessStats.Median(t[0]), b = ProcessStats.Median(t[1]), gflop = 2e-3 * plan.MacsPerImage;
                Console.WriteLine($"{(dx ? "dX " : "fwd")} {plan.InChannels}->{plan.OutChannels} k{ks} {plan.OutHeight}x{plan.OutWidth} (block tiles {plans[1].UsesBlockTiles}): " +
                    $"A rows {a:F0} ({gflop / a:F0}), B blocks {b:F0} ({gflop / b:F0}), B/A {b / a:F3}");
                GC.KeepAlive(x); GC.KeepAlive(packed); GC.KeepAlive(y);
            }
        // The weight gradient of the same shapes (unchanged by the switch), for comparison: images in groups of up to 8
        // per call, as ConvChainLayer.WeightGradGroup does for small maps.
        foreach (var (c, k, ks, p, h, w) in shapes)
        {
            var plan = new DirectConv2d(c, k, ks, p, h, w, Isa.Level);
            int group = Math.Clamp((128 + plan.OutHeight * plan.OutWidth - 1) / (plan.OutHeight * plan.OutWidth), 1, 8);
            var x = new AlignedBuffer(images * plan.InputImage);
            var dy = new AlignedBuffer(images * plan.OutputImage);
            var acc = new AlignedBuffer(plan.WeightLength);
            for (int i = 0; i < x.Span.Length; i++) x.Span[i] = (float)rng.NextDouble();
            for (int i = 0; i < dy.Span.Length; i++) dy.Span[i] = (float)rng.NextDouble();
            var t = new double[rounds];
            for (int r = -1; r < rounds; r++)
            {
                double t0 = CpuClock.Seconds();
                for (int n = 0; n < images; n += group)
                    plan.WeightGradImages(x.Pointer + (long)n * plan.InputImage, plan.InputImage, dy.Pointer + (long)n * plan.OutputImage, plan.OutputImage,
                        Math.Min(group, images - n), plan.OutputPlane, plan.OutWidth * 16, acc.Pointer);
                if (r >= 0) t[r] = (CpuClock.Seconds() - t0) / images * 1e6;
            }
            double us = ProcessStats.Median(t);
            Console.WriteLine($"dW  {c}->{k} k{ks} {plan.OutHeight}x{plan.OutWidth}, {group} images per call: {us:F0} ({2e-3 * plan.MacsPerImage / us:F0})");
            GC.KeepAlive(x); GC.KeepAlive(dy); GC.KeepAlive(acc);
        }
        return 0;
    }
}
