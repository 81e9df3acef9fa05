using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Tests.Kernels.Direct.DirectConv2dTests;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// Block tiles of several output rows (<see cref="DirectConv2d.UsesBlockTiles"/>) against the row tiles they replace on
/// small maps: the same output bits (forward with bias, ReLU and statistics, and the input gradient), on every SIMD
/// path, for every (kernel 1 or 3, padding 0 or 1) over 3x3 to 14x14 inputs; and the forward against the double
/// reference.
/// </summary>
public sealed unsafe class DirectConv2dBlockTileTests
{
    /// <summary>(size, in channels, out channels, path) for sizes 3, 4, 5, 7, 8, 14, C in {3, 16, 32}, K in {16, 32, 64}.</summary>
    public static TheoryData<int, int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (IsaLevel path in Enum.GetValues<IsaLevel>())
            foreach (int size in new[] { 3, 4, 5, 7, 8, 14 })
                foreach (int c in new[] { 3, 16, 32 })
                    foreach (int k in new[] { 16, 32, 64 })
                        data.Add(size, c, k, (int)path);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Block_tiles_give_the_row_tiles_bits(int size, int c, int k, int pathIndex)
    {
        var path = (IsaLevel)pathIndex;
        foreach (int ks in new[] { 1, 3 })
            foreach (int p in new[] { 0, 1 })
            {
                var rows = new DirectConv2d(c, k, ks, p, size, size, path, multiRowTiles: false);
                var blocks = new DirectConv2d(c, k, ks, p, size, size, path, multiRowTiles: true);
                string at = $"{size}x{size} C={c} K={k} k={ks} p={p} {path}";
                Assert.False(rows.UsesBlockTiles, at);
                // Block tiles wherever two output rows fit the accumulators (NV vectors of Lanes channels per pixel).
                int nv = path == IsaLevel.V512 && k % 32 != 0 ? 1 : 2;
                bool narrow = 2 * rows.OutWidth * nv <= Isa.Accumulators(path) && rows.OutHeight >= 2;
                Assert.True(blocks.UsesBlockTiles == narrow, $"{at}: UsesBlockTiles {blocks.UsesBlockTiles}, expected {narrow}");

                var rng = new Random(size * 7919 + c * 101 + k * 13 + ks * 3 + p);
                double[] x = Random(rng, c * size * size), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
                var xb = ToPaddedBlocked(x, c, size, size, p);
                var bias = new AlignedBuffer(k);
                ToFloat(b).CopyTo(bias.Span);
                foreach (bool relu in new[] { false, true })
                {
                    var (yA, sA, qA) = Forward(rows, xb, ToFloat(wt), bias, relu);
                    var (yB, sB, qB) = Forward(blocks, xb, ToFloat(wt), bias, relu);
                    AssertSameBits(yA, yB, $"{at} relu={relu} y");
                    AssertSameBits(sA, sB, $"{at} relu={relu} sum");
                    AssertSameBits(qA, qB, $"{at} relu={relu} sumSq");
                }
                GC.KeepAlive(xb);
                GC.KeepAlive(bias);

                if (c % 16 != 0 || p > ks - 1) continue; // planar inputs and k=1 with padding have no direct input-gradient plan
                // The input gradient: the forward of ForBackwardInput's plan, which inherits the choice.
                var dxRows = DirectConv2d.ForBackwardInput(rows);
                var dxBlocks = DirectConv2d.ForBackwardInput(blocks);
                Assert.True(dxBlocks.MultiRowPlanned && !dxRows.MultiRowPlanned, at);
                double[] dy = Random(rng, k * rows.OutHeight * rows.OutWidth);
                var dyPad = ToPaddedBlocked(dy, k, rows.OutHeight, rows.OutWidth, dxRows.Padding);
                var (dxA, _, _) = Forward(dxRows, dyPad, ToFloat(wt), null, relu: false, transposeAndFlip: true);
                var (dxB, _, _) = Forward(dxBlocks, dyPad, ToFloat(wt), null, relu: false, transposeAndFlip: true);
                AssertSameBits(dxA, dxB, $"{at} dx");
                GC.KeepAlive(dyPad);
            }
    }

