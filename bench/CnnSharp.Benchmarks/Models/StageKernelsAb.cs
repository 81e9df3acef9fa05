using System.Globalization;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>stage-kernels [--shapes CxH,...] [--tiles N]</c> mode: one thread's CPU time per image of ResNet-8's stride-1 3x3 stage shapes (16 -> 16 at 32x32,
/// 32 -> 32 at 16x16, 64 -> 64 at 8x8), direct against Winograd F(4x4, 3x3), alternating in one process: forward, input
/// gradient and weight gradient (direct: images grouped as <c>ConvChainLayer.WeightGradGroup</c> does; Winograd: the
/// transform-domain accumulation plus its per-chunk <c>ToDirect</c> spread over 64/14 images, a batch-64 chunk's share).
/// Prints us per image and GFLOP/s of the direct multiply-adds, the fraction of what the kernel would take at the
/// measured FMA peak being the reader's division.
/// </summary>
internal static unsafe class StageKernelsAb
{
    public static int Run(string[] args)
    {
        // --shapes CxH,...: C -> C channels on an HxH map (default ResNet-8's three stages).
        (int C, int H)[] shapes = [(16, 32), (32, 16), (64, 8)];
        int at = Array.IndexOf(args, "--shapes");
        if (at > 0 && at + 1 < args.Length)
            shapes = [.. args[at + 1].Split(',').Select(p => p.Split('x')).Select(p => (int.Parse(p[0], CultureInfo.InvariantCulture), int.Parse(p[1], CultureInfo.InvariantCulture)))];
        // --tiles N: Winograd blocks of about N tiles instead of WinogradConv2d.DefaultTilesPerBlock.
        int tilesAt = Array.IndexOf(args, "--tiles");
        int tilesPerBlock = tilesAt > 0 && tilesAt + 1 < args.Length ? int.Parse(args[tilesAt + 1], CultureInfo.InvariantCulture) : 0;
        const int images = 16, rounds = 9;
        const double imagesPerChunk = 64.0 / 14;
        var rng = new Random(1);
        Console.WriteLine($"thread CPU us per image (direct-equivalent GFLOP/s), {images} images per call, median of {rounds} rounds, ISA {Isa.Level}, thread time {CpuClock.IsThreadTime}");
        foreach (var (c, h) in shapes)
        {
            var plan = new DirectConv2d(c, c, 3, 1, h, h, Isa.Level);
            var dxPlan = DirectConv2d.ForBackwardInput(plan);
            var wino = WinogradConv2d.For(plan);
            if (wino is not null && tilesPerBlock > 0) wino = new WinogradConv2d(c, c, 1, h, h, tilesPerBlock, 3, wino.Wide);
            if (wino is null)
            {
                Console.WriteLine("no Winograd on this ISA");
                return 0;
            }
            var winoDx = WinogradConv2d.ForBackwardInput(wino);
            var wg = new WinogradWeightGrad(wino);
            int group = Math.Clamp((128 + h * h - 1) / (h * h), 1, 8);
            var x = Random(rng, images * plan.InputImage);
            var dyPadded = Random(rng, images * dxPlan.InputImage);
            var dy = Random(rng, images * plan.OutputImage);
            var packed = Random(rng, Math.Max(plan.WeightLength, wino.PackedLength));
            var y = new AlignedBuffer(images * plan.OutputImage);
            var scratch = new AlignedBuffer(Math.Max(wino.ScratchLength, winoDx.ScratchLength));
            var acc = new AlignedBuffer(plan.WeightLength);
            var wacc = new AlignedBuffer(wg.AccumulatorLength);
            var wscratch = new AlignedBuffer(wg.ScratchLength);
            string[] names = ["fwd direct", "fwd wino", "dX direct", "dX wino", "dW direct", "dW wino"];
            var t = new double[names.Length][];
            for (int v = 0; v < names.Length; v++) t[v] = new double[rounds];
            for (int r = -1; r < rounds; r++)
                for (int v = 0; v < names.Length; v++)
                {
                    double t0 = CpuClock.Seconds();
                    switch (v)
                    {
                        case 0:
                            for (int n = 0; n < images; n++)
                                plan.ForwardImage(x.Pointer + (long)n * plan.InputImage, packed.Pointer, null, y.Pointer + (long)n * plan.OutputImage, plan.OutputPlane, plan.OutWidth * 16, null, null, false);
                            break;
                        case 1:
                            for (int n = 0; n < images; n++)
                                wino.ForwardImage(x.Pointer + (long)n * plan.InputImage, packed.Pointer, null, y.Pointer + (long)n * plan.OutputImage, plan.OutputPlane, plan.OutWidth * 16, null, null, false, scratch.Pointer);
                            break;
                        case 2:
                            for (int n = 0; n < images; n++)
                                dxPlan.ForwardImage(dyPadded.Pointer + (long)n * dxPlan.InputImage, packed.Pointer, null, y.Pointer + (long)n * plan.OutputImage, plan.OutputPlane, plan.OutWidth * 16, null, null, false);
                            break;
                        case 3:
                            for (int n = 0; n < images; n++)
                                winoDx.ForwardImage(dyPadded.Pointer + (long)n * dxPlan.InputImage, packed.Pointer, null, y.Pointer + (long)n * plan.OutputImage, plan.OutputPlane, plan.OutWidth * 16, null, null, false, scratch.Pointer);
                            break;
                        case 4:
                            for (int n = 0; n < images; n += group)
                                plan.WeightGradImages(x.Pointer + (long)n * plan.InputImage, plan.InputImage, dy.Pointer + (long)n * plan.OutputImage, plan.OutputImage,
                                    Math.Min(group, images - n), plan.OutputPlane, plan.OutWidth * 16, acc.Pointer);
                            break;
                        default:
                            for (int n = 0; n < images; n++)
                                wg.AccumulateImage(x.Pointer + (long)n * plan.InputImage, dy.Pointer + (long)n * plan.OutputImage, plan.OutputPlane, plan.OutWidth * 16, wacc.Pointer, wscratch.Pointer);
                            break;
                    }
                    double us = (CpuClock.Seconds() - t0) / images * 1e6;
                    if (v == 5)
                    {
                        double t1 = CpuClock.Seconds();
                        wg.ToDirect(wacc.Pointer, acc.Pointer);
                        us += (CpuClock.Seconds() - t1) * 1e6 / imagesPerChunk;
                    }
                    if (r >= 0) t[v][r] = us;
                }
            // The weight packing a training step repeats (forward, and the input gradient's), us per call.
            var weights = new float[plan.WeightLength];
            for (int i = 0; i < weights.Length; i++) weights[i] = (float)rng.NextDouble() - 0.5f;
            for (int i = 0; i < 50; i++)
            {
                plan.PackWeights(weights, transposeAndFlip: false, packed.Pointer);
                wino.PackWeights(weights, transposeAndFlip: false, packed.Pointer);
            }
            double p0 = CpuClock.Seconds();
            for (int i = 0; i < 10; i++) plan.PackWeights(weights, transposeAndFlip: false, packed.Pointer);
            double p1 = CpuClock.Seconds();
            for (int i = 0; i < 10; i++) wino.PackWeights(weights, transposeAndFlip: false, packed.Pointer);
            double p2 = CpuClock.Seconds();
            Console.WriteLine($"{c}->{c} pack: direct {(p1 - p0) * 1e5:F1} us, winograd {(p2 - p1) * 1e5:F1} us");
            double gflop = 2e-3 * plan.MacsPerImage;
            Console.WriteLine($"{c}->{c} 3x3 {h}x{h} ({wino.TileRows * wino.TileColumns} tiles, dW group {group}): " +
                string.Join(", ", names.Select((n, v) => $"{n} {ProcessStats.Median(t[v]):F1} ({gflop / ProcessStats.Median(t[v]):F0})")));
            GC.KeepAlive(x); GC.KeepAlive(dyPadded); GC.KeepAlive(dy); GC.KeepAlive(packed); GC.KeepAlive(y); GC.KeepAlive(scratch);
            GC.KeepAlive(acc); GC.KeepAlive(wacc); GC.KeepAlive(wscratch);
        }
        return 0;
    }

    private static AlignedBuffer Random(Random rng, int length)
    {
        var b = new AlignedBuffer(length);
        for (int i = 0; i < length; i++) b.Span[i] = (float)rng.NextDouble() - 0.5f;
        return b;
    }
}
