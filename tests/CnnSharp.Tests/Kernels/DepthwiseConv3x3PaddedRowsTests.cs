using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// <see cref="DepthwiseConv3x3.ForwardRows"/> reading padded rows in place (<c>padded</c>: the rows an output band reads,
/// with zero rows for the image's padding, as <see cref="ExpandDepthwise"/> keeps them in its buffer) against the same
/// rows copied into the strip buffer (<c>padded</c> false), bit for bit, at every SIMD level: bands at the top, the
/// bottom, inside and the whole image, widths below, at and above a vector, and NaN in everything around the rows the
/// taps may read (the float before each plane's rows, the 16 after, the gaps between planes), which must not leak.
/// </summary>
public sealed class DepthwiseConv3x3PaddedRowsTests
{
    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    [Theory, MemberData(nameof(Levels))]
    public unsafe void Padded_rows_read_in_place_give_the_bits_of_the_copied_rows(int level)
    {
        var isa = (IsaLevel)level;
        foreach (var (c, h, w) in new[] { (3, 14, 14), (2, 7, 7), (5, 9, 20), (2, 1, 1), (4, 6, 3), (2, 5, 33) })
        {
            var g = Conv2dGeometry.Create([1, c, h, w], [c, 1, 3, 3], (1, 1), (1, 1, 1, 1), (1, 1), c, "depthwise");
            var x = GradCheck.RandomValues(c * h * w, c * 100 + h * 10 + w);
            var wt = GradCheck.RandomValues(c * 9, 7);
            var b = GradCheck.RandomValues(c, 8);
            foreach (var (r0, r1) in new[] { (0, h), (0, (h + 1) / 2), ((h + 1) / 2, h), (Math.Min(1, h - 1), Math.Max(h - 1, 1)) })
            {
                if (r0 >= r1) continue;
                var expected = new float[c * h * w];
                var actual = new float[c * h * w];
                Array.Fill(expected, -1f);
                Array.Fill(actual, -1f);
                // Rows r0 − 1 .. r1 of each plane, a zero row where that is outside the image, at a plane pitch with a gap.
                int slots = r1 - r0 + 2;
                nint pitch = slots * w + 5;
                var padded = new float[16 + c * pitch + 16];
                Array.Fill(padded, float.NaN);
                for (int ch = 0; ch < c; ch++)
                    for (int slot = 0; slot < slots; slot++)
                    {
                        int row = r0 - 1 + slot;
                        for (int j = 0; j < w; j++)
                            padded[16 + ch * pitch + slot * w + j] = (uint)row < (uint)h ? x[(ch * h + row) * w + j] : 0f;
                    }
                fixed (float* px = x, pw = wt, pb = b, pe = expected, pa = actual, pp = padded)
                {
                    DepthwiseConv3x3.ForwardRows(px, h * w, pw, pb, pe, h * w, g, r0, r1, 0f, 6f, isa);
                    DepthwiseConv3x3.ForwardRows(pp + 16, pitch, pw, pb, pa, h * w, g, r0, r1, 0f, 6f, isa, padded: true);
                }
                for (int i = 0; i < expected.Length; i++)
                    if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                        Assert.Fail($"{isa} {c}x{h}x{w} rows [{r0}, {r1}): y[{i}] = {actual[i]:R}, copied rows {expected[i]:R}");
            }
        }
    }

    [Fact]
    public unsafe void Padded_rows_are_refused_at_stride_2()
    {
        var g = Conv2dGeometry.Create([1, 2, 8, 8], [2, 1, 3, 3], (2, 2), (1, 1, 1, 1), (1, 1), 2, "depthwise");
        var buffer = new float[512];
        Assert.Throws<ArgumentException>(() =>
        {
            fixed (float* p = buffer)
                DepthwiseConv3x3.ForwardRows(p + 16, 64, p, null, p + 256, 16, g, 0, 4, 0f, 6f, IsaLevel.Scalar, padded: true);
        });
    }
}
