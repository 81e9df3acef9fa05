using System.Globalization;
using CnnSharp.Kernels;

namespace CnnSharp.OrtPeer;

internal static unsafe partial class KernelBench
{
    /// <summary>
    /// MobileNet-v2's head at batch 1 on one thread (<c>--head</c>): the 320 → 1280 1x1 conv + ReLU6 at 7x7 on
    /// <see cref="ConvGemm"/> (then the global pool) against <see cref="PointwiseConvPool"/> (pitch 64 and 80), and the
    /// 1280 → 1000 classifier (<see cref="SmallBatchLinear"/>). Weights in several copies used in turn, so that, as in the
    /// model, they come from L3 rather than L2. Interleaved rounds, best thread CPU time per call.
    /// </summary>
    public static void Head(int rounds)
    {
        Parallelism.MaxThreads = 1;
        int Copies = Environment.GetEnvironmentVariable("HEAD_COPIES") is { } hc ? int.Parse(hc, CultureInfo.InvariantCulture) : 8;
        var g = Conv2dGeometry.Create([1, 320, 7, 7], [1280, 320, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "head");
        var x = Random(320 * 49, 3);
        var b = Random(1280, 5);
        var y = new float[1280 * 49];
        var pooled = new float[1280];
        var packs = Enumerable.Range(0, Copies).Select(i => new PackedConvWeights(Random(1280 * 320, 4 + i), 1280, 320, 1, 1, 1, Isa.Level)).ToArray();
        int turn = 0;
        void Gemm()
        {
            ConvGemm.Forward(x, packs[turn++ % Copies], b, default, y, g, true, 1, long.MaxValue, 6f);
            for (int k = 0; k < 1280; k++) pooled[k] = System.Numerics.Tensors.TensorPrimitives.Sum(y.AsSpan(k * 49, 49)) / 49;
        }
        void Fused()
        {
            fixed (float* px = x, pb = b, pp = pooled)
                PointwiseConvPool.Forward(px, packs[turn++ % Copies], pb, true, 6f, pp, g, 1, 1);
        }
        var lw = Enumerable.Range(0, 4).Select(i => Random(1000 * 1280, 20 + i)).ToArray();
        var lb = Random(1000, 30);
        var lx = Random(1280, 31);
        var ly = new float[1000];
        var linear = new SmallBatchLinear();
        void Linear() => linear.Forward(lx, lw[turn++ % lw.Length], lb, ly, 1, 1280, 1000);
        (string Name, Action Run)[] variants =
        [
            ("320->1280 7x7 ConvGemm + pool", Gemm),
            ("320->1280 7x7 PointwiseConvPool", Fused),
            ("Linear 1280->1000 SmallBatchLinear", Linear),
        ];
        if (Environment.GetEnvironmentVariable("HEAD_SHAPES") is not null)
        {
            variants = [.. variants, .. new[] { (4, 8), (1, 17), (1, 2), (1, 4), (1, 7), (7, 14) }.Select(hw =>
            {
                var gs = Conv2dGeometry.Create([1, 320, hw.Item1, hw.Item2], [1280, 320, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "head");
                var xs = Random(320 * hw.Item1 * hw.Item2, 3);
                return ($"320->1280 {hw.Item1}x{hw.Item2} PointwiseConvPool", (Action)(() =>
                {
                    fixed (float* px = xs, pb = b, pp = pooled)
                        PointwiseConvPool.Forward(px, packs[turn++ % Copies], pb, true, 6f, pp, gs, 1, 1);
                }));
            })];
        }
        if (Environment.GetEnvironmentVariable("HEAD_EDGES") is not null)
            variants = [.. variants.Select(v => (v.Name + " scalar edges", (Action)(() => { EdgeStore.Vectorized = false; v.Run(); EdgeStore.Vectorized = true; })))
                .Zip(variants, (a, b) => new[] { b, a }).SelectMany(p => p)];
        var best = new double[variants.Length];
        Array.Fill(best, double.MaxValue);
        foreach (var v in variants) Best(1, v.Run);
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < variants.Length; i++) best[i] = Math.Min(best[i], ThreadSeconds(variants[i].Run, 20));
        Console.WriteLine($"MobileNet-v2 head, batch 1, 1 thread, SIMD {Isa.Level}, best of {rounds} interleaved rounds (thread CPU ms)");
        for (int i = 0; i < variants.Length; i++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {variants[i].Name,-45} {best[i] * 1000:F4}"));
    }
}
