using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using CnnSharp.Kernels;

namespace CnnSharp.OrtPeer;

/// <summary>
/// Single-thread kernel efficiency next to the FMA peak measured in the same run, timed in thread CPU time (so time the
/// thread spends descheduled on a shared machine does not count) and reported as the best of several repetitions.
/// </summary>
internal static unsafe partial class KernelBench
{
    public static void Run(int reps)
    {
        Parallelism.MaxThreads = 1;
        Console.WriteLine($"Kernel efficiency, 1 thread, SIMD {Isa.Level}, best of {reps} (thread CPU time)");
        double peak = FmaPeak(reps);
        Console.WriteLine($"  FMA loop peak (Vector256, 12 chains): {peak:F1} GFLOP/s");
        Console.WriteLine();
        Console.WriteLine("| kernel | shape | ms | GFLOP/s | % of peak |");
        Console.WriteLine("|---|---|---:|---:|---:|");

        // GEMMs shaped like ResNet-18's convolutions lowered per image (M = out channels, N = pixels, K = taps), plus a square one.
        (int M, int N, int K, string Label)[] gemms =
        [
            (512, 512, 512, "square"),
            (64, 3136, 576, "layer1 3x3"),
            (128, 784, 1152, "layer2 3x3"),
            (256, 196, 2304, "layer3 3x3"),
            (512, 49, 4608, "layer4 3x3"),
            (64, 12544, 147, "conv1 7x7/2"),
            (32, 196, 400, "seed conv2"),
        ];
        foreach (var (m, n, k, label) in gemms)
        {
            var a = Random(m * k, 1);
            var b = Random(k * n, 2);
            var c = new float[m * n];
            double s = Best(reps, () => Gemm.Multiply(false, false, m, n, k, a, k, b, n, c, n, accumulate: false, parallel: false));
            Row($"Gemm {label}", $"{m}x{n}x{k}", s, 2.0 * m * n * k, peak);
        }

        // Whole convolutions (im2col or direct path, as Conv2dKernels chooses) for one image.
        (int C, int H, int K, int R, int S, int P, string Label)[] convs =
        [
            (64, 56, 64, 3, 1, 1, "layer1 3x3"),
            (128, 28, 128, 3, 1, 1, "layer2 3x3"),
            (256, 14, 256, 3, 1, 1, "layer3 3x3"),
            (512, 7, 512, 3, 1, 1, "layer4 3x3"),
            (64, 56, 128, 1, 2, 0, "downsample 1x1/2"),
            (3, 224, 64, 7, 2, 3, "conv1 7x7/2"),
            (16, 14, 32, 5, 1, 2, "seed conv2"),
            (1, 28, 16, 5, 1, 2, "seed conv1"),
        ];
        foreach (var (ch, hw, kOut, r, stride, pad, label) in convs)
        {
            var g = Conv2dGeometry.Create([1, ch, hw, hw], [kOut, ch, r, r], (stride, stride), (pad, pad, pad, pad), (1, 1), 1, "bench");
            var x = Random(ch * hw * hw, 3);
            var w = Random(kOut * ch * r * r, 4);
            var bias = Random(kOut, 5);
            var y = new float[kOut * g.OutH * g.OutW];
            double flops = 2.0 * kOut * ch * r * r * g.OutH * g.OutW;
            double s = Best(reps, () => Conv2dKernels.Forward(x, w, bias, y, g));
            Row($"Conv {label} (Conv2dKernels.Forward, packs per call)", $"{ch}->{kOut} {hw}x{hw}", s, flops, peak);
            var packed = new PackedConvWeights(w, kOut, ch, r, r, 1, Isa.Level);
            s = Best(reps, () => ConvGemm.Forward(x, packed, bias, y, g, relu: true));
            Row($"Conv {label} (ConvGemm, prepacked)", $"{ch}->{kOut} {hw}x{hw}", s, flops, peak);
        }

        // MobileNet-v2's RGB stem (3->32 3x3/2, ReLU6): the packed GEMM against the direct stem kernel (inference plans' choice).
        {
            var g = Conv2dGeometry.Create([1, 3, 224, 224], [32, 3, 3, 3], (2, 2), (1, 1, 1, 1), (1, 1), 1, "bench");
            var x = Random(3 * 224 * 224, 3);
            var w = Random(32 * 27, 4);
            var bias = Random(32, 5);
            var y = new float[32 * g.OutH * g.OutW];
            double flops = 2.0 * 32 * 27 * g.OutH * g.OutW;
            var packed = new PackedConvWeights(w, 32, 3, 3, 3, 1, Isa.Level);
            double s = Best(reps, () => ConvGemm.Forward(x, packed, bias, default, y, g, relu: true, 1, long.MaxValue, 6f));
            Row("Conv mobilenet stem 3x3/2 (ConvGemm, prepacked)", "3->32 224x224", s, flops, peak);
            s = Best(reps, () => StemConv3x3S2.Forward(x, w, bias, y, g, 0f, 6f, Isa.Level, 1));
            Row("Conv mobilenet stem 3x3/2 (StemConv3x3S2)", "3->32 224x224", s, flops, peak);
            StemConv3x3S2.UnrolledTaps = false;
            s = Best(reps, () => StemConv3x3S2.Forward(x, w, bias, y, g, 0f, 6f, Isa.Level, 1));
            StemConv3x3S2.UnrolledTaps = true;
            Row("Conv mobilenet stem 3x3/2 (StemConv3x3S2, kx taps looped)", "3->32 224x224", s, flops, peak);
        }

        // Max pooling: ResNet-18's stem pool and the seed's 2x2 pools (bandwidth-bound: reported in GB/s of input read).
        (int C, int H, int KSize, int Stride, int Pad, string Label)[] pools =
        [
            (64, 112, 3, 2, 1, "resnet 3x3/2"),
            (16, 28, 2, 2, 0, "seed pool1"),
            (32, 14, 2, 2, 0, "seed pool2"),
        ];
        foreach (var (ch, hw, ks, stride, pad, label) in pools)
        {
            var g = Pool2dGeometry.Create([1, ch, hw, hw], (ks, ks), (stride, stride), (pad, pad, pad, pad), (1, 1), false, "bench");
            var x = Random(ch * hw * hw, 6);
            var y = new float[ch * g.OutH * g.OutW];
            var arg = new int[y.Length];
            double s = Best(reps, () => Pool2dKernels.MaxForward(x, y, arg, g));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| MaxPool {label} (with argmax) | {ch}x{hw}x{hw} | {s * 1000:F4} | {x.Length * 4.0 / s / 1e9:F1} GB/s read | - |"));
            s = Best(reps, () => Pool2dKernels.MaxForward(x, y, Span<int>.Empty, g));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| MaxPool {label} (no argmax) | {ch}x{hw}x{hw} | {s * 1000:F4} | {x.Length * 4.0 / s / 1e9:F1} GB/s read | - |"));
        }
    }

