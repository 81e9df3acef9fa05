using System.Diagnostics;
using System.Globalization;
using CnnSharp.Benchmarks.Kernels;

namespace CnnSharp.Benchmarks;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "kernels") return QuickKernels(args);
        return 0;
    }

    private static int QuickKernels(string[] args)
    {
        int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        Console.WriteLine($"FMA peak 1 thread {FmaPeak.Measure(1):F1} GFLOP/s, {threads} threads {FmaPeak.Measure(threads):F1}");
        foreach (var w in ConvWorkload.All(100, threads))
        {
            for (int t = 1; t <= threads; t++)
            {
                w.Run(t);
                double best = double.MaxValue;
                for (int r = 0; r < 10; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    w.Run(t);
                    best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                Console.WriteLine($"{w.Name,-36} {t} thr {best * 1e3,8:F3} ms {w.Flops / best / 1e9,7:F1} GFLOP/s");
            }
        }
        return 0;
    }
}
