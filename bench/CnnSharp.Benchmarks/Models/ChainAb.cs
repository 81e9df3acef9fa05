using System.Diagnostics;
using System.Globalization;
using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Modules;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>chain-ab</c> mode: the compiled training step of a model with conv chains' Winograd stages taking their weight
/// gradient directly (A, the former path) and in the Winograd domain (B, <see cref="WinogradWeightGrad"/>), in one process,
/// alternating A and B every round. Prints the medians of process CPU time and wall time per step, then each variant's
/// per-op forward/backward profile (wall ms, two alternating profiles each).
/// </summary>
/// <remarks><c>chain-ab [--model vgg_small|resnet8|convnet] [--threads 2] [--rounds 10]</c>; the workloads of <c>models</c>.</remarks>
internal static class ChainAb
{
    public static int Run(string[] args)
    {
        string name = "vgg_small";
        int threads = 2, rounds = 10;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": name = Next(); break;
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"chain-ab: unknown option {args[i]}"); return 2;
            }
        }
        var workload = ModelWorkload.Find(name);
        int[] shape = workload.InputShape;
        Parallelism.MaxThreads = threads;
        var generator = new Generator(1);
        var input = Tensor.Randn(generator, shape);
        var labels = new int[shape[0]];
        for (int i = 0; i < labels.Length; i++) labels[i] = generator.NextInt(10);

        // Each variant's plan is built while the switch has its value; a plan never rebuilds.
        var variants = new List<(Module Model, CompiledModel Compiled)>();
        foreach (bool winograd in new[] { false, true })
        {
            WinogradWeightGrad.Enabled = winograd;
            var model = workload.Create(new Generator(2));
            model.Train();
            var compiled = model.Compile(shape);
            for (int i = 0; i < 3; i++) compiled.TrainStep(input, labels);
            variants.Add((model, compiled));
        }
        WinogradWeightGrad.Enabled = true;

        var wall = new double[2][];
        var cpu = new double[2][];
        for (int v = 0; v < 2; v++) (wall[v], cpu[v]) = (new double[rounds], new double[rounds]);
        var process = Process.GetCurrentProcess();
        for (int r = -2; r < rounds; r++)
            for (int v = 0; v < 2; v++)
            {
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                long t0 = Stopwatch.GetTimestamp();
                variants[v].Compiled.TrainStep(input, labels);
                double tw = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                process.Refresh();
                if (r < 0) continue;
                wall[v][r] = tw;
                cpu[v][r] = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
            }
        Console.WriteLine($"{name} batch {shape[0]}, {threads} threads, {rounds} alternating rounds, ISA {Isa.Level}, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        double ca = ProcessStats.Median(cpu[0]), cb = ProcessStats.Median(cpu[1]), wa = ProcessStats.Median(wall[0]), wb = ProcessStats.Median(wall[1]);
        Console.WriteLine($"median process CPU per train step A (direct dW) {ca:F1} ms, B (Winograd dW) {cb:F1} ms, B/A {cb / ca:F3}");
        Console.WriteLine($"median wall per train step A {wa:F1} ms, B {wb:F1} ms, B/A {wb / wa:F3}");
        PrintBackwardPasses([.. variants.Select(v => v.Compiled)], ["A", "B"], input, labels);
        for (int i = 0; i < 2; i++)
            for (int v = 0; v < 2; v++)
            {
                Console.WriteLine(v == 0 ? "A (direct dW) profile:" : "B (Winograd dW) profile:");
                Console.WriteLine(variants[v].Compiled.Profile(input, labels, steps: 5));
            }
        return 0;
    }

    /// <summary>
    /// Per pass of every chain's backward (all chains of a model added up by stage index, <see cref="ConvChainOp.PassNames"/>),
    /// thread CPU ms per step over 5 steps of each variant.
    /// </summary>
    internal static void PrintPasses(string title, string[] passes, long[] ticks)
    {
        Console.WriteLine(title);
        for (int s = 0; s < 8; s++)
        {
            var row = passes.Select((n, p) => (n, ms: ticks[s * passes.Length + p] / 1e6 / 5)).ToArray();
            if (row.All(r => r.ms == 0)) continue;
            Console.WriteLine($"  stage {s}: " + string.Join(", ", row.Select(r => $"{r.n} {r.ms:F2}")));
        }
    }

    // select: a run-time switch's setter (plan-ab's s_select), called with the variant's index before its steps, or null.
    internal static void PrintBackwardPasses(IReadOnlyList<CompiledModel> variants, string[] names, Tensor input, int[] labels, Action<int>? select = null)
    {
        for (int v = 0; v < variants.Count; v++)
        {
            select?.Invoke(v);
            var ticks = new long[8 * ConvChainOp.PassNames.Length];
            var forward = new long[8 * ConvChainOp.ForwardPassNames.Length];
            ConvChainOp.PassTicks = ticks;
            ConvChainOp.ForwardPassTicks = forward;
            ConvChainOp.PassClock = () => (long)(CpuClock.Seconds() * 1e9);
            for (int i = 0; i < 5; i++) variants[v].TrainStep(input, labels);
            ConvChainOp.PassTicks = null;
            ConvChainOp.ForwardPassTicks = null;
            ConvChainOp.PassClock = Stopwatch.GetTimestamp;
            PrintPasses($"{names[v]} forward passes, thread CPU ms per step summed over threads (phase: the calling thread's CPU over the phase, spinning included):",
                ConvChainOp.ForwardPassNames, forward);
            Console.WriteLine($"{names[v]} backward passes, thread CPU ms per step summed over threads (phase: the calling thread's CPU over the phase, spinning included):");
            for (int s = 0; s < 8; s++)
            {
                var row = ConvChainOp.PassNames.Select((n, p) => (n, ms: ticks[s * ConvChainOp.PassNames.Length + p] / 1e6 / 5)).ToArray();
                if (row.All(r => r.ms == 0)) continue;
                Console.WriteLine($"  stage {s}: " + string.Join(", ", row.Select(r => $"{r.n} {r.ms:F2}")));
            }
        }
    }
}
