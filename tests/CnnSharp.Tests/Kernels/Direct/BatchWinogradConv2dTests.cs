using System.Runtime.Intrinsics;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using Xunit;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// The batch-folded Winograd F(4x4, 3x3) kernel against a double-precision direct convolution on every SIMD path of its
/// GEMM (bias, residual, ReLU and clamp included; maps of whole and partial tiles), with the same bits on 1 to 3 threads
/// and with 16-lane transforms (<see cref="BatchWinogradConv2d.Wide"/>) as with 8.
/// </summary>
public sealed class BatchWinogradConv2dTests
{
    public static TheoryData<int, int, int, int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int, int, int, int>();
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V128, IsaLevel.V256, IsaLevel.V512 })
        {
            data.Add((int)level, 3, 16, 32, 7, 7);   // 2x2 tiles per image, a partial last row and column
            data.Add((int)level, 2, 32, 16, 8, 8);   // whole tiles
            data.Add((int)level, 2, 48, 32, 14, 13); // 4x4 tiles, unequal sides
            data.Add((int)level, 1, 16, 16, 3, 5);   // one tile row, smaller than a tile
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Matches_the_double_reference(int isa, int n, int c, int k, int h, int w)
    {
        var level = (IsaLevel)isa;
        var rng = new Random(n * 1000 + c * 10 + k + h * 7 + w);
        var x = Random(rng, n * c * h * w);
        var weight = Random(rng, k * c * 9);
        var bias = Random(rng, k);
        var residual = Random(rng, n * k * h * w);
        var kernel = new BatchWinogradConv2d(n, c, k, h, w, BatchWinogradConv2d.WideFor(level));
        var packed = new float[kernel.PackedLength];
        kernel.PackWeights(weight, packed);
        foreach (var (withResidual, lower, upper) in new[] { (false, float.NegativeInfinity, float.PositiveInfinity), (true, 0f, float.PositiveInfinity), (true, 0f, 0.5f) })
        {
            var expected = Reference(x, weight, bias, withResidual ? residual : null, n, c, k, h, w, lower, upper);
            var y = new float[n * k * h * w];
            Array.Fill(y, float.NaN);
            kernel.Forward(x, packed, bias, withResidual ? residual : default, y, lower, upper, level);
            double scale = Math.Sqrt(c * 9.0); // the outputs' typical size for unit-variance operands
            for (int i = 0; i < y.Length; i++)
                Assert.True(Math.Abs(y[i] - expected[i]) <= 2e-5 * scale, $"{level} [{i}] {y[i]} vs {expected[i]} (residual {withResidual}, clamp {lower}..{upper})");
        }
    }

    [Theory]
    [InlineData(3, 16, 32, 7, 7)]   // partial last tile row and column
    [InlineData(2, 48, 32, 14, 13)] // three input blocks, unequal sides
    [InlineData(1, 16, 16, 3, 5)]   // smaller than a tile
    public void Sixteen_lane_plans_give_the_bits_of_eight_lane_plans(int n, int c, int k, int h, int w)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            // No 512-bit hardware: plans keep 8 lanes on every path (16 would be software vectors).
            Assert.False(BatchWinogradConv2d.WideFor(IsaLevel.V512));
            return;
        }
        var rng = new Random(n + c * 3 + k * 5 + h * 7 + w);
        var x = Random(rng, n * c * h * w);
        var weight = Random(rng, k * c * 9);
        var bias = Random(rng, k);
        var residual = Random(rng, n * k * h * w);
        var narrow = new BatchWinogradConv2d(n, c, k, h, w);
        var wide = new BatchWinogradConv2d(n, c, k, h, w, wide: true);
        Assert.True(wide.Wide);
        Assert.False(narrow.Wide);
        var packed = new float[narrow.PackedLength];
        narrow.PackWeights(weight, packed);
        foreach (var level in new[] { IsaLevel.V256, IsaLevel.V512 })
            foreach (var (withResidual, lower, upper) in new[] { (false, float.NegativeInfinity, float.PositiveInfinity), (true, 0f, 0.5f) })
            {
                var y8 = new float[n * k * h * w];
                var y16 = new float[n * k * h * w];
                narrow.Forward(x, packed, bias, withResidual ? residual : default, y8, lower, upper, level);
                wide.Forward(x, packed, bias, withResidual ? residual : default, y16, lower, upper, level);
                Assert.Contains(y8, v => v != 0 && v != upper);
                Assert.True(y8.AsSpan().SequenceEqual(y16), $"{level} residual {withResidual} clamp {lower}..{upper}: outputs differ");
            }
    }

    [Fact]
    public void Plans_take_sixteen_lanes_only_on_the_V512_path_with_512_bit_hardware()
    {
        Assert.False(BatchWinogradConv2d.WideFor(IsaLevel.V256));
        Assert.False(BatchWinogradConv2d.WideFor(IsaLevel.V128));
        Assert.Equal(Vector512.IsHardwareAccelerated && WinogradConv2d.Wide512, BatchWinogradConv2d.WideFor(IsaLevel.V512));
    }

    [Fact]
    public void Bits_do_not_depend_on_the_thread_count()
    {
        const int n = 5, c = 32, k = 48, h = 7, w = 7;
        var rng = new Random(3);
        var x = Random(rng, n * c * h * w);
        var weight = Random(rng, k * c * 9);
        var bias = Random(rng, k);
        var residual = Random(rng, n * k * h * w);
        var kernel = new BatchWinogradConv2d(n, c, k, h, w);
        float[] Run(int threads)
        {
            using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
            var packed = new float[kernel.PackedLength];
            kernel.PackWeights(weight, packed);
            var y = new float[n * k * h * w];
            kernel.Forward(x, packed, bias, residual, y, 0f, float.PositiveInfinity, Isa.Level);
            return y;
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(3));
    }

    [Fact]
    public void Wrong_sizes_are_rejected_with_the_sizes_named()
    {
        Assert.Throws<ArgumentException>(() => new BatchWinogradConv2d(2, 24, 16, 7, 7));
        Assert.Throws<ArgumentException>(() => new BatchWinogradConv2d(0, 16, 16, 7, 7));
        var kernel = new BatchWinogradConv2d(2, 16, 16, 7, 7);
        var packed = new float[kernel.PackedLength];
        var e = Assert.Throws<ArgumentException>(() => kernel.PackWeights(new float[16 * 16 * 9 - 1], packed));
        Assert.Contains("2303", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => kernel.Forward(new float[2 * 16 * 49 + 1], packed, new float[16], default, new float[2 * 16 * 49], 0f, 1f, IsaLevel.V256));
        Assert.Contains("input", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => kernel.Forward(new float[2 * 16 * 49], packed, new float[16], new float[3], new float[2 * 16 * 49], 0f, 1f, IsaLevel.V256));
        Assert.Contains("residual", e.Message, StringComparison.Ordinal);
    }

    private static float[] Random(Random rng, int count)
    {
        var a = new float[count];
        for (int i = 0; i < count; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }

    // Direct 3x3 stride-1 padding-1 convolution in double, then bias, residual and the clamp.
    private static double[] Reference(float[] x, float[] weight, float[] bias, float[]? residual, int n, int c, int k, int h, int w, float lower, float upper)
    {
        var y = new double[n * k * h * w];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < k; o++)
                for (int r = 0; r < h; r++)
                    for (int q = 0; q < w; q++)
                    {
                        double s = bias[o];
                        for (int i = 0; i < c; i++)
                            for (int dy = 0; dy < 3; dy++)
                                for (int dx = 0; dx < 3; dx++)
                                {
                                    int yy = r + dy - 1, xx = q + dx - 1;
                                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                                    s += (double)x[((b * c + i) * h + yy) * w + xx] * weight[((o * c + i) * 3 + dy) * 3 + dx];
                                }
                        int at = ((b * k + o) * h + r) * w + q;
                        if (residual is not null) s += residual[at];
                        y[at] = Math.Min(Math.Max(s, lower), upper);
                    }
        return y;
    }
}
