using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// The thin last-panel kernel of the 8x32 Vector512 tile (<see cref="Gemm.ThinEdgeV512"/>: 1-4 columns, B read in place,
/// four A panels at a time): <see cref="PointwiseConv"/> on pixel counts whose last panel has 1-4 columns must give
/// exactly the bits of the full tile, for any number of A panels (remainders of the groups of four, partial last panels),
/// several KC slices and MC blocks and every epilogue; at every level the values of naive loops.
/// </summary>
public sealed class ThinEdgeTileTests
{
    /// <summary>Pixel counts: last panels of 1 (33), 2 (98: a 7-row band of a 14x14 map), 3 (3), 4 (196: 14x14), and 5
    /// (37: not thin) columns.</summary>
    private static readonly int[] Pixels = [33, 98, 3, 196, 37];

    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    private static float[] Run(float[] x, PackedConvWeights packed, float[] b, float[] r, int n, int c, int p, int k, bool relu, float max)
    {
        var g = Conv2dGeometry.Create([n, c, 1, p], [k, c, 1, 1], (1, 1), (0, 0, 0, 0), (1, 1), 1, "pointwise");
        var y = new float[n * k * p];
        Array.Fill(y, float.NaN); // every output must be written
        PointwiseConv.Forward(x, packed, b, r, y, g, relu, max, 1, long.MaxValue);
        return y;
    }

    /// <summary>
    /// Each image's P pixels placed as the first P of a row of whole 32-wide panels with other values after them: every
    /// pixel is computed on its own, so the first P outputs of the wide image come from full tiles and must equal the
    /// thin image's bit for bit.
    /// </summary>
    [Theory]
    [InlineData(8, 23)] // one A panel
    [InlineData(13, 23)] // two panels, the last partial
    [InlineData(40, 64)] // five: a group of four and one
    [InlineData(96, 96)] // twelve: three groups (MobileNet-v2's 96-channel projection)
    [InlineData(61, 200)] // eight panels, the last partial; two KC slices at the default blocking
    public void Thin_last_panels_give_the_bits_of_the_full_tile(int k, int c)
    {
        const int n = 2;
        var w = GradCheck.RandomValues(k * c, 3);
        var b = GradCheck.RandomValues(k, 4);
        var d = ConvGemm.BlockingFor(IsaLevel.V512);
        foreach (int p in Pixels)
        {
            int wide = (p + 31) / 32 * 32;
            var (x, xWide) = NarrowEdgeTileTests.Widened(n * c, p, wide, p);
            var (r, rWide) = NarrowEdgeTileTests.Widened(n * k, p, wide, p + 1);
            // The default blocks, and small MC and KC blocks: several MC blocks and KC slices (the tile accumulates over slices).
            foreach (var blocking in new ConvGemm.Blocking?[] { null, new ConvGemm.Blocking(d.MR, d.NR, 3 * d.MR, 7, d.NC) })
            {
                var packed = new PackedConvWeights(w, k, c, 1, 1, 1, IsaLevel.V512, blocking);
                foreach (var (res, relu, max) in new[] { (true, true, 6f), (false, false, float.PositiveInfinity) })
                {
                    var y = Run(x, packed, b, res ? r : [], n, c, p, k, relu, max);
                    var yWide = Run(xWide, packed, b, res ? rWide : [], n, c, wide, k, relu, max);
                    for (int row = 0; row < n * k; row++)
                        for (int q = 0; q < p; q++)
                            if (BitConverter.SingleToInt32Bits(y[row * p + q]) != BitConverter.SingleToInt32Bits(yWide[row * wide + q]))
                                Assert.Fail($"K {k}, C {c}, P {p}, {blocking}, residual {res}: y[{row}, {q}] = {y[row * p + q]:R}, full tile {yWide[row * wide + q]:R}");
                }
            }
        }
    }

    /// <summary>The same bits with the thin kernel off (the 8x16 narrow tile on a packed panel), at every level, and the
    /// values of naive loops.</summary>
    [Theory, MemberData(nameof(Levels))]
    public void Thin_edges_match_the_narrow_tile_and_naive_loops_at_every_level(int level)
    {
        const int n = 1, c = 37, k = 45;
        var w = GradCheck.RandomValues(k * c, 7);
        var b = GradCheck.RandomValues(k, 8);
        var packed = new PackedConvWeights(w, k, c, 1, 1, 1, (IsaLevel)level);
        foreach (int p in Pixels)
        {
            var x = GradCheck.RandomValues(n * c * p, p + 9);
            var r = GradCheck.RandomValues(n * k * p, p + 10);
            var on = Run(x, packed, b, r, n, c, p, k, true, 6f);
            // The switch changes only which kernel computes the last panel, never a bit, so other tests running meanwhile are unaffected.
            Gemm.ThinEdges = false;
            float[] off;
            try
            {
                off = Run(x, packed, b, r, n, c, p, k, true, 6f);
            }
            finally
            {
                Gemm.ThinEdges = true;
            }
            Assert.Equal(off, on);
            TensorAssert.Close(NarrowEdgeTileTests.Naive(w, b, x, r, c, p, k), on, Tolerance.Accumulated, $"{(IsaLevel)level} P {p}");
        }
    }
}
