using System.Globalization;
using CnnSharp.Kernels;

namespace CnnSharp.Benchmarks.Kernels;

/// <summary>
/// <c>dwconv-ab [reps]</c>: thread CPU time of the depthwise 3×3 forward on MobileNet-v2's layer shapes (batch 1, one
/// thread, ReLU6 epilogue), the generic grouped kernel (A) against <see cref="DepthwiseConv3x3"/> (B), alternating in
/// one process so machine load hits both alike; prints GMAC/s of each and the ratio. <c>dwconv-ab reps model.onnx</c>
/// then times whole runs of that model (batch of its fixed input shape, one thread) with the kernel off and on.
/// </summary>
internal static class DepthwiseAb
{
    private static readonly (int C, int Hw, int Stride)[] Layers =
        [(32, 112, 1), (96, 112, 2), (144, 56, 1), (144, 56, 2), (192, 28, 1), (192, 28, 2), (384, 14, 1), (576, 14, 1), (576, 14, 2), (960, 7, 1)];

    public static int Run(string[] args)
    {
        int reps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        Console.WriteLine($"ISA {Isa.Level}, 1 thread, thread CPU time: {CpuClock.IsThreadTime}");
        Console.WriteLine("layer                 generic GMAC/s  dedicated GMAC/s  speed-up");
        foreach (var (c, hw, s) in Layers)
        {
            var g = Conv2dGeometry.Create([1, c, hw, hw], [c, 1, 3, 3], (s, s), (1, 1, 1, 1), (1, 1), c);
            var x = new float[c * hw * hw];
            var w = new float[c * 9];
            var b = new float[c];
            var y = new float[g.K * g.OutH * g.OutW];
            var rng = new Random(1);
            for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble() - 0.5f;
            for (int i = 0; i < w.Length; i++) w[i] = (float)rng.NextDouble() - 0.5f;
            double[] best = [double.MaxValue, double.MaxValue];
            for (int r = 0; r < reps; r++)
                for (int v = 0; v < 2; v++)
                {
                    double t0 = CpuClock.Seconds();
                    for (int k = 0; k < 10; k++)
                        GroupedConv2d.Forward(x, w, b, default, y, g, 0f, 6f, Isa.Level, 1, long.MaxValue, dedicated3x3: v == 1);
                    best[v] = Math.Min(best[v], (CpuClock.Seconds() - t0) / 10);
                }
            double macs = (double)g.Macs;
            string name = FormattableString.Invariant($"{c}x{hw}x{hw} s{s}").PadRight(22);
            Console.WriteLine(name + FormattableString.Invariant($"{macs / best[0] / 1e9,14:F2}  {macs / best[1] / 1e9,16:F2}  {best[0] / best[1],8:F2}x"));
        }
        if (args.Length > 2) Model(args[2], reps);
        return 0;
    }

    private static void Model(string path, int reps)
    {
        var session = CnnSharp.Onnx.OnnxSession.Load(path);
        // A symbolic batch dimension: batch 1 at torchvision's 224x224.
        var dims = session.Model.Graph.RuntimeInputs[0].FixedShape() ?? [1, 3, 224, 224];
        var input = Tensor.FromArray(Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b)).Select(i => (float)Math.Sin(i)).ToArray(), dims);
        Parallelism.MaxThreads = 1;
        double[] best = [double.MaxValue, double.MaxValue];
        try
        {
            for (int r = 0; r < reps; r++)
                for (int v = 0; v < 2; v++)
                {
                    DepthwiseConv3x3.Enabled = v == 1;
                    session.Run(input);
                    double t0 = CpuClock.Seconds();
                    for (int k = 0; k < 5; k++) session.Run(input);
                    best[v] = Math.Min(best[v], (CpuClock.Seconds() - t0) / 5);
                }
        }
        finally
        {
            DepthwiseConv3x3.Enabled = true;
        }
        Console.WriteLine(FormattableString.Invariant(
            $"{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)))} batch {dims[0]}, 1 thread, CPU per run (best of {reps}x5): generic {best[0] * 1e3:F2} ms, dedicated {best[1] * 1e3:F2} ms, {best[0] / best[1]:F2}x"));
    }
}
