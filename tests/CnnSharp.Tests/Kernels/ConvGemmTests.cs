using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The implicit-GEMM convolution with pre-packed weights against the float64 reference, at every SIMD level, with and
/// without the fused bias/ReLU/residual epilogue, for every work split (images, pixel panels, output-channel panels).
/// </summary>
public sealed class ConvGemmTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    private static float[] Run(ConvCase c, IsaLevel level, bool relu, int threads = 1, long threshold = long.MaxValue, ConvGemm.Blocking? blocking = null)
    {
        var g = c.Geometry;
        var packed = new PackedConvWeights(ConvCases.Weight(c), c.K, c.C / c.Groups, c.KH, c.KW, c.Groups, level, blocking);
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        Array.Fill(y, float.NaN); // the output must be fully overwritten
        // Poison this thread's padded-image buffer, so a part that reads padded rows it did not write fails here.
        int hp = (g.OutH - 1) * g.StrideH + (g.KH - 1) * g.DilationH + 1, wp = (g.OutW - 1) * g.StrideW + (g.KW - 1) * g.DilationW + 1;
        Scratch.GetSpan(Scratch.Slot.PaddedImage, g.C * hp * wp).Fill(float.NaN);
        ConvGemm.Forward(ConvCases.Input(c), packed, c.HasBias ? ConvCases.Bias(c) : default, y, g, relu, threads, threshold);
        return y;
    }

    private static double[] Expected(ConvCase c, bool relu)
    {
        var y = ConvCases.Forward(c, TensorAssert.ToDouble(ConvCases.Input(c)), TensorAssert.ToDouble(ConvCases.Weight(c)),
            TensorAssert.ToDouble(ConvCases.Bias(c)));
        return relu ? y.Select(v => Math.Max(v, 0)).ToArray() : y;
    }

    [Theory, MemberData(nameof(Levels))]
    public void Forward_matches_reference_on_every_case(int level)
    {
        foreach (var c in ConvCases.All)
        {
            foreach (bool relu in new[] { false, true })
                TensorAssert.Close(Expected(c, relu), Run(c, (IsaLevel)level, relu), Tolerance.Accumulated, $"{c} relu={relu}");
        }
    }

    [Theory, MemberData(nameof(Levels))]
    public void Forward_clamps_at_max_after_relu(int level)
    {
        // ReLU6-style Clip(0, max) fused into the epilogue, full tiles and edge tiles, with and without a residual.
        foreach (var c in ConvCases.All)
        {
            var g = c.Geometry;
            var packed = new PackedConvWeights(ConvCases.Weight(c), c.K, c.C / c.Groups, c.KH, c.KW, c.Groups, (IsaLevel)level);
            var residual = GradCheck.RandomValues(g.N * g.K * g.OutH * g.OutW, 31);
            var y = new float[residual.Length];
            ConvGemm.Forward(ConvCases.Input(c), packed, c.HasBias ? ConvCases.Bias(c) : default, residual, y, g, true, 1, long.MaxValue, max: 0.25f);
            var expected = Expected(c, relu: false).Select((v, i) => Math.Min(Math.Max(v + residual[i], 0), 0.25)).ToArray();
            TensorAssert.Close(expected, y, Tolerance.Accumulated, c.ToString());
        }
    }

    [Theory, MemberData(nameof(Levels))]
    public void Forward_crosses_every_cache_block_boundary(int level)
    {
        // 594 taps (several KC slices at every level), 100 output channels (an MC boundary, not a multiple of MR),
        // 13x13 = 169 pixels (beyond NC, not a multiple of NR), padding and a bias.
        var c = new ConvCase(1, 66, 13, 13, 100, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, true);
        TensorAssert.Close(Expected(c, relu: true), Run(c, (IsaLevel)level, relu: true), Tolerance.Accumulated, c.ToString());
    }

    [Theory, MemberData(nameof(Levels))]
    public void Small_blocks_give_the_same_result_as_the_defaults(int level)
    {
        // Blocks far below the problem size: many KC slices, MC blocks and NC blocks per image.
        var lvl = (IsaLevel)level;
        var d = ConvGemm.BlockingFor(lvl);
        var small = d with { MC = d.MR * 2, KC = 7, NC = d.NR * 2 };
        var c = new ConvCase(2, 9, 11, 10, 19, 3, 3, (1, 2), (1, 1, 2, 0), (1, 1), 1, true);
        TensorAssert.Close(Expected(c, relu: false), Run(c, lvl, relu: false, blocking: small), Tolerance.Accumulated, c.ToString());
    }

    [Theory, MemberData(nameof(Levels))]
    public void Panels_wrapping_over_any_number_of_output_rows_are_packed_exactly(int level)
    {
        // Output widths 1-17 at stride 1: a 16-pixel panel spans 1 to 16 rows (contiguous copy, 2-4 blended runs, gathers),
        // and at stride 2 (one-row even-lane shuffles, else gathers). 33 rows, so panels start at every column offset.
        for (int w = 1; w <= 17; w++)
        {
            foreach (int stride in new[] { 1, 2 })
            {
                var c = new ConvCase(1, 2, 33, w + 2, 7, 3, 3, (1, stride), (1, 1, 1, 1), (1, 1), 1, true);
                TensorAssert.Close(Expected(c, relu: false), Run(c, (IsaLevel)level, relu: false), Tolerance.Accumulated, c.ToString());
            }
        }
    }

    [Theory]
    [InlineData(1, 2)]  // one image: pixel panels split
    [InlineData(1, 3)]
    [InlineData(3, 2)]  // images split (3 over 2 threads)
    [InlineData(2, 4)]  // two images, each split in two
    public void Every_work_split_gives_the_single_thread_result(int batch, int threads)
    {
        var c = new ConvCase(batch, 5, 12, 9, 14, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, true);
        var expected = Run(c, Isa.Level, relu: true);
        Assert.Equal(expected, Run(c, Isa.Level, relu: true, threads, threshold: 0));
    }

    [Theory]
    [InlineData(4, 0, 40, 2)]  // 2x2 output = one pixel panel, 40 channels: two channel parts
    [InlineData(3, 0, 60, 3)]  // one output pixel, three threads: three channel parts
    [InlineData(7, 1, 60, 3)]  // 7x7 = 49 pixels: 4 panels at V256 (pixel parts), 2 at V512 (channel parts)
    public void Output_channels_are_split_when_an_image_has_fewer_pixel_panels_than_threads(int size, int pad, int channels, int threads)
    {
        var c = new ConvCase(1, 3, size, size, channels, 3, 3, (1, 1), (pad, pad, pad, pad), (1, 1), 1, true);
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V256, IsaLevel.V512 })
        {
            var expected = Run(c, level, relu: false);
            Assert.Equal(expected, Run(c, level, relu: false, threads, threshold: 0));
            TensorAssert.Close(Expected(c, relu: false), expected, Tolerance.Accumulated, level.ToString());
        }
    }

    [Theory, MemberData(nameof(Levels))]
    public void Residual_epilogue_equals_the_convolution_then_add_then_relu_bit_for_bit(int level)
    {
        // Several KC slices, an MC boundary, edge rows and edge pixel panels; grouped and 1x1 cases from the shared table.
        var lvl = (IsaLevel)level;
        ConvCase[] cases =
        [
            new(2, 66, 13, 13, 100, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, true),
            new(1, 7, 9, 5, 13, 3, 3, (2, 1), (1, 0, 1, 2), (1, 1), 1, false),
            ConvCases.All[2], ConvCases.All[6], ConvCases.All[14],
        ];
        foreach (var c in cases)
        {
            var g = c.Geometry;
            var packed = new PackedConvWeights(ConvCases.Weight(c), c.K, c.C / c.Groups, c.KH, c.KW, c.Groups, lvl);
            var bias = c.HasBias ? ConvCases.Bias(c) : default;
            int n = g.N * g.K * g.OutH * g.OutW;
            var residual = GradCheck.RandomValues(n, 77);
            foreach (bool relu in new[] { false, true })
            {
                var plain = new float[n];
                ConvGemm.Forward(ConvCases.Input(c), packed, bias, plain, g, relu: false, 1, long.MaxValue);
                var expected = plain.Select((v, i) => v + residual[i]).Select(v => relu ? Math.Max(v, 0f) : v).ToArray();
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    var y = new float[n];
                    Array.Fill(y, float.NaN);
                    ConvGemm.Forward(ConvCases.Input(c), packed, bias, residual, y, g, relu, threads, parallelThresholdMacs: 0);
                    Assert.Equal(expected, y);
                }
                if (relu) Assert.Contains(expected, v => v == 0f);
            }
        }
    }

    [Fact]
    public void Residual_of_the_wrong_length_or_overlapping_the_output_is_rejected()
    {
        var g = Conv2dGeometry.Create([1, 1, 2, 3], [1, 1, 1, 1], (1, 1), (0, 0), (1, 1), 1);
        var packed = new PackedConvWeights([1f], 1, 1, 1, 1, 1, Isa.Level);
        var y = new float[6];
        Assert.Throws<ArgumentException>(() => ConvGemm.Forward(new float[6], packed, default, new float[5], y, g, relu: false));
        var e = Assert.Throws<ArgumentException>(() => ConvGemm.Forward(new float[6], packed, default, y, y, g, relu: false));
        Assert.Contains("overlaps", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    [InlineData(5, 2)]
    [InlineData(9, 2)]
    public void Dynamic_units_on_odd_sizes_give_the_single_thread_result(int batch, int threads)
    {
        // 17x11 output (187 pixels: 11 full panels and one of 11 at V256), 31 output channels (an edge row panel), many
        // units per image (threshold 0): pixel-range units, and for batches of at least threads·UnitsPerThread whole images.
        var c = new ConvCase(batch, 6, 17, 11, 31, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, true);
        var expected = Run(c, Isa.Level, relu: true);
        for (int repeat = 0; repeat < 3; repeat++) Assert.Equal(expected, Run(c, Isa.Level, relu: true, threads, threshold: 0));
    }

    [Fact]
    public void Split_cuts_small_batches_by_pixels_or_by_channels_over_shared_columns_and_keeps_units_large_enough()
    {
        var blk = ConvGemm.BlockingFor(IsaLevel.V256);
        ConvGemm.WorkSplit For(int n, int c, int hw, int k, int threads, int groups = 1)
        {
            var g = Conv2dGeometry.Create([n, c, hw, hw], [k, c / groups, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), groups);
            return ConvGemm.Split(g, blk, (k / groups + blk.MR - 1) / blk.MR * blk.MR, threads);
        }
        int target = 2 * ConvGemm.UnitsPerThread;
        // ResNet-18 layers 1 and 2 (3136 and 784 pixels, 64 and 128 channels): pixel parts only.
        Assert.Equal(new ConvGemm.WorkSplit(target, 1, false), For(1, 64, 56, 64, 2));
        Assert.Equal(new ConvGemm.WorkSplit(target, 1, false), For(1, 128, 28, 128, 2));
        // Layers 3 and 4 (196 and 49 pixels, 256 and 512 channels): shared columns, output channels split.
        Assert.Equal(new ConvGemm.WorkSplit(1, target, true), For(1, 256, 14, 256, 2));
        Assert.Equal(new ConvGemm.WorkSplit(1, target, true), For(1, 512, 7, 512, 2));
        // Grouped: no shared columns; 4 pixel panels, then output channels.
        Assert.Equal(new ConvGemm.WorkSplit(4, 2, false), For(1, 512, 7, 512, 2, groups: 2));
        // Enough images: whole images.
        Assert.Equal(new ConvGemm.WorkSplit(1, 1, false), For(target, 64, 56, 64, 2));
        // Two images: half as many parts each.
        Assert.Equal(new ConvGemm.WorkSplit(target / 2, 1, false), For(2, 64, 56, 64, 2));
        // A small convolution (147K multiply-adds): one unit.
        Assert.Equal(new ConvGemm.WorkSplit(1, 1, false), For(1, 8, 16, 8, 2));
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    [InlineData(3, 2)]
    public void Shared_columns_give_the_single_thread_result_at_every_level(int batch, int threads)
    {
        // More output channels than pixels: 45 channels (edge row panel) over 5x4 = 20 pixels (a full and an edge panel at
        // V256), padding, stride 2 in W, several KC slices (Small blocks: KC 7, NC 2 panels), plus a residual.
        var c = new ConvCase(batch, 9, 6, 8, 45, 3, 3, (1, 2), (0, 1, 1, 1), (1, 1), 1, true);
        var g = c.Geometry;
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V256, IsaLevel.V512 })
        {
            var d = ConvGemm.BlockingFor(level);
            foreach (var blk in new[] { d, d with { MC = d.MR * 2, KC = 7, NC = d.NR * 2 } })
            {
                Assert.True(ConvGemm.Split(g, blk, (c.K + blk.MR - 1) / blk.MR * blk.MR, threads, minUnitMacs: 0).SharedColumns);
                var packed = new PackedConvWeights(ConvCases.Weight(c), c.K, c.C, c.KH, c.KW, 1, level, blk);
                var residual = GradCheck.RandomValues(g.N * g.K * g.OutH * g.OutW, 5);
                var expected = new float[residual.Length];
                ConvGemm.Forward(ConvCases.Input(c), packed, ConvCases.Bias(c), residual, expected, g, true, 1, long.MaxValue);
                var y = new float[residual.Length];
                Array.Fill(y, float.NaN);
                Scratch.GetSpan(Scratch.Slot.SharedColumns, 1 << 16).Fill(float.NaN);
                ConvGemm.Forward(ConvCases.Input(c), packed, ConvCases.Bias(c), residual, y, g, true, threads, 0);
                Assert.Equal(expected, y);
            }
        }
        var reference = Expected(c, relu: false);
        TensorAssert.Close(reference, Run(c, Isa.Level, relu: false, threads, threshold: 0), Tolerance.Accumulated, c.ToString());
    }

    [Fact]
    public void Relu_keeps_nan_and_clamps_negative_values()
    {
        // 1x1 convolution with weight 1: the output is the input, then ReLU.
        float[] x = [-2f, float.NaN, 3f, -0.5f, float.NegativeInfinity, 7f];
        var g = Conv2dGeometry.Create([1, 1, 2, 3], [1, 1, 1, 1], (1, 1), (0, 0), (1, 1), 1);
        var packed = new PackedConvWeights([1f], 1, 1, 1, 1, 1, Isa.Level);
        var y = new float[6];
        ConvGemm.Forward(x, packed, default, y, g, relu: true);
        Assert.Equal(0f, y[0]);
        Assert.True(float.IsNaN(y[1]));
        Assert.Equal(new[] { 3f, 0f, 0f, 7f }, y[2..]);
    }

    [Fact]
    public void Weights_packed_for_another_shape_are_rejected()
    {
        var packed = new PackedConvWeights(new float[4 * 2 * 9], 4, 2, 3, 3, 1, IsaLevel.V256);
        var g = Conv2dGeometry.Create([1, 2, 5, 5], [4, 2, 1, 1], (1, 1), (0, 0), (1, 1), 1);
        var e = Assert.Throws<ArgumentException>(() => ConvGemm.Forward(new float[50], packed, default, new float[100], g, relu: false));
        Assert.Contains("do not match", e.Message, StringComparison.Ordinal);
        Assert.False(packed.Matches(Conv2dGeometry.Create([1, 2, 5, 5], [4, 2, 3, 3], (1, 1), (0, 0), (1, 1), 1), IsaLevel.Scalar));
    }

    [Fact]
    public void Packing_rejects_a_wrong_weight_length_and_a_blocking_of_another_tile()
    {
        Assert.Throws<ArgumentException>(() => new PackedConvWeights(new float[10], 4, 2, 3, 3, 1, IsaLevel.V256));
        var v512 = ConvGemm.BlockingFor(IsaLevel.V512);
        Assert.Throws<ArgumentException>(() => new PackedConvWeights(new float[72], 4, 2, 3, 3, 1, IsaLevel.V256, v512));
    }
}
