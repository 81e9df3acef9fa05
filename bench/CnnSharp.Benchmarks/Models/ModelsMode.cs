using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CnnSharp.Kernels;

namespace CnnSharp.Benchmarks.Models;

/// <summary>
/// <c>models</c> mode: one model of <c>bench/compare-models.sh</c> in this process (so peak RSS is that model's), on
/// synthetic data: the median training-step time (forward, cross-entropy, backward, Adam) after a warm-up that lasts until
/// the JIT has settled (<see cref="JitWarmup"/>; at least <c>--warmup</c> steps), the median
/// eval forward at the same batch, the managed bytes allocated per steady-state step (all threads), gen-0/1/2 collections
/// per step, and peak RSS. Prints one JSON object, field names shared with <c>bench/peers/pytorch_models.py</c>.
/// </summary>
/// <remarks>
/// <c>models --model NAME [--threads 2] [--steps 20] [--warmup 3] [--seed 1] [--compiled] [--profile]</c>; NAME is one of
/// <see cref="ModelWorkload.All"/>. Without <c>--compiled</c> each model runs on its default path (the Module API on the
/// autograd engine). <c>--profile</c> also prints the compiled training
/// plan's per-op forward/backward times (<see cref="CompiledModel.Profile"/>) to stderr.
/// </remarks>
internal static class ModelsMode
{
    public static int Run(string[] args)
    {
        try
        {
            return Measure(args);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or FormatException)
        {
            Console.Error.WriteLine($"models: {e.Message}");
            return 2;
        }
    }

    private static int Measure(string[] args)
    {
        string? name = null;
        int threads = 2, steps = 20, warmup = 3;
        ulong seed = 1;
        bool compiled = false, profile = false;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Positive() => int.Parse(Next(), CultureInfo.InvariantCulture) is var v and > 0 ? v : throw new ArgumentException($"{args[i - 1]} must be positive");
            switch (args[i])
            {
                case "--model": name = Next(); break;
                case "--threads": threads = Positive(); break;
                case "--steps": steps = Positive(); break;
                case "--warmup": warmup = Positive(); break;
                case "--seed": seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--compiled": compiled = true; break;
                case "--profile": profile = true; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        var workload = ModelWorkload.Find(name ?? throw new ArgumentException("--model is required"));
        var path = compiled ? ExecutionPath.Compiled : workload.DefaultPath;
        Parallelism.MaxThreads = threads;

        var generator = new Generator(seed);
        var model = workload.Create(generator);
        var work = ModelSteps.Build(model, path, workload.InputShape);
        var input = Tensor.Randn(generator, workload.InputShape);
        var labels = new int[workload.Batch];
        for (int i = 0; i < labels.Length; i++) labels[i] = generator.NextInt(10);

        model.Train();
        float firstLoss = work.Step(input, labels), lastLoss = firstLoss;
        int warmSteps = 1 + JitWarmup.Run(() => lastLoss = work.Step(input, labels), warmup - 1);
        var stepMs = new double[steps];
        int[] gc0 = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            lastLoss = work.Step(input, labels);
            stepMs[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        double bytesPerStep = (GC.GetTotalAllocatedBytes(precise: true) - bytes0) / (double)steps;
        double[] gcPerStep = [.. Enumerable.Range(0, 3).Select(g => (GC.CollectionCount(g) - gc0[g]) / (double)steps)];

        model.Eval();
        JitWarmup.Run(() => work.Eval(input), warmup);
        var evalMs = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            work.Eval(input);
            evalMs[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        var result = new Dictionary<string, object>
        {
            ["peer"] = "cnnsharp " + Isa.Level,
            ["model"] = workload.Name,
            ["path"] = path.ToString().ToLowerInvariant(),
            ["threads"] = threads,
            ["batch"] = workload.Batch,
            ["train_step_ms"] = ProcessStats.Median(stepMs),
            ["eval_ms"] = ProcessStats.Median(evalMs),
            ["managed_bytes_per_step"] = bytesPerStep,
            ["gc_per_step"] = gcPerStep,
            ["peak_rss_mib"] = ProcessStats.PeakRssMib(),
            ["loss_first"] = firstLoss,
            ["loss_last"] = lastLoss,
            ["warmup_steps"] = warmSteps,
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        if (profile)
        {
            // Per fused op of the compiled training plan, to stderr so the JSON line stays machine-readable.
            model.Train();
            Console.Error.WriteLine(model.Compile(workload.InputShape).Profile(input, labels));
        }
        return 0;
    }
}