    /// <summary>
    /// Cache-block tuning for the packed convolution: every (MC, KC, NC) candidate on ResNet-18's layer shapes, candidates
    /// interleaved round by round (so a load change on the shared machine hits all of them alike), best of the rounds.
    /// </summary>
    public static void Tune(int rounds, string? spec, bool cold = false)
    {
        Parallelism.MaxThreads = 1;
        var level = Isa.Level;
        var d = ConvGemm.BlockingFor(level);
        var candidates = (spec ?? "96:256:256,96:576:128,96:768:128,96:384:128,96:576:64,96:1152:64,48:576:128,96:576:256")
            .Split(',').Select(c => c.Split(':').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray())
            .Select(v => d with { MC = v[0], KC = v[1], NC = v[2] }).ToArray();
        (int C, int H, int K, int R, int S, int P, string Label)[] convs =
        [
            (64, 56, 64, 3, 1, 1, "layer1"), (128, 28, 128, 3, 1, 1, "layer2"), (256, 14, 256, 3, 1, 1, "layer3"),
            (512, 7, 512, 3, 1, 1, "layer4"), (3, 224, 64, 7, 2, 3, "conv1"), (16, 14, 32, 5, 1, 2, "seed2"),
        ];
        double peak = FmaPeak(5);
        Console.WriteLine($"ConvGemm blocking, {level}, 1 thread, best of {rounds} interleaved rounds, % of the {peak:F0} GFLOP/s FMA peak{(cold ? ", weights cold (8 copies in turn)" : "")}");
        Console.WriteLine("| MC:KC:NC | " + string.Join(" | ", convs.Select(c => c.Label)) + " |");
        Console.WriteLine("|---|" + string.Concat(convs.Select(_ => "---:|")));
        var best = new double[candidates.Length, convs.Length];
        for (int ci = 0; ci < candidates.Length; ci++) for (int k = 0; k < convs.Length; k++) best[ci, k] = double.MaxValue;
        var setups = convs.Select(c =>
        {
            var g = Conv2dGeometry.Create([1, c.C, c.H, c.H], [c.K, c.C, c.R, c.R], (c.S, c.S), (c.P, c.P, c.P, c.P), (1, 1), 1, "tune");
            var w = Random(c.K * c.C * c.R * c.R, 4);
            // Cold: 8 copies of the packed weights per candidate, used in turn, so (like a network's 46 MB of ResNet-18
            // weights) they come from memory rather than from the L3 cache.
            int copies = cold ? 8 : 1;
            return (g, x: Random(c.C * c.H * c.H, 3), w, b: Random(c.K, 5), y: new float[c.K * g.OutH * g.OutW],
                packs: candidates.Select(blk => Enumerable.Range(0, copies).Select(_ => new PackedConvWeights(w, c.K, c.C, c.R, c.R, 1, level, blk)).ToArray()).ToArray());
        }).ToArray();
        for (int r = 0; r < rounds; r++)
        {
            for (int k = 0; k < convs.Length; k++)
            {
                var su = setups[k];
                for (int ci = 0; ci < candidates.Length; ci++)
                {
                    var copies = su.packs[ci];
                    int turn = 0;
                    Action run = () => ConvGemm.Forward(su.x, copies[turn++ % copies.Length], su.b, su.y, su.g, relu: false);
                    if (r == 0) run();
                    best[ci, k] = Math.Min(best[ci, k], ThreadSeconds(run, 3));
                }
            }
        }
        for (int ci = 0; ci < candidates.Length; ci++)
        {
            var c = candidates[ci];
            var cells = Enumerable.Range(0, convs.Length).Select(k => 100 * 2.0 * setups[k].g.Macs / best[ci, k] / 1e9 / peak);
            Console.WriteLine($"| {c.MC}:{c.KC}:{c.NC} | " + string.Join(" | ", cells.Select(v => v.ToString("F0", CultureInfo.InvariantCulture) + "%")) + " |");
        }
    }

