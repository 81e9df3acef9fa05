using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The narrow last-panel kernels of the 8x32 Vector512 tile (<see cref="Gemm.EdgeTileV512"/>): an image whose pixel count
/// leaves a last panel of 1..17 columns (7x7 = 32 + 17, 14x14 = 6·32 + 4) must give exactly the bits of the full tile, in
/// <see cref="ConvGemm"/>'s packing driver and in <see cref="PointwiseConv"/>'s in-place one, with every epilogue and
/// several KC slices, and at every other level the values of naive loops.
/// </summary>
public sealed class NarrowEdgeTileTests
{
    /// <summary>Pixel counts: last panels of 17 (7x7), 4 (14x14), 16, 1, 9 and 18 columns (18: still the full tile).</summary>
    private static readonly (int H, int W)[] Maps = [(7, 7), (14, 14), (4, 4), (1, 1), (3, 3), (5, 10)];

    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    private static Conv2dGeometry Pointwise(int n, int c, int h, int w, int k) =>
        Conv2dGeometry.Create([n, c, h, w], [k, c, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pointwise");

    /// <summary>
    /// y = min(relu((W·x + b) + r), 6) by <see cref="ConvGemm.Forward(ReadOnlySpan{float}, PackedConvWeights, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, in Conv2dGeometry, bool, int, long, float)"/>
    /// (which hands 1x1 convolutions with at most 16 rows to PointwiseConv at V512).
    /// </summary>
    private static float[] Run(float[] x, float[] w, float[] b, float[] r, int n, int c, int h, int wd, int k, IsaLevel level, ConvGemm.Blocking? blocking)
    {
        var packed = new PackedConvWeights(w, k, c, 1, 1, 1, level, blocking);
        var y = new float[n * k * h * wd];
        Array.Fill(y, float.NaN); // every output must be written
        ConvGemm.Forward(x, packed, b, r, y, Pointwise(n, c, h, wd, k), true, 1, long.MaxValue, 6f);
        return y;
    }

    /// <summary>
    /// Each image's P pixels placed as the first P of a row of whole 32-wide panels with other values after them:
    /// a 1x1 convolution computes every pixel on its own, so the first P outputs of the wide image come from full tiles
    /// and must equal the narrow image's bit for bit.
    /// </summary>
    [Theory]
    [InlineData(40)] // ConvGemm's packing driver (40 rows: 5 panels of 8)
    [InlineData(13)] // PointwiseConv (at most 2 panels of 8 rows), K not a multiple of 8
    public void Narrow_last_panels_give_the_bits_of_the_full_tile(int k)
    {
        const int n = 2, c = 23;
        var w = GradCheck.RandomValues(k * c, 3);
        var b = GradCheck.RandomValues(k, 4);
        foreach (var (h, wd) in Maps)
        {
            int p = h * wd, wide = (p + 31) / 32 * 32;
            var (x, xWide) = Widened(n * c, p, wide, p);
            var (r, rWide) = Widened(n * k, p, wide, p + 1);
            var d = ConvGemm.BlockingFor(IsaLevel.V512);
            foreach (var blocking in new ConvGemm.Blocking?[] { null, new ConvGemm.Blocking(d.MR, d.NR, 2 * d.MR, 5, d.NR) })
            {
                var y = Run(x, w, b, r, n, c, h, wd, k, IsaLevel.V512, blocking);
                var yWide = Run(xWide, w, b, rWide, n, c, 1, wide, k, IsaLevel.V512, blocking);
                for (int row = 0; row < n * k; row++)
                    for (int q = 0; q < p; q++)
                        if (BitConverter.SingleToInt32Bits(y[row * p + q]) != BitConverter.SingleToInt32Bits(yWide[row * wide + q]))
                            Assert.Fail($"K {k}, {h}x{wd}, {blocking}: y[{row}, {q}] = {y[row * p + q]:R}, full tile {yWide[row * wide + q]:R}");
            }
        }
    }

    /// <summary>
    /// <see cref="PointwiseConv.Block"/> on a 7x7 map's 49 pixels with B rows at <see cref="PointwiseConv.AlignedPitch"/>
    /// (80 floats, where V512 reads the 17-column edge in place, <see cref="Gemm.StridedEdgeTileV512"/>): the same bits
    /// as with the edge packed first, for one and several KC slices, K not a multiple of 8, every epilogue, and close to
    /// naive loops at every level. The floats past the 49 pixels of each row are NaN, so a read beyond the edge shows.
    /// </summary>
    [Theory, MemberData(nameof(Levels))]
    public unsafe void The_in_place_17_column_edge_gives_the_bits_of_the_packed_edge(int level)
    {
        const int p = 49, k = 21;
        int pitch = (int)PointwiseConv.AlignedPitch(p);
        Assert.Equal(80, pitch);
        var d = ConvGemm.BlockingFor(IsaLevel.V512);
        foreach (int c in new[] { 23, 200 })
            foreach (var blocking in new ConvGemm.Blocking?[] { null, new ConvGemm.Blocking(d.MR, d.NR, 2 * d.MR, 5, d.NR) })
            {
                if (blocking is not null && (IsaLevel)level != IsaLevel.V512) continue;
                var w = GradCheck.RandomValues(k * c, c);
                var b = GradCheck.RandomValues(k, c + 1);
                var x = GradCheck.RandomValues(c * p, c + 2);
                var r = GradCheck.RandomValues(k * p, c + 3);
                var packed = new PackedConvWeights(w, k, c, 1, 1, 1, (IsaLevel)level, blocking);
                var xs = new float[c * pitch];
                Array.Fill(xs, float.NaN);
                for (int row = 0; row < c; row++) Array.Copy(x, row * p, xs, row * pitch, p);
                foreach (bool epilogue in new[] { false, true })
                {
                    var inPlace = new float[k * p];
                    var copied = new float[k * p];
                    fixed (float* px = xs, pw = b, pr = r, pi = inPlace, pc = copied)
                    {
                        float* bias = epilogue ? pw : null, res = epilogue ? pr : null;
                        float max = epilogue ? 6f : float.PositiveInfinity;
                        PointwiseConv.Block(packed, px, pitch, pi, p, res, bias, 0, p, 0, k, epilogue, max);
                        // Only which kernel reads the edge changes, never a bit, so other tests running meanwhile are unaffected.
                        Gemm.StridedEdges = false;
                        try
                        {
                            PointwiseConv.Block(packed, px, pitch, pc, p, res, bias, 0, p, 0, k, epilogue, max);
                        }
                        finally
                        {
                            Gemm.StridedEdges = true;
                        }
                    }
                    Assert.Equal(copied, inPlace);
                    var naive = new double[k * p];
                    for (int o = 0; o < k; o++)
                        for (int q = 0; q < p; q++)
                        {
                            double s = 0;
                            for (int ch = 0; ch < c; ch++) s += (double)w[o * c + ch] * x[ch * p + q];
                            naive[o * p + q] = epilogue ? Math.Min(Math.Max(s + b[o] + r[o * p + q], 0), 6) : s;
                        }
                    TensorAssert.Close(naive, inPlace, Tolerance.Accumulated, $"{(IsaLevel)level} C {c} {blocking} epilogue {epilogue}");
                }
            }
    }

    /// <summary><see cref="PointwiseConv.AlignedPitch"/>: whole 64-byte lines, an odd number of them (so B rows spread
    /// over all of L1's sets), at least the plane.</summary>
    [Fact]
    public void Aligned_pitch_is_an_odd_number_of_cache_lines()
    {
        Assert.True(PointwiseConv.OddLinePitch);
        foreach (var (pixels, pitch) in new[] { (1, 16), (16, 16), (17, 48), (32, 48), (49, 80), (64, 80), (65, 80), (196, 208), (784, 784) })
            Assert.Equal(pitch, (int)PointwiseConv.AlignedPitch(pixels));
    }

    /// <summary>A 3x3 padded convolution on 7x7 maps (ConvGemm with packed windows): the same bits with the narrow kernels off.</summary>
    [Fact]
    public void A_3x3_convolution_gives_the_same_bits_with_the_narrow_kernels_off()
    {
        const int n = 1, c = 5, h = 7, wd = 7, k = 19;
        var g = Conv2dGeometry.Create([n, c, h, wd], [k, c, 3, 3], (1, 1), (1, 1), (1, 1), 1);
        var x = GradCheck.RandomValues(n * c * h * wd, 5);
        var w = GradCheck.RandomValues(k * c * 9, 6);
        var packed = new PackedConvWeights(w, k, c, 3, 3, 1, IsaLevel.V512);
        var on = new float[n * k * h * wd];
        var off = new float[on.Length];
        ConvGemm.Forward(x, packed, default, default, on, g, false, 1, long.MaxValue);
        // The switch changes only which kernel computes the last panel, never a bit, so other tests running meanwhile are unaffected.
        Gemm.NarrowEdges = false;
        try
        {
            ConvGemm.Forward(x, packed, default, default, off, g, false, 1, long.MaxValue);
        }
        finally
        {
            Gemm.NarrowEdges = true;
        }
        Assert.Equal(off, on);
        var naive = new double[on.Length];
        for (int o = 0; o < k; o++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < wd; j++)
                {
                    double s = 0;
                    for (int ch = 0; ch < c; ch++)
                        for (int u = 0; u < 3; u++)
                            for (int v = 0; v < 3; v++)
                            {
                                int yi = i + u - 1, xj = j + v - 1;
                                if (yi >= 0 && yi < h && xj >= 0 && xj < wd) s += (double)w[((o * c + ch) * 3 + u) * 3 + v] * x[(ch * h + yi) * wd + xj];
                            }
                    naive[(o * h + i) * wd + j] = s;
                }
        TensorAssert.Close(naive, on, Tolerance.Accumulated, "3x3 on 7x7");
    }

    /// <summary>The 7x7 and 14x14 pixel counts at every level against naive loops (the narrow kernels are V512's only).</summary>
    [Theory, MemberData(nameof(Levels))]
    public void Small_maps_match_naive_loops_at_every_level(int level)
    {
        const int n = 1, c = 30, k = 20;
        var w = GradCheck.RandomValues(k * c, 7);
        var b = GradCheck.RandomValues(k, 8);
        foreach (var (h, wd) in Maps)
        {
            int p = h * wd;
            var x = GradCheck.RandomValues(n * c * p, p + 9);
            var r = GradCheck.RandomValues(n * k * p, p + 10);
            var y = Run(x, w, b, r, n, c, h, wd, k, (IsaLevel)level, null);
            TensorAssert.Close(Naive(w, b, x, r, c, p, k), y, Tolerance.Accumulated, $"{(IsaLevel)level} {h}x{wd}");
        }
    }

    /// <summary>Random rows of <paramref name="p"/> values, and the same rows as the first <paramref name="p"/> of rows of
    /// <paramref name="wide"/> (other random values after them).</summary>
    internal static (float[] Narrow, float[] Wide) Widened(int rows, int p, int wide, int seed)
    {
        var narrow = GradCheck.RandomValues(rows * p, seed);
        var widened = GradCheck.RandomValues(rows * wide, seed + 1000);
        for (int row = 0; row < rows; row++) Array.Copy(narrow, row * p, widened, row * wide, p);
        return (narrow, widened);
    }

    /// <summary>One image's <c>min(max(W·x + b + r, 0), 6)</c> (K × P) in float64: the 1x1 convolutions' reference.</summary>
    internal static double[] Naive(float[] w, float[] b, float[] x, float[] r, int c, int p, int k)
    {
        var naive = new double[k * p];
        for (int o = 0; o < k; o++)
            for (int q = 0; q < p; q++)
            {
                double s = 0;
                for (int ch = 0; ch < c; ch++) s += (double)w[o * c + ch] * x[ch * p + q];
                naive[o * p + q] = Math.Min(Math.Max(s + b[o] + r[o * p + q], 0), 6);
            }
        return naive;
    }
}
