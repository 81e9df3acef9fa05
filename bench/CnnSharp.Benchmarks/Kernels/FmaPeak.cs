using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Benchmarks.Kernels;

/// <summary>
/// The machine's FMA peak as a dependent-chain-free loop: 12 (AVX2) or 24 (AVX-512) independent accumulators, each
/// iteration one FMA per accumulator, so it runs at the FMA pipes' throughput.
/// </summary>
public static class FmaPeak
{
    /// <summary>FLOPs per call of <see cref="Loop"/> with <paramref name="iterations"/>.</summary>
    public static double Flops(long iterations) => Isa.Detected == IsaLevel.V512 ? iterations * 24.0 * 16 * 2 : iterations * 12.0 * 8 * 2;

    /// <summary>Runs the loop on the calling thread.</summary>
    public static float Loop(long iterations) => Isa.Detected == IsaLevel.V512 ? Loop512(iterations) : Loop256(iterations);

    /// <summary>Measures GFLOP/s on <paramref name="threads"/> threads (best of <paramref name="repeats"/>).</summary>
    public static double Measure(int threads, long iterations = 20_000_000, int repeats = 5)
    {
        Loop(10_000);
        double best = 0;
        Action<int> body = _ => Loop(iterations);
        for (int r = 0; r < repeats; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            WorkerPool.Shared.Run(threads, body);
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            best = Math.Max(best, threads * Flops(iterations) / s / 1e9);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Loop256(long iterations)
    {
        var m = Vector256.Create(0.99999f);
        var c = Vector256.Create(1e-6f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c); a2 = Vector256.FusedMultiplyAdd(a2, m, c);
            a3 = Vector256.FusedMultiplyAdd(a3, m, c); a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c); a8 = Vector256.FusedMultiplyAdd(a8, m, c);
            a9 = Vector256.FusedMultiplyAdd(a9, m, c); a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float Loop512(long iterations)
    {
        var m = Vector512.Create(0.99999f);
        var c = Vector512.Create(1e-6f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        Vector512<float> b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0, b8 = a0, b9 = a0, b10 = a0, b11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c); a2 = Vector512.FusedMultiplyAdd(a2, m, c);
            a3 = Vector512.FusedMultiplyAdd(a3, m, c); a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c); a8 = Vector512.FusedMultiplyAdd(a8, m, c);
            a9 = Vector512.FusedMultiplyAdd(a9, m, c); a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
            b0 = Vector512.FusedMultiplyAdd(b0, m, c); b1 = Vector512.FusedMultiplyAdd(b1, m, c); b2 = Vector512.FusedMultiplyAdd(b2, m, c);
            b3 = Vector512.FusedMultiplyAdd(b3, m, c); b4 = Vector512.FusedMultiplyAdd(b4, m, c); b5 = Vector512.FusedMultiplyAdd(b5, m, c);
            b6 = Vector512.FusedMultiplyAdd(b6, m, c); b7 = Vector512.FusedMultiplyAdd(b7, m, c); b8 = Vector512.FusedMultiplyAdd(b8, m, c);
            b9 = Vector512.FusedMultiplyAdd(b9, m, c); b10 = Vector512.FusedMultiplyAdd(b10, m, c); b11 = Vector512.FusedMultiplyAdd(b11, m, c);
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7 + b8 + b9 + b10 + b11).ToScalar();
    }
}
