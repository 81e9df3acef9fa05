using System.Runtime.Intrinsics;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>batch-wino [batch]</c> mode: one thread's CPU time of the batch-folded Winograd kernel (<see cref="BatchWinogradConv2d"/>)
/// on ResNet-18's layer-3 and layer-4 3x3 convs (256 channels at 14x14, 512 at 7x7), whole forward with bias, residual
/// and ReLU, against its 36 transform-domain GEMMs alone (the rest is the transforms and the NCHW conversions), with
/// the effective GFLOP/s of the direct convolution's 2·N·H·W·K·C·9 operations; with 512-bit hardware also the plan with
/// 16-lane transforms (<see cref="BatchWinogradConv2d.Wide"/>), timed in the same rounds.
/// </summary>
internal static class BatchWinogradBench
{
    public static int Run(string[] args)
    {
        int batch = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 32;
        const int rounds = 5;
        Parallelism.MaxThreads = 1;
        var rng = new Random(1);
        Console.WriteLine($"batch {batch}, one thread, thread CPU ms (effective GFLOP/s), minimum of {rounds} rounds, ISA {Isa.Level}, thread time {CpuClock.IsThreadTime}");
        foreach (var (c, h) in new[] { (256, 14), (512, 7) })
        {
            var kernel = new BatchWinogradConv2d(batch, c, c, h, h);
            var wide = new BatchWinogradConv2d(batch, c, c, h, h, wide: true);
            float[] Fill(long n)
            {
                var a = new float[n];
                for (long i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() - 0.5);
                return a;
            }
            var x = Fill((long)batch * c * h * h);
            var r = Fill(x.Length);
            var y = new float[x.Length];
            var bias = Fill(c);
            var packed = new float[kernel.PackedLength];
            kernel.PackWeights(Fill((long)c * c * 9), packed);
            int p = kernel.Tiles;
            var v = Fill((long)p * c);
            var m = new float[(long)p * c];
            // 16 lanes only where the V512 path has real 512-bit vectors (WideFor's rule; elsewhere software vectors).
            bool sixteen = Vector512.IsHardwareAccelerated;
            double forward = double.MaxValue, forward16 = double.MaxValue, gemm = double.MaxValue;
            for (int round = -1; round < rounds; round++)
            {
                double t0 = CpuClock.Seconds();
                kernel.Forward(x, packed, bias, r, y, 0f, float.PositiveInfinity, Isa.Level);
                double t1 = CpuClock.Seconds();
                for (int pos = 0; pos < WinogradTiles.Positions; pos++)
                    Gemm.Multiply(Isa.Level, false, false, p, c, c, v, c, packed.AsSpan(pos * c * c, c * c), c, m, c, accumulate: false, parallel: false);
                double t2 = CpuClock.Seconds();
                if (sixteen) wide.Forward(x, packed, bias, r, y, 0f, float.PositiveInfinity, Isa.Level);
                double t3 = CpuClock.Seconds();
                if (round < 0) continue;
                forward = Math.Min(forward, t1 - t0);
                gemm = Math.Min(gemm, t2 - t1);
                forward16 = Math.Min(forward16, t3 - t2);
            }
            double flops = 2.0 * batch * h * h * c * c * 9;
            Console.WriteLine(FormattableString.Invariant(
                $"  {c}->{c} 3x3 @{h}x{h} ({p} tiles): forward {forward * 1e3:F2} ms ({flops / forward / 1e9:F0}), GEMMs alone {gemm * 1e3:F2} ms ({flops / gemm / 1e9:F0}), transforms {(forward - gemm) * 1e3:F2} ms"));
            if (sixteen)
                Console.WriteLine(FormattableString.Invariant(
                    $"    16-lane transforms: forward {forward16 * 1e3:F2} ms ({flops / forward16 / 1e9:F0}), transforms {(forward16 - gemm) * 1e3:F2} ms, B/A {forward16 / forward:F3}"));
        }
        return 0;
    }
}
