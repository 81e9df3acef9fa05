using BenchmarkDotNet.Attributes;

namespace CnnSharp.Benchmarks.Kernels;

/// <summary>
/// Every direct-convolution pass of the seed ConvNet at batch 100 (and a ResNet-style 3x3 64->64 layer at batch 32), on
/// 1 and 2 threads of the worker pool. Reported GFLOP/s = <see cref="ConvWorkload.Flops"/> / mean time; compare with
/// <see cref="FmaPeakBenchmarks"/> from the same run.
/// </summary>
[Config(typeof(GflopsConfig))]
public class ConvBenchmarks
{
    private ConvWorkload[] _workloads = [];

    /// <summary>Which pass (index into <see cref="ConvWorkload.All"/>).</summary>
    [ParamsSource(nameof(Passes))]
    public string Pass { get; set; } = "";

    /// <summary>Threads of the worker pool.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>The pass names.</summary>
    public static IEnumerable<string> Passes => ConvWorkload.All(1, 1).Select(w => w.Name);

    /// <summary>Plans buffers.</summary>
    [GlobalSetup]
    public void Setup() => _workloads = ConvWorkload.All(100, 2);

    /// <summary>One pass over the batch.</summary>
    [Benchmark]
    public void Run() => _workloads.First(w => w.Name == Pass).Run(Threads);
}

/// <summary>The FMA loop that defines the machine's peak, on 1 and 2 threads.</summary>
[Config(typeof(GflopsConfig))]
public class FmaPeakBenchmarks
{
    private const long Iterations = 2_000_000;

    /// <summary>Threads of the worker pool.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Runs the loop on every thread.</summary>
    [Benchmark]
    public void Fma() => CnnSharp.Kernels.WorkerPool.Shared.Run(Threads, static _ => FmaPeak.Loop(Iterations));

    /// <summary>FLOPs of one <see cref="Fma"/> call on one thread.</summary>
    public static double FlopsPerThread => FmaPeak.Flops(Iterations);
}

/// <summary>The library's packed GEMM (general path: linear layers, im2col convolutions) at 1024^3 and the seed's conv2 im2col shape.</summary>
[Config(typeof(GflopsConfig))]
public class GemmBenchmarks
{
    private float[] _a = [], _b = [], _c = [];

    /// <summary>Problem: "1024" (1024x1024x1024) or "conv2" (M=19,600 pixels, N=32, K=400).</summary>
    [Params("1024", "conv2")]
    public string Shape { get; set; } = "";

    /// <summary>Threads (Parallelism.MaxThreads).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    private (int M, int N, int K) Dims => Shape == "1024" ? (1024, 1024, 1024) : (19_600, 32, 400);

    /// <summary>Allocates operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var (m, n, k) = Dims;
        var rng = new Random(1);
        _a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble()).ToArray();
        _b = Enumerable.Range(0, k * n).Select(_ => (float)rng.NextDouble()).ToArray();
        _c = new float[m * n];
        CnnSharp.Kernels.Parallelism.MaxThreads = Threads;
    }

    /// <summary>C = A * B.</summary>
    [Benchmark]
    public void Multiply()
    {
        var (m, n, k) = Dims;
        CnnSharp.Kernels.Gemm.Multiply(false, false, m, n, k, _a, k, _b, n, _c, n, accumulate: false);
    }
}
