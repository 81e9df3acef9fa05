using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The 1x1 convolution that reads the activations in place as the GEMM's B matrix, against naive double-precision loops,
/// at every SIMD level: full and edge tiles (K not a multiple of MR, H·W not a multiple of NR), several KC slices, the
/// fused bias/residual/ReLU/upper-clamp epilogue, and every work split bit for bit.
/// </summary>
public sealed class PointwiseConvTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    // (N, C, H, W, K): tiny images (fewer pixels than one panel), odd channel counts, more channels than one slice.
    private static readonly (int N, int C, int H, int W, int K)[] Shapes =
        [(2, 4, 6, 6, 8), (1, 3, 1, 1, 5), (2, 20, 5, 7, 13), (1, 17, 9, 9, 33), (3, 40, 4, 8, 70), (1, 7, 8, 8, 6), (2, 9, 3, 11, 17)];

    private static Conv2dGeometry Geometry((int N, int C, int H, int W, int K) s) =>
        Conv2dGeometry.Create([s.N, s.C, s.H, s.W], [s.K, s.C, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pointwise");

    /// <summary><c>min(relu?((Σ_c w[k,c]·x[n,c,p] + b[k]) + r[n,k,p]), max)</c> in double, loop by loop.</summary>
    private static double[] Naive(float[] x, float[] w, float[]? b, float[]? r, (int N, int C, int H, int W, int K) s, bool relu, float max)
    {
        int p = s.H * s.W;
        var y = new double[s.N * s.K * p];
        for (int n = 0; n < s.N; n++)
            for (int k = 0; k < s.K; k++)
                for (int q = 0; q < p; q++)
                {
                    double sum = 0;
                    for (int c = 0; c < s.C; c++) sum += (double)w[k * s.C + c] * x[(n * s.C + c) * p + q];
                    int at = (n * s.K + k) * p + q;
                    double v = sum + (b is null ? 0 : b[k]) + (r is null ? 0 : r[at]);
                    if (relu) v = Math.Max(v, 0);
                    y[at] = Math.Min(v, max);
                }
        return y;
    }

    private static float[] Run(float[] x, float[] w, float[]? b, float[]? r, (int N, int C, int H, int W, int K) s, IsaLevel level,
        bool relu, float max, int threads = 1, long threshold = long.MaxValue, ConvGemm.Blocking? blocking = null)
    {
        var packed = new PackedConvWeights(w, s.K, s.C, 1, 1, 1, level, blocking);
        var y = new float[s.N * s.K * s.H * s.W];
        Array.Fill(y, float.NaN); // the output must be fully overwritten
        PointwiseConv.Forward(x, packed, b, r, y, Geometry(s), relu, max, threads, threshold);
        return y;
    }

    /// <summary>Cache blocks small enough that these shapes cross every MC, KC and NC boundary.</summary>
    private static ConvGemm.Blocking Small(IsaLevel level)
    {
        var d = ConvGemm.BlockingFor(level);
        return new ConvGemm.Blocking(d.MR, d.NR, 2 * d.MR, 6, 2 * d.NR);
    }

    [Theory, MemberData(nameof(Levels))]
    public void Forward_matches_naive_loops_with_every_epilogue(int level)
    {
        var lvl = (IsaLevel)level;
        foreach (var s in Shapes)
        {
            var x = GradCheck.RandomValues(s.N * s.C * s.H * s.W, s.C);
            var w = GradCheck.RandomValues(s.K * s.C, s.K + 1);
            var b = GradCheck.RandomValues(s.K, s.K + 2);
            var r = GradCheck.RandomValues(s.N * s.K * s.H * s.W, s.K + 3);
            foreach (var blocking in new ConvGemm.Blocking?[] { null, Small(lvl) })
            {
                string name = $"{s} {blocking}";
                TensorAssert.Close(Naive(x, w, null, null, s, false, float.PositiveInfinity), Run(x, w, null, null, s, lvl, false, float.PositiveInfinity, blocking: blocking), Tolerance.Accumulated, name);
                TensorAssert.Close(Naive(x, w, b, null, s, true, float.PositiveInfinity), Run(x, w, b, null, s, lvl, true, float.PositiveInfinity, blocking: blocking), Tolerance.Accumulated, name + " relu");
                TensorAssert.Close(Naive(x, w, b, r, s, true, 0.5f), Run(x, w, b, r, s, lvl, true, 0.5f, blocking: blocking), Tolerance.Accumulated, name + " residual relu6-like");
                TensorAssert.Close(Naive(x, w, null, r, s, false, float.PositiveInfinity), Run(x, w, null, r, s, lvl, false, float.PositiveInfinity, blocking: blocking), Tolerance.Accumulated, name + " residual");
            }
        }
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(9, 2)]
    public void Every_work_split_gives_the_single_thread_result_bit_for_bit(int batch, int threads)
    {
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V256, IsaLevel.V512 })
        {
            var s = (batch, 40, 9, 9, 70);
            var x = GradCheck.RandomValues(batch * 40 * 81, 7);
            var w = GradCheck.RandomValues(70 * 40, 8);
            var b = GradCheck.RandomValues(70, 9);
            var blocking = Small(level);
            var one = Run(x, w, b, null, s, level, true, 6f, 1, long.MaxValue, blocking);
            // Threshold 0 splits even this small convolution into pixel and channel parts.
            var many = Run(x, w, b, null, s, level, true, 6f, threads, 0, blocking);
            Assert.Equal(one, many);
            TensorAssert.Close(Naive(x, w, b, null, s, true, 6f), many, Tolerance.Accumulated, $"{level} {s}");
        }
    }

    [Fact]
    public void ConvGemm_on_a_1x1_stride_1_convolution_with_few_output_channels_gives_the_same_values()
    {
        var s = (2, 20, 5, 7, 13);
        var x = GradCheck.RandomValues(2 * 20 * 35, 11);
        var w = GradCheck.RandomValues(13 * 20, 12);
        var packed = new PackedConvWeights(w, 13, 20, 1, 1, 1, Isa.Level);
        Assert.Equal(Isa.Level == IsaLevel.V512, PointwiseConv.Prefers(packed)); // 13 rows: 2 panels of 8, 3 of 6, 4 of 4
        var y = new float[2 * 13 * 35];
        ConvGemm.Forward(x, packed, default, y, Geometry(s), relu: true);
        TensorAssert.Close(Naive(x, w, null, null, s, true, float.PositiveInfinity), y, Tolerance.Accumulated, "ConvGemm 1x1");
    }

    [Fact]
    public void Other_geometries_and_mismatched_weights_are_rejected()
    {
        Assert.False(PointwiseConv.Takes(Conv2dGeometry.Create([1, 4, 6, 6], [8, 4, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), 1, "t")));
        Assert.False(PointwiseConv.Takes(Conv2dGeometry.Create([1, 4, 6, 6], [8, 4, 1, 1], (2, 2), (0, 0, 0, 0), (1, 1), 1, "t")));
        Assert.False(PointwiseConv.Takes(Conv2dGeometry.Create([1, 4, 6, 6], [8, 4, 1, 1], (1, 1), (1, 1, 1, 1), (1, 1), 1, "t")));
        Assert.False(PointwiseConv.Takes(Conv2dGeometry.Create([1, 4, 6, 6], [8, 2, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 2, "t")));
        var g = Geometry((1, 4, 6, 6, 8));
        Assert.True(PointwiseConv.Takes(g));
        var wrong = new PackedConvWeights(new float[8 * 5], 8, 5, 1, 1, 1, IsaLevel.Scalar);
        var e = Assert.Throws<ArgumentException>(() => PointwiseConv.Forward(new float[144], wrong, default, default, new float[288], g, false));
        Assert.Contains("do not match", e.Message);
        var strided = Conv2dGeometry.Create([1, 4, 6, 6], [8, 4, 1, 1], (2, 2), (0, 0, 0, 0), (1, 1), 1, "t");
        var packed = new PackedConvWeights(new float[32], 8, 4, 1, 1, 1, IsaLevel.Scalar);
        Assert.Throws<ArgumentException>(() => PointwiseConv.Forward(new float[144], packed, default, default, new float[72], strided, false));
    }
}
