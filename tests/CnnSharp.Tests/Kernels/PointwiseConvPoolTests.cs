using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The fused 1x1 conv + global average pool against the two steps it replaces (<see cref="PointwiseConv"/>, and
/// <see cref="ConvGemm"/>, the plan's path for the conv, wherever <see cref="PointwiseConvPool.SameBitsAsConvGemm"/>; then
/// each plane summed by <see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/> and divided by its size, as the pool op
/// does), bit for bit, at every SIMD level: planes with and without a narrow last column panel
/// (1 to 128 pixels), channel counts off the register tiles and over several KC slices, batches of one and more
/// images, 1 to 5 parts per image on 1 to 3 threads, with and without the bias and ReLU6.
/// </summary>
public sealed class PointwiseConvPoolTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    // (N, C, K, H, W): 7x7 (32 + 17 pixels), 1x1, 4x4, 8x16 (128, the largest), 5x9, more channels than a KC slice.
    private static readonly (int N, int C, int K, int H, int W)[] Shapes =
    [
        (1, 20, 37, 7, 7), (2, 3, 9, 1, 1), (3, 13, 16, 4, 4), (1, 7, 21, 8, 16), (2, 400, 19, 5, 9), (1, 33, 130, 7, 7),
    ];

    private static Conv2dGeometry Geometry((int N, int C, int K, int H, int W) s) =>
        Conv2dGeometry.Create([s.N, s.C, s.H, s.W], [s.K, s.C, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pointwise");

    /// <summary>The conv by <see cref="PointwiseConv"/> (or, with <paramref name="gemm"/>, by <see cref="ConvGemm"/>, which
    /// packs B for more than two row panels), then the pool.</summary>
    private static float[] Reference(float[] x, PackedConvWeights w, float[]? bias, (int N, int C, int K, int H, int W) s, bool relu6, bool gemm)
    {
        int p = s.H * s.W;
        var y = new float[s.N * s.K * p];
        if (gemm) ConvGemm.Forward(x, w, bias, default, y, Geometry(s), relu6, 1, long.MaxValue, relu6 ? 6f : float.PositiveInfinity);
        else PointwiseConv.Forward(x, w, bias, default, y, Geometry(s), relu6, relu6 ? 6f : float.PositiveInfinity, 1, long.MaxValue);
        var pooled = new float[s.N * s.K];
        for (int i = 0; i < pooled.Length; i++) pooled[i] = TensorPrimitives.Sum(y.AsSpan(i * p, p)) / p;
        return pooled;
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public unsafe void Fused_conv_and_pool_match_the_two_steps_bit_for_bit(int level)
    {
        var isa = (IsaLevel)level;
        foreach (var s in Shapes)
            foreach (bool relu6 in new[] { false, true })
            {
                int seed = s.N * 1000 + s.C * 100 + s.K * 10 + s.H + s.W;
                var x = GradCheck.RandomValues(s.N * s.C * s.H * s.W, seed);
                var w = new PackedConvWeights(GradCheck.RandomValues(s.K * s.C, seed + 1), s.K, s.C, 1, 1, 1, isa);
                var bias = relu6 ? GradCheck.RandomValues(s.K, seed + 2) : null;
                var expected = Reference(x, w, bias, s, relu6, gemm: false);
                var gemm = Reference(x, w, bias, s, relu6, gemm: true);
                // (ConvGemm's own narrow-panel kernel at V256 may round differently; the op then runs the two ops instead.)
                if (PointwiseConvPool.SameBitsAsConvGemm(isa, s.H * s.W)) Assert.Equal(gemm, expected);
                foreach (int parts in new[] { 1, 2, 3, 5 })
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        var pooled = new float[s.N * s.K];
                        Array.Fill(pooled, float.NaN); // every output must be written
                        fixed (float* px = x, pb = bias, pp = pooled)
                            PointwiseConvPool.Forward(px, w, pb, relu6, relu6 ? 6f : float.PositiveInfinity, pp, Geometry(s), threads, parts);
                        Assert.Equal(expected, pooled);
                    }
            }
    }

    [Fact]
    public void Takes_only_unstrided_unpadded_1x1_convs_of_at_most_128_pixels()
    {
        Assert.True(PointwiseConvPool.Takes(Geometry((1, 3, 4, 8, 16))));
        Assert.False(PointwiseConvPool.Takes(Geometry((1, 3, 4, 9, 15)))); // 135 pixels: the pool's sums would depend on alignment
        Assert.False(PointwiseConvPool.Takes(Conv2dGeometry.Create([1, 3, 7, 7], [4, 3, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 1, "3x3")));
        Assert.False(PointwiseConvPool.Takes(Conv2dGeometry.Create([1, 3, 7, 7], [4, 3, 1, 1], (2, 2), (0, 0, 0, 0), (1, 1), 1, "1x1/2")));
    }
}
