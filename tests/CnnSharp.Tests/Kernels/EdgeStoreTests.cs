using CnnSharp.Kernels;
using CnnSharp.Tests.Compile;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// <see cref="EdgeStore.Vectorized"/>: the GEMM drivers' edge tiles (pixel panels narrower than NR, rows past K) stored
/// in masked AVX-512 steps give exactly the bits of the scalar store, in <see cref="PointwiseConv"/> and in
/// <see cref="ConvGemm"/>'s packed path, at every SIMD level of the weights, for every epilogue, across KC slices (the
/// store accumulates), and for 1-3 threads; nothing past the output is written.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class EdgeStoreTests
{
    // (N, C, H, W, K): 7x7 (49 = 32 + 17 pixels), 14x14 (196 = 6·32 + 4), one pixel, K not a multiple of MR, C over KC.
    private static readonly (int N, int C, int H, int W, int K)[] Shapes =
        [(2, 20, 7, 7, 13), (1, 17, 14, 14, 33), (1, 3, 1, 1, 5), (3, 40, 3, 5, 70), (2, 9, 5, 11, 17), (1, 200, 7, 7, 9)];

    public static TheoryData<int, int> Cases()
    {
        var data = new TheoryData<int, int>();
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V256, IsaLevel.V512 })
            for (int kernel = 1; kernel <= 3; kernel += 2) data.Add((int)level, kernel);
        return data;
    }

    /// <summary>The conv (1x1: <see cref="PointwiseConv.Forward(ReadOnlySpan{float}, PackedConvWeights, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, in Conv2dGeometry, bool, float, int, long)"/>;
    /// 3x3 pad 1: <see cref="ConvGemm"/>'s packed path) with the switch at <paramref name="vector"/>.</summary>
    private static float[] Run(float[] x, float[] w, float[]? b, float[]? r, (int N, int C, int H, int W, int K) s, int kernel, IsaLevel level,
        bool relu, float max, bool vector, int threads, ConvGemm.Blocking? blocking)
    {
        int pad = kernel / 2;
        var g = Conv2dGeometry.Create([s.N, s.C, s.H, s.W], [s.K, s.C, kernel, kernel], (1, 1), (pad, pad, pad, pad), (1, 1), 1, "edges");
        var packed = new PackedConvWeights(w, s.K, s.C, kernel, kernel, 1, level, blocking);
        // Room past the output: a store outside the tensor would show there.
        var y = new float[s.N * s.K * s.H * s.W + 40];
        Array.Fill(y, float.NaN);
        bool saved = EdgeStore.Vectorized;
        try
        {
            EdgeStore.Vectorized = vector;
            var output = y.AsSpan(0, y.Length - 40);
            long threshold = threads == 1 ? long.MaxValue : 0;
            if (kernel == 1) PointwiseConv.Forward(x, packed, b, r, output, g, relu, max, threads, threshold);
            else ConvGemm.Forward(x, packed, b, r, output, g, relu, threads, threshold, max);
        }
        finally
        {
            EdgeStore.Vectorized = saved;
        }
        Assert.All(y.Skip(y.Length - 40), v => Assert.True(float.IsNaN(v)));
        return y;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Masked_edge_stores_give_the_scalar_stores_bits(int level, int kernel)
    {
        var lvl = (IsaLevel)level;
        var d = ConvGemm.BlockingFor(lvl);
        foreach (var s in Shapes)
        {
            var x = GradCheck.RandomValues(s.N * s.C * s.H * s.W, s.C);
            x[x.Length / 2] = float.NaN; // NaN passes through both clamps alike
            var w = GradCheck.RandomValues(s.K * s.C * kernel * kernel, s.K + 1);
            var b = GradCheck.RandomValues(s.K, s.K + 2);
            var r = GradCheck.RandomValues(s.N * s.K * s.H * s.W, s.K + 3);
            // The level's blocks, and blocks so small that every output is summed over several KC slices.
            foreach (var blocking in new ConvGemm.Blocking?[] { null, new ConvGemm.Blocking(d.MR, d.NR, 2 * d.MR, 6, 2 * d.NR) })
                foreach (var (bias, res, relu, max) in new (float[]?, float[]?, bool, float)[]
                    { (null, null, false, float.PositiveInfinity), (b, null, true, 6f), (b, r, true, 0.5f), (null, r, false, float.PositiveInfinity) })
                {
                    var scalar = Run(x, w, bias, res, s, kernel, lvl, relu, max, false, 1, blocking);
                    for (int threads = 1; threads <= 3; threads++)
                        Assert.Equal(scalar, Run(x, w, bias, res, s, kernel, lvl, relu, max, true, threads, blocking));
                }
        }
    }
}
