using CnnSharp.Kernels;
using CnnSharp.Tests.Compile;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// <see cref="Gemm.FusedEpilogue"/>: <see cref="PointwiseConv"/>'s one-KC-slice full tiles with the epilogue applied in
/// registers give exactly the bits of the stored tile plus <c>ConvGemm.Epilogue</c>, for every epilogue, at every SIMD
/// level of the weights (only V512 has the kernel; the others must be unaffected), with one and several KC slices, and
/// for 1-3 threads.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class GemmEpilogueTileTests
{
    // (N, C, H, W, K): C within one slice (16, 96, 160) and over it (200), full and edge tiles, K not a multiple of MR.
    private static readonly (int N, int C, int H, int W, int K)[] Shapes =
        [(2, 16, 8, 12, 24), (1, 96, 7, 7, 21), (1, 160, 14, 14, 40), (1, 200, 8, 8, 16), (3, 5, 4, 16, 9)];

    private static float[] Run(float[] x, float[] w, float[]? b, float[]? r, (int N, int C, int H, int W, int K) s, IsaLevel level,
        bool relu, float max, bool fused, int threads)
    {
        var g = Conv2dGeometry.Create([s.N, s.C, s.H, s.W], [s.K, s.C, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pointwise");
        var packed = new PackedConvWeights(w, s.K, s.C, 1, 1, 1, level);
        var y = new float[s.N * s.K * s.H * s.W];
        Array.Fill(y, float.NaN);
        bool saved = Gemm.FusedEpilogue;
        try
        {
            Gemm.FusedEpilogue = fused;
            PointwiseConv.Forward(x, packed, b, r, y, g, relu, max, threads, threads == 1 ? long.MaxValue : 0);
        }
        finally
        {
            Gemm.FusedEpilogue = saved;
        }
        return y;
    }

    [Theory]
    [InlineData((int)IsaLevel.Scalar)]
    [InlineData((int)IsaLevel.V256)]
    [InlineData((int)IsaLevel.V512)]
    public void Epilogue_in_registers_gives_the_stored_tiles_bits(int level)
    {
        var lvl = (IsaLevel)level;
        foreach (var s in Shapes)
        {
            var x = GradCheck.RandomValues(s.N * s.C * s.H * s.W, s.C);
            x[x.Length / 3] = float.NaN; // NaN passes through both clamps alike
            var w = GradCheck.RandomValues(s.K * s.C, s.K + 1);
            var b = GradCheck.RandomValues(s.K, s.K + 2);
            var r = GradCheck.RandomValues(s.N * s.K * s.H * s.W, s.K + 3);
            foreach (var (bias, res, relu, max) in new (float[]?, float[]?, bool, float)[]
                { (null, null, false, float.PositiveInfinity), (b, null, true, 6f), (b, r, true, 0.5f), (null, r, false, float.PositiveInfinity), (null, null, true, float.PositiveInfinity) })
            {
                var stored = Run(x, w, bias, res, s, lvl, relu, max, false, 1);
                for (int threads = 1; threads <= 3; threads++)
                    Assert.Equal(stored, Run(x, w, bias, res, s, lvl, relu, max, true, threads));
            }
        }
    }

    /// <summary>
    /// <see cref="Gemm.MinMaxClamp"/>: the fused tiles' ReLU and upper clamp as vmaxps / vminps give the stored tiles' bits
    /// (NaN kept, −0 kept, values above the bound clamped), on and off, at every level and thread count.
    /// </summary>
    [Theory]
    [InlineData((int)IsaLevel.Scalar)]
    [InlineData((int)IsaLevel.V256)]
    [InlineData((int)IsaLevel.V512)]
    public void Min_max_clamps_give_the_stored_tiles_bits(int level)
    {
        var lvl = (IsaLevel)level;
        bool saved = Gemm.MinMaxClamp;
        try
        {
            foreach (var s in Shapes)
            {
                var x = GradCheck.RandomValues(s.N * s.C * s.H * s.W, s.C + 7, -4f, 4f);
                x[x.Length / 4] = float.NaN;
                var w = GradCheck.RandomValues(s.K * s.C, s.K + 8);
                var b = GradCheck.RandomValues(s.K, s.K + 9);
                var r = GradCheck.RandomValues(s.N * s.K * s.H * s.W, s.K + 10);
                foreach (var (bias, res, relu, max) in new (float[]?, float[]?, bool, float)[] { (b, null, true, 6f), (null, r, true, 0.25f), (b, r, false, 1f) })
                {
                    var stored = Run(x, w, bias, res, s, lvl, relu, max, false, 1);
                    foreach (bool minMax in new[] { false, true })
                    {
                        Gemm.MinMaxClamp = minMax;
                        for (int threads = 1; threads <= 3; threads++)
                            Assert.Equal(stored, Run(x, w, bias, res, s, lvl, relu, max, true, threads));
                    }
                }
            }
        }
        finally
        {
            Gemm.MinMaxClamp = saved;
        }
    }
}