    /// <summary>The block-tiled forward against the double reference (ReLU and statistics included) where block tiles are planned.</summary>
    [Theory, MemberData(nameof(Cases))]
    public void Block_tiles_match_double_reference(int size, int c, int k, int pathIndex)
    {
        var path = (IsaLevel)pathIndex;
        const int ks = 3, p = 1;
        var plan = new DirectConv2d(c, k, ks, p, size, size, path, multiRowTiles: true);
        if (!plan.UsesBlockTiles) return;
        var rng = new Random(size * 31 + c * 7 + k);
        double[] x = Random(rng, c * size * size), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
        double[] expected = Reference(x, wt, b, c, k, ks, p, size, size, out int ho, out int wo);
        var xb = ToPaddedBlocked(x, c, size, size, p);
        var bias = new AlignedBuffer(k);
        ToFloat(b).CopyTo(bias.Span);
        foreach (bool relu in new[] { false, true })
        {
            var y = new GuardedBuffer(plan.OutputImage);
            var sum = new GuardedBuffer(k);
            var sumSq = new GuardedBuffer(k);
            var packed = new AlignedBuffer(plan.WeightLength);
            plan.PackWeights(ToFloat(wt), transposeAndFlip: false, packed.Pointer);
            plan.ForwardImage(xb.Pointer, packed.Pointer, bias.Pointer, y.Pointer, plan.OutputPlane, wo * 16, sum.Pointer, sumSq.Pointer, relu);
            GC.KeepAlive(xb);
            GC.KeepAlive(bias);
            GC.KeepAlive(packed);
            y.AssertIntact("y");
            sum.AssertIntact("sum");
            sumSq.AssertIntact("sumSq");
            var want = relu ? Array.ConvertAll(expected, v => Math.Max(v, 0)) : expected;
            TensorAssert.Close(want, FromBlocked(y.Span, k, ho, wo), Tolerance.Accumulated, $"forward relu={relu}");
            AssertChannelSums(want, sum.Span, sumSq.Span, k, ho * wo, sumStart: 0);
        }
    }

    /// <summary>
    /// Runs <paramref name="plan"/> on one image into the interior of an output with a one-pixel border (row and plane
    /// strides wider than the output, as when it feeds the next layer's padded buffer); returns that whole buffer and
    /// the statistics (which start from nonzero values, to check they are added to).
    /// </summary>
    private static (float[] Y, float[] Sum, float[] SumSq) Forward(DirectConv2d plan, AlignedBuffer x, float[] weight, AlignedBuffer? bias, bool relu,
        bool transposeAndFlip = false)
    {
        int ho = plan.OutHeight, wo = plan.OutWidth, k = plan.OutChannels;
        int yRow = (wo + 2) * 16, yPlane = (ho + 2) * yRow;
        var packed = new AlignedBuffer(plan.WeightLength);
        plan.PackWeights(weight, transposeAndFlip, packed.Pointer);
        var y = new GuardedBuffer(k / 16 * yPlane);
        var sum = new GuardedBuffer(k);
        var sumSq = new GuardedBuffer(k);
        for (int i = 0; i < k; i++)
        {
            sum.Span[i] = 0.25f * i;
            sumSq.Span[i] = 1.5f + i;
        }
        bool stats = bias is not null;
        plan.ForwardImage(x.Pointer, packed.Pointer, bias is null ? null : bias.Pointer, y.Pointer + yRow + 16, yPlane, yRow,
            stats ? sum.Pointer : null, stats ? sumSq.Pointer : null, relu);
        GC.KeepAlive(packed);
        GC.KeepAlive(x);
        GC.KeepAlive(bias);
        y.AssertIntact("y");
        sum.AssertIntact("sum");
        sumSq.AssertIntact("sumSq");
        return (y.Span.ToArray(), sum.Span.ToArray(), sumSq.Span.ToArray());
    }

    private static void AssertSameBits(float[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
            if (BitConverter.SingleToInt32Bits(want[i]) != BitConverter.SingleToInt32Bits(got[i]))
                Assert.Fail($"{what}: element {i} is {got[i]:R}, row tiles give {want[i]:R}");
    }
}