    /// <summary>Wall-clock speed-up of the packed convolution on 2 threads for one image (best of many runs each).</summary>
    public static void Scaling(int rounds)
    {
        Parallelism.MaxThreads = 2;
        (int C, int H, int K, int R, int S, int P, string Label)[] convs =
        [
            (64, 56, 64, 3, 1, 1, "layer1"), (128, 28, 128, 3, 1, 1, "layer2"), (256, 14, 256, 3, 1, 1, "layer3"),
            (512, 7, 512, 3, 1, 1, "layer4"), (3, 224, 64, 7, 2, 3, "conv1"), (16, 14, 32, 5, 1, 2, "seed2"),
        ];
        Console.WriteLine($"ConvGemm batch 1, wall clock, best of {rounds} interleaved rounds: 1 vs 2 threads");
        Console.WriteLine("| layer | 1 thread (ms) | 2 threads (ms) | speed-up |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var c in convs)
        {
            var g = Conv2dGeometry.Create([1, c.C, c.H, c.H], [c.K, c.C, c.R, c.R], (c.S, c.S), (c.P, c.P, c.P, c.P), (1, 1), 1, "scaling");
            var w = Random(c.K * c.C * c.R * c.R, 4);
            var x = Random(c.C * c.H * c.H, 3);
            var b = Random(c.K, 5);
            var y = new float[c.K * g.OutH * g.OutW];
            var packed = new PackedConvWeights(w, c.K, c.C, c.R, c.R, 1, Isa.Level);
            double one = double.MaxValue, two = double.MaxValue;
            for (int i = 0; i < 20; i++) ConvGemm.Forward(x, packed, b, y, g, true, 2, 0);
            for (int r = 0; r < rounds; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                ConvGemm.Forward(x, packed, b, y, g, true, 1, 0);
                long t1 = Stopwatch.GetTimestamp();
                ConvGemm.Forward(x, packed, b, y, g, true, 2, 0);
                long t2 = Stopwatch.GetTimestamp();
                one = Math.Min(one, (t1 - t0) / (double)Stopwatch.Frequency);
                two = Math.Min(two, (t2 - t1) / (double)Stopwatch.Frequency);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c.Label} | {one * 1000:F3} | {two * 1000:F3} | {one / two:F2}x |"));
        }
    }

    /// <summary>
    /// MobileNet-v2's depthwise 3x3 layers (and ShuffleNet-v2's stride-2 one) at batch 1 with ReLU6: the direct
    /// <see cref="GroupedConv2d"/> kernel against the per-group packed GEMM it replaced, interleaved, best wall-clock run.
    /// </summary>
    public static void Depthwise(int rounds, int threads)
    {
        (int C, int H, int S)[] layers = [(32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1), (192, 28, 2),
            (384, 14, 1), (576, 14, 1), (576, 14, 2), (960, 7, 1), (232, 14, 2)];
        Console.WriteLine($"depthwise 3x3 + bias + ReLU6, batch 1, {threads} thread(s), best of {rounds} interleaved rounds, SIMD {Isa.Level}");
        Console.WriteLine("| C x H x W, stride | GEMM (ms) | direct (ms) | direct / GEMM |");
        Console.WriteLine("|---|---:|---:|---:|");
        double sumGemm = 0, sumDirect = 0;
        foreach (var (c, h, s) in layers)
        {
            var g = Conv2dGeometry.Create([1, c, h, h], [c, 1, 3, 3], (s, s), (1, 1, 1, 1), (1, 1), c, "depthwise");
            var w = Random(c * 9, 4);
            var x = Random(c * h * h, 3);
            var b = Random(c, 5);
            var y = new float[c * g.OutH * g.OutW];
            var packed = new PackedConvWeights(w, c, 1, 3, 3, c, Isa.Level);
            void Gemm() => ConvGemm.Forward(x, packed, b, default, y, g, true, threads, ConvGemm.ParallelThresholdMacs, 6f);
            void Direct() => GroupedConv2d.Forward(x, w, b, default, y, g, 0f, 6f, Isa.Level, threads, GroupedConv2d.ParallelThresholdMacs);
            for (int i = 0; i < 20; i++)
            {
                Gemm();
                Direct();
            }
            double gemm = double.MaxValue, direct = double.MaxValue;
            for (int r = 0; r < rounds; r++)
            {
                gemm = Math.Min(gemm, WallSeconds(Gemm));
                direct = Math.Min(direct, WallSeconds(Direct));
            }
            sumGemm += gemm;
            sumDirect += direct;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c}x{h}x{h}, s{s} | {gemm * 1000:F3} | {direct * 1000:F3} | {direct / gemm:F2} |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| all | {sumGemm * 1000:F3} | {sumDirect * 1000:F3} | {sumDirect / sumGemm:F2} |"));
    }

    /// <summary>
    /// MobileNet-v2's and ShuffleNet-v2's 1x1 convolutions (+ bias + ReLU6) at <paramref name="batch"/>:
    /// <see cref="PointwiseConv"/> (B read in place) against <see cref="ConvGemm"/>'s packing path, interleaved rounds,
    /// best thread CPU time per call (the calling thread's, so meaningful with one thread).
    /// </summary>
    public static void Pointwise(int rounds, int threads, int batch)
    {
        (int C, int K, int H)[] layers = [(32, 16, 112), (16, 96, 112), (96, 24, 56), (24, 144, 56), (144, 24, 56), (144, 32, 28),
            (32, 192, 28), (192, 32, 28), (192, 64, 14), (64, 384, 14), (384, 64, 14), (384, 96, 14), (96, 576, 14), (576, 96, 14),
            (576, 160, 7), (160, 960, 7), (960, 160, 7), (960, 320, 7), (320, 1280, 7), (24, 58, 56), (58, 58, 28), (116, 116, 28),
            (232, 232, 14), (464, 1024, 7)];
        Console.WriteLine($"1x1 conv + bias + ReLU6, batch {batch}, {threads} thread(s), best of {rounds} interleaved rounds (thread CPU ms), SIMD {Isa.Level}");
        Console.WriteLine("| C -> K at H x W | packing GEMM (ms) | in place (ms) | in place / packing |");
        Console.WriteLine("|---|---:|---:|---:|");
        double sumOld = 0, sumNew = 0;
        foreach (var (c, k, h) in layers)
        {
            var g = Conv2dGeometry.Create([batch, c, h, h], [k, c, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pointwise");
            var x = Random(batch * c * h * h, 3);
            var b = Random(k, 5);
            var y = new float[batch * k * h * h];
            var packed = new PackedConvWeights(Random(k * c, 4), k, c, 1, 1, 1, Isa.Level);
            void Run(bool inPlace)
            {
                ConvGemm.UsePointwise = inPlace;
                ConvGemm.Forward(x, packed, b, default, y, g, true, threads, ConvGemm.ParallelThresholdMacs, 6f);
            }
            double once = Best(1, () => Run(false));
            int inner = Math.Clamp((int)(0.01 / Math.Max(once, 1e-7)), 1, 1000);
            Best(1, () => Run(true));
            double old = double.MaxValue, now = double.MaxValue;
            for (int r = 0; r < rounds; r++)
            {
                old = Math.Min(old, ThreadSeconds(() => Run(false), inner));
                now = Math.Min(now, ThreadSeconds(() => Run(true), inner));
            }
            sumOld += old;
            sumNew += now;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c} -> {k} at {h}x{h} | {old * 1000:F3} | {now * 1000:F3} | {now / old:F2} |"));
        }
        ConvGemm.UsePointwise = true;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| all | {sumOld * 1000:F3} | {sumNew * 1000:F3} | {sumNew / sumOld:F2} |"));
    }

    /// <summary>
    /// Whole models (<paramref name="fixtures"/>/&lt;model&gt;/model.onnx, 3x224x224 input) with 1x1 convolutions in place
    /// vs packed, same session, interleaved rounds, best and median thread CPU per run.
    /// </summary>
    public static void PointwiseModels(string fixtures, int[] batches, int rounds)
    {
        foreach (string model in new[] { "mobilenet_v2", "shufflenet_v2_x1_0" })
        {
            string path = Path.Combine(fixtures, model, "model.onnx");
            if (!File.Exists(path)) continue;
            var session = CnnSharp.Onnx.OnnxSession.Load(path);
            foreach (int batch in batches)
            {
                var input = Tensor.FromArray(Random(batch * 3 * 224 * 224, 6), [batch, 3, 224, 224]);
                void Run(bool inPlace)
                {
                    ConvGemm.UsePointwise = inPlace;
                    session.Run(input);
                }
                for (int i = 0; i < 3; i++)
                {
                    Run(false);
                    Run(true);
                }
                double once = ThreadSeconds(() => Run(false), 1);
                int inner = Math.Clamp((int)(0.1 / Math.Max(once, 1e-6)), 1, 100);
                var old = new List<double>();
                var now = new List<double>();
                for (int r = 0; r < rounds; r++)
                {
                    old.Add(ThreadSeconds(() => Run(false), inner));
                    now.Add(ThreadSeconds(() => Run(true), inner));
                }
                ConvGemm.UsePointwise = true;
                old.Sort();
                now.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{model} b{batch}: 1x1 packing {old[rounds / 2] * 1000:F2} ms median ({old[0] * 1000:F2} best), in place {now[rounds / 2] * 1000:F2} ms ({now[0] * 1000:F2}), in place / packing {now[rounds / 2] / old[rounds / 2]:F2} (thread CPU, {session.LastExecutionPath})"));
            }
        }
    }

    /// <summary>
    /// The ONNX runtime's direct-conv chains (<c>DirectConvChainOp</c>, the session default for the seed ConvNet) against
    /// the compiled plan's <c>ConvChainOp</c> (<c>FuseDirectConvolutions = false</c>) on the same file and input, interleaved
    /// rounds, thread CPU per run of the calling thread (one thread: run with <c>--threads 1</c>).
    /// </summary>
    public static void ChainAB(string path, int rounds, int threads)
    {
        var runtime = CnnSharp.Onnx.OnnxSession.Load(path);
        var compiled = CnnSharp.Onnx.OnnxSession.Load(path, new CnnSharp.Onnx.OnnxSessionOptions { FuseDirectConvolutions = false });
        int[] shape = runtime.Model.Graph.RuntimeInputs[0].FixedShape() ?? throw new InvalidOperationException($"{path}: the input shape is not fixed");
        var input = Tensor.FromArray(Random(shape.Aggregate(1, (a, b) => a * b), 7), shape);
        var a = runtime.Run(input).ToArray();
        var b = compiled.Run(input).ToArray();
        double diff = a.Zip(b, (u, v) => Math.Abs(u - v)).Max();
        Parallelism.MaxThreads = threads;
        for (int i = 0; i < 50; i++)
        {
            runtime.Run(input);
            compiled.Run(input);
        }
        double once = ThreadSeconds(() => runtime.Run(input), 1);
        int inner = Math.Clamp((int)(0.05 / Math.Max(once, 1e-6)), 1, 10_000);
        var rt = new List<double>();
        var cp = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            rt.Add(ThreadSeconds(() => runtime.Run(input), inner));
            cp.Add(ThreadSeconds(() => compiled.Run(input), inner));
        }
        rt.Sort();
        cp.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Path.GetFileName(Path.GetDirectoryName(path))} [{string.Join(",", shape)}], {threads} thread(s): runtime ({runtime.LastExecutionPath}) {rt[rounds / 2] * 1000:F4} ms median ({rt[0] * 1000:F4} best), compiled ({compiled.LastExecutionPath}) {cp[rounds / 2] * 1000:F4} ms ({cp[0] * 1000:F4}), compiled / runtime {cp[rounds / 2] / rt[rounds / 2]:F2}, max |diff| {diff:G3} (thread CPU of the caller)"));
    }

