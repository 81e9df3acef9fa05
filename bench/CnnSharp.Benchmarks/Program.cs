using System.Diagnostics;
using System.Globalization;
using CnnSharp.Benchmarks.Kernels;

namespace CnnSharp.Benchmarks;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "kernels") return QuickKernels(args);
        if (args.Length > 0 && args[0] == "step") return QuickStep(args);
        if (args.Length > 0 && args[0] == "winograd") return WinogradAb(args);
        if (args.Length > 0 && args[0] == "e2e") return EndToEnd.Run(args);
        if (args.Length > 0 && args[0] == "models") return Models.ModelsMode.Run(args);
        if (args.Length > 0 && args[0] == "plan-ab") return Models.PlanAb.Run(args);
        if (args.Length > 0 && args[0] == "conv1d-ab") return Models.Conv1dAb.Run(args);
        if (args.Length > 0 && args[0] == "chain-ab") return Models.ChainAb.Run(args);
        if (args.Length > 0 && args[0] == "wg-ab") return Models.WeightGradAb.Run(args);
        if (args.Length > 0 && args[0] == "rowtiles-ab") return Models.RowTilesAb.Run(args);
        if (args.Length > 0 && args[0] == "stage-kernels") return Models.StageKernelsAb.Run(args);
        if (args.Length > 0 && args[0] == "onnx") return QuickOnnx(args);
        if (args.Length > 0 && args[0] == "dwconv-ab") return DepthwiseAb.Run(args);
        if (args.Length > 0 && args[0] == "bands-ab") return BandsAb.Run(args);
        if (args.Length > 0 && args[0] == "onnx-plan-ab") return Models.OnnxPlanAb.Run(args);
        if (args.Length > 0 && args[0] == "batch-wino") return Models.BatchWinogradBench.Run(args);
        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    private static int QuickStep(string[] args)
    {
        int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        var (images, labels) = SyntheticConvNet.Batch(100);
        // The tutorial's ConvNet on the compiled executor (what Trainer runs): training plan and eval plan.
        var model = new CnnSharp.Models.ConvNet(10, new Generator(1));
        var engine = model.Compile(100, 1, 28, 28);
        for (int t = 1; t <= threads; t++)
        {
            CnnSharp.Kernels.Parallelism.MaxThreads = t;
            for (int i = 0; i < 20; i++) engine.TrainStep(images, labels);
            double best = double.MaxValue, bestInf = double.MaxValue;
            long alloc0 = GC.GetAllocatedBytesForCurrentThread();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            for (int r = 0; r < 30; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                engine.TrainStep(images, labels);
                best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / 30;
            string bestCpu = "";
            if (t == 1)
            {
                // One thread runs the step on the calling thread: its best thread-CPU time ignores time spent descheduled.
                double b = double.MaxValue;
                for (int r = 0; r < 30; r++)
                {
                    double c0 = CpuClock.Seconds();
                    engine.TrainStep(images, labels);
                    b = Math.Min(b, CpuClock.Seconds() - c0);
                }
                bestCpu = $", best thread-CPU time per step {b * 1e3:F3} ms";
            }
            Console.WriteLine($"   cpu time per step {cpu * 1e3:F3} ms{bestCpu}");
            long alloc = (GC.GetAllocatedBytesForCurrentThread() - alloc0) / 30;
            model.Eval();
            using (CnnSharp.Autograd.GradMode.NoGrad())
            {
                for (int r = 0; r < 33; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    engine.Forward(images);
                    if (r >= 3) bestInf = Math.Min(bestInf, Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
            }
            model.Train();
            Console.WriteLine($"{t} thr: train step {best * 1e3:F3} ms ({16.401e6 * 100 / best / 1e9:F1} GFLOP/s, {best * 600:F2} s/epoch), {alloc} B/step; eval b100 {bestInf * 1e3:F3} ms ({100 / bestInf:F0} img/s)");
        }
        return 0;
    }

    // Direct vs Winograd F(2x2,5x5) for conv2's forward and input gradient, batch 100 on one thread: rounds interleave the
    // four workloads, each keeps its best thread-CPU time, so a noisy neighbour slows both sides alike.
    private static int WinogradAb(string[] args)
    {
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
        var all = ConvWorkload.All(100, 1);
        string[] names = ["conv2 fwd (16->32, 5x5, 14x14)", "conv2 fwd Winograd F(2x2,5x5)", "conv2 dX", "conv2 dX Winograd F(2x2,5x5)"];
        var work = Array.ConvertAll(names, n => all.Single(w => w.Name == n));
        var best = new double[work.Length];
        Array.Fill(best, double.MaxValue);
        foreach (var w in work) w.Run(1);
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < work.Length; i++)
            {
                double t0 = CpuClock.Seconds();
                work[i].Run(1);
                best[i] = Math.Min(best[i], CpuClock.Seconds() - t0);
            }
        for (int i = 0; i < work.Length; i++)
            Console.WriteLine($"{work[i].Name,-36} best of {rounds}: {best[i] * 1e3,7:F3} ms CPU {work[i].Flops / best[i] / 1e9,7:F1} GFLOP/s (effective)");
        Console.WriteLine($"speedup forward {best[0] / best[1]:F2}x, input gradient {best[2] / best[3]:F2}x (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        return 0;
    }

    // onnx <model.onnx> [threads]: OnnxSession.Run on the model's declared input shape, alone in the process (no peer
    // runtime), wall clock and process CPU per run, best and median of 15 rounds of >= 50 ms.
    private static int QuickOnnx(string[] args)
    {
        var session = CnnSharp.Onnx.OnnxSession.Load(args[1]);
        int threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        var dims = session.Model.Graph.RuntimeInputs[0].FixedShape()!;
        var input = Tensor.FromArray(Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b)).Select(i => (float)Math.Sin(i)).ToArray(), dims);
        for (int t = 1; t <= threads; t++)
        {
            CnnSharp.Kernels.Parallelism.MaxThreads = t;
            for (int i = 0; i < 20; i++) session.Run(input);
            int reps = 1;
            while (true)
            {
                long s0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < reps; i++) session.Run(input);
                if (Stopwatch.GetElapsedTime(s0).TotalMilliseconds >= 50) break;
                reps *= 2;
            }
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            int g0 = GC.CollectionCount(0), g2 = GC.CollectionCount(2);
            session.Run(input);
            Console.WriteLine($"   one run allocates {GC.GetAllocatedBytesForCurrentThread() - a0} B on the calling thread");
            var walls = new List<double>();
            var cpus = new List<double>();
            for (int r = 0; r < 15; r++)
            {
                var c0 = Process.GetCurrentProcess().TotalProcessorTime;
                long s0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < reps; i++) session.Run(input);
                walls.Add(Stopwatch.GetElapsedTime(s0).TotalMilliseconds / reps);
                cpus.Add((Process.GetCurrentProcess().TotalProcessorTime - c0).TotalMilliseconds / reps);
            }
            walls.Sort();
            cpus.Sort();
            Console.WriteLine($"{t} thr: batch {dims[0]} median {walls[7]:F4} ms, best {walls[0]:F4} ms, process CPU {cpus[7]:F4} ms per run; gen0 GCs {GC.CollectionCount(0) - g0}, gen2 {GC.CollectionCount(2) - g2}");
        }
        return 0;
    }

    private static int QuickKernels(string[] args)
    {
        int threads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        Console.WriteLine($"FMA peak 1 thread {FmaPeak.Measure(1):F1} GFLOP/s, {threads} threads {FmaPeak.Measure(threads):F1}");
        FmaPeak.Loop(1000);
        double c0 = CpuClock.Seconds();
        FmaPeak.Loop(20_000_000);
        double c1 = CpuClock.Seconds() - c0;
        Console.WriteLine($"FMA peak per CPU-second (1 thread): {FmaPeak.Flops(20_000_000) / c1 / 1e9:F1} GFLOP/s");
        string? only = args.Length > 2 ? args[2] : null; // optional: run only the workloads whose name contains this
        foreach (var w in ConvWorkload.All(100, threads))
        {
            if (only != null && !w.Name.Contains(only, StringComparison.OrdinalIgnoreCase)) continue;
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
                string cpuRate = "";
                if (t == 1)
                {
                    double cpuBest = double.MaxValue;
                    for (int r = 0; r < 10; r++)
                    {
                        double t0 = CpuClock.Seconds();
                        w.Run(1);
                        cpuBest = Math.Min(cpuBest, CpuClock.Seconds() - t0);
                    }
                    cpuRate = $" ({w.Flops / cpuBest / 1e9:F1} per CPU-second)";
                }
                Console.WriteLine($"{w.Name,-36} {t} thr {best * 1e3,8:F3} ms {w.Flops / best / 1e9,7:F1} GFLOP/s{cpuRate}");
            }
        }
        foreach (var (m, n, k) in new[] { (1024, 1024, 1024), (19_600, 32, 400) })
        {
            if (only != null) break;
            var rng = new Random(1);
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
            for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble();
            for (int t = 1; t <= threads; t++)
            {
                CnnSharp.Kernels.Parallelism.MaxThreads = t;
                CnnSharp.Kernels.Gemm.Multiply(false, false, m, n, k, a, k, b, n, c, n, accumulate: false);
                double best = double.MaxValue, cpuBest = double.MaxValue;
                for (int r = 0; r < 5; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    double g0 = CpuClock.Seconds();
                    CnnSharp.Kernels.Gemm.Multiply(false, false, m, n, k, a, k, b, n, c, n, accumulate: false);
                    cpuBest = Math.Min(cpuBest, CpuClock.Seconds() - g0);
                    best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                double flops = 2.0 * m * n * k;
                string cpuRate = t == 1 ? $" ({flops / cpuBest / 1e9:F1} per CPU-second)" : "";
                Console.WriteLine($"{$"GEMM {m}x{n}x{k}",-36} {t} thr {best * 1e3,8:F3} ms {flops / best / 1e9,7:F1} GFLOP/s{cpuRate}");
            }
        }
        return 0;
    }
}
