using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>wg-ab</c> mode: one thread's CPU time per image of a conv chain stage's kernels, alternating: the Winograd forward, the
/// direct weight gradient and the Winograd-domain one (<see cref="WinogradWeightGrad"/>), on VGG-small's, ResNet-8's and the
/// seed ConvNet's Winograd stage shapes; and the
/// Winograd forward and weight gradient with the block scratch's positions unpadded (<c>WinogradConv2d.PadPositions</c> off).
/// </summary>
internal static unsafe class WeightGradAb
{
    public static int Run(string[] args)
    {
        _ = args;
        // (C, K, kernel, pad, H, W)
        (int C, int K, int Ks, int P, int H, int W)[] shapes = [(32, 32, 3, 1, 32, 32), (32, 64, 3, 1, 16, 16), (64, 64, 3, 1, 16, 16), (16, 16, 3, 1, 32, 32), (32, 32, 3, 1, 16, 16), (64, 64, 3, 1, 8, 8), (16, 32, 5, 2, 14, 14)];
        var rng = new Random(1);
        Console.WriteLine($"thread CPU us per image, ISA {Isa.Level}, thread time {CpuClock.IsThreadTime}");
        foreach (var (c, k, ks, p, h, w) in shapes)
        {
            var plan = new DirectConv2d(c, k, ks, p, h, w, Isa.Level);
            var wino = WinogradConv2d.For(plan)!;
            var wg = new WinogradWeightGrad(wino);
            // The same kernels with the block scratch's positions unpadded (tiles x channels floats apart).
            WinogradConv2d.PadPositions = false;
            var winoA = WinogradConv2d.For(plan)!;
            var wgA = new WinogradWeightGrad(winoA);
            WinogradConv2d.PadPositions = true;
            var x = new AlignedBuffer(plan.InputImage);
            var dy = new AlignedBuffer(plan.OutputImage);
            for (int i = 0; i < x.Span.Length; i++) x.Span[i] = (float)rng.NextDouble();
            for (int i = 0; i < dy.Span.Length; i++) dy.Span[i] = (float)rng.NextDouble();
            var packed = new AlignedBuffer(wino.PackedLength);
            var y = new AlignedBuffer(plan.OutputImage);
            var scratch = new AlignedBuffer(wino.ScratchLength);
            var acc = new AlignedBuffer(plan.WeightLength);
            var wacc = new AlignedBuffer(wg.AccumulatorLength);
            var wscratch = new AlignedBuffer(wg.ScratchLength);
            var t = new double[6][];
            const int reps = 20, rounds = 7;
            for (int v = 0; v < 6; v++) t[v] = new double[rounds];
            for (int r = -1; r < rounds; r++)
                for (int v = 0; v < 6; v++)
                {
                    double t0 = CpuClock.Seconds();
                    for (int i = 0; i < reps; i++)
                    {
                        switch (v)
                        {
                            case 0: wino.ForwardImage(x.Pointer, packed.Pointer, null, y.Pointer, plan.OutputPlane, plan.OutWidth * 16, null, null, false, scratch.Pointer); break;
                            case 1: plan.WeightGradImage(x.Pointer, dy.Pointer, plan.OutputPlane, plan.OutWidth * 16, acc.Pointer); break;
                            case 2: wg.AccumulateImage(x.Pointer, dy.Pointer, plan.OutputPlane, plan.OutWidth * 16, wacc.Pointer, wscratch.Pointer); break;
                            case 3: wg.ToDirect(wacc.Pointer, acc.Pointer); break;
                            case 4: winoA.ForwardImage(x.Pointer, packed.Pointer, null, y.Pointer, plan.OutputPlane, plan.OutWidth * 16, null, null, false, scratch.Pointer); break;
                            default: wgA.AccumulateImage(x.Pointer, dy.Pointer, plan.OutputPlane, plan.OutWidth * 16, wacc.Pointer, wscratch.Pointer); break;
                        }
                    }
                    if (r >= 0) t[v][r] = (CpuClock.Seconds() - t0) / reps * 1e6;
                }
            Console.WriteLine($"{c}->{k} k{ks} {h}x{w}: wino fwd {ProcessStats.Median(t[0]):F0}, direct dW {ProcessStats.Median(t[1]):F0}, wino dW {ProcessStats.Median(t[2]):F0}, ToDirect (per chunk) {ProcessStats.Median(t[3]):F0}, unpadded positions: wino fwd {ProcessStats.Median(t[4]):F0}, wino dW {ProcessStats.Median(t[5]):F0}");
            GC.KeepAlive(x); GC.KeepAlive(dy); GC.KeepAlive(packed); GC.KeepAlive(y); GC.KeepAlive(scratch); GC.KeepAlive(acc); GC.KeepAlive(wacc); GC.KeepAlive(wscratch);
        }
        return 0;
    }
}