    private static double WallSeconds(Action action)
    {
        long t0 = Stopwatch.GetTimestamp();
        action();
        return (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
    }

    private static void Row(string kernel, string shape, double seconds, double flops, double peak)
    {
        double gflops = flops / seconds / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {kernel} | {shape} | {seconds * 1000:F3} | {gflops:F1} | {100 * gflops / peak:F0}% |"));
    }

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    /// <summary>Best thread-CPU seconds of one call over <paramref name="reps"/> timed batches (after a warm-up).</summary>
    private static double Best(int reps, Action action)
    {
        // Warm-up long enough for tiered compilation to replace the first (unoptimised) code: 40+ calls and 250 ms.
        long warm = Stopwatch.GetTimestamp();
        for (int i = 0; i < 40 || Stopwatch.GetElapsedTime(warm).TotalMilliseconds < 250; i++) action();
        double once = ThreadSeconds(action, 1);
        int inner = Math.Clamp((int)(0.005 / Math.Max(once, 1e-7)), 1, 10_000); // batches of about 5 ms
        double best = double.MaxValue;
        for (int r = 0; r < reps; r++) best = Math.Min(best, ThreadSeconds(action, inner));
        return best;
    }

    private static double ThreadSeconds(Action action, int inner)
    {
        double start = ThreadCpuSeconds();
        for (int i = 0; i < inner; i++) action();
        return (ThreadCpuSeconds() - start) / inner;
    }

    /// <summary>GFLOP/s of 12 independent Vector256 FMA chains (enough to cover the FMA latency on two pipes).</summary>
    private static double FmaPeak(int reps) => LoopPeak(reps, FmaLoop, 12 * 8 * 2);

    /// <summary>GFLOP/s of <paramref name="loop"/> (<paramref name="flopsPerIteration"/> per iteration), best of the reps after one warm-up.</summary>
    private static double LoopPeak(int reps, Func<int, float> loop, int flopsPerIteration)
    {
        const int Iterations = 2_000_000;
        double best = double.MaxValue;
        float sink = 0;
        for (int r = 0; r < reps + 1; r++)
        {
            double start = ThreadCpuSeconds();
            sink += loop(Iterations);
            double s = ThreadCpuSeconds() - start;
            if (r > 0) best = Math.Min(best, s);
        }
        GC.KeepAlive(sink);
        return (double)flopsPerIteration * Iterations / best / 1e9;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static float FmaLoop(int iterations)
    {
        var m = Vector256.Create(0.9999f);
        var add = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, add); a1 = Vector256.FusedMultiplyAdd(a1, m, add);
            a2 = Vector256.FusedMultiplyAdd(a2, m, add); a3 = Vector256.FusedMultiplyAdd(a3, m, add);
            a4 = Vector256.FusedMultiplyAdd(a4, m, add); a5 = Vector256.FusedMultiplyAdd(a5, m, add);
            a6 = Vector256.FusedMultiplyAdd(a6, m, add); a7 = Vector256.FusedMultiplyAdd(a7, m, add);
            a8 = Vector256.FusedMultiplyAdd(a8, m, add); a9 = Vector256.FusedMultiplyAdd(a9, m, add);
            a10 = Vector256.FusedMultiplyAdd(a10, m, add); a11 = Vector256.FusedMultiplyAdd(a11, m, add);
        }
        var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        return Vector256.Sum(sum);
    }

    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID on Linux

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>CPU seconds consumed by the calling thread (Linux), or the wall clock elsewhere.</summary>
    internal static double ThreadCpuSeconds()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ClockThreadCpuTime, out var t) == 0) return t.Seconds + t.Nanoseconds * 1e-9;
        return Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;
    }
}
