using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using CnnSharp.Data;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Optimizers;

namespace CnnSharp.Benchmarks;

/// <summary>
/// <c>e2e</c> mode: the workload of <c>bench/peers/pytorch_convnet.py</c> in CnnSharp. Trains the seed ConvNet on real
/// MNIST (batch 100, Adam lr 1e-3, shuffled) with the fused engine, then measures eval throughput at batch 100 and
/// single-image latency on one thread, and prints one JSON object (same field names as the peer).
/// </summary>
internal static class EndToEnd
{
    public static int Run(string[] args)
    {
        int threads = 2, epochs = 1, evalRounds = 3;
        ulong seed = 1;
        string? data = null;
        for (int i = 1; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--eval-rounds": evalRounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": data = Next(); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        Parallelism.MaxThreads = threads;
        var mnist = Mnist.Load(data, fetch: true);
        var model = new ConvNet(10, new Generator(seed));
        var optimizer = new Adam(model.Parameters(), 0.001f);
        var engine = model.Compile(100, 1, 28, 28);
        var loader = new DataLoader(mnist.Train, 100, shuffle: true, seed: seed, reuseBuffers: true);

        var epochTimes = new List<double>();
        // Steady state starts after 10 steps (the engine plans its buffers on the first one); the loop figure adds the
        // loader (its per-epoch shuffled index array, 240 KB, amortised over the epoch's steps).
        long stepBytes = 0, steps = 0, loopMark = 0;
        for (int e = 0; e < epochs; e++)
        {
            var clock = Stopwatch.StartNew();
            foreach (var batch in loader.Batches(e))
            {
                long s0 = GC.GetAllocatedBytesForCurrentThread();
                if (steps == 10) loopMark = s0;
                engine.TrainStep(batch.Images, batch.Labels);
                optimizer.Step();
                if (steps >= 10) stepBytes += GC.GetAllocatedBytesForCurrentThread() - s0;
                steps++;
            }
            epochTimes.Add(clock.Elapsed.TotalSeconds);
        }

        double loopBytesPerStep = (GC.GetAllocatedBytesForCurrentThread() - loopMark) / (double)Math.Max(1, steps - 10);
        model.Eval();
        using var noGrad = CnnSharp.Autograd.GradMode.NoGrad();
        int testCount = mnist.Test.Count;
        var images = new float[testCount * 784];
        var labels = new int[testCount];
        var all = new int[testCount];
        for (int i = 0; i < testCount; i++) all[i] = i;
        mnist.Test.Fill(all, images, labels);
        var logits = new float[testCount * 10];
        var evalTimes = new List<double>();
        for (int r = 0; r < evalRounds; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < testCount; i += 100)
            {
                int n = Math.Min(100, testCount - i);
                engine.Forward(Tensor.FromArray(images.AsSpan(i * 784, n * 784), n, 1, 28, 28)).Data.CopyTo(logits.AsSpan(i * 10, n * 10));
            }
            evalTimes.Add(clock.Elapsed.TotalSeconds);
        }
        int correct = 0;
        for (int i = 0; i < testCount; i++)
        {
            int best = 0;
            for (int k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
            if (best == labels[i]) correct++;
        }

        Parallelism.MaxThreads = 1;
        var one = new float[10];
        for (int i = 0; i < 200; i++) engine.Forward(Tensor.FromArray(images.AsSpan(0, 784), 1, 1, 28, 28)).Data.CopyTo(one);
        var latency = new double[1000];
        for (int i = 0; i < latency.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            engine.Forward(Tensor.FromArray(images.AsSpan(i * 784, 784), 1, 1, 28, 28)).Data.CopyTo(one);
            latency[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        var result = new Dictionary<string, object>
        {
            ["peer"] = "cnnsharp " + SimdLabel(),
            ["threads"] = threads,
            ["epoch_s"] = ProcessStats.Median(epochTimes),
            ["eval_img_s"] = testCount / ProcessStats.Median(evalTimes),
            ["b1_ms"] = ProcessStats.Median(latency),
            ["peak_rss_mib"] = ProcessStats.PeakRssMib(),
            ["test_acc"] = correct / (double)testCount,
            ["managed_bytes_per_step"] = steps > 10 ? stepBytes / (double)(steps - 10) : double.NaN,
            ["managed_bytes_per_step_with_loader"] = loopBytesPerStep,
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    private static string SimdLabel() => CnnSharp.Kernels.Isa.Level.ToString();
}
