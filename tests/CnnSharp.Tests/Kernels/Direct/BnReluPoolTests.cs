using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// The fused batch-norm epilogue kernels (forward, backward pass A, pass B) for every combination of ReLU and 2x2 max
/// pooling, on every SIMD path, against a plain reference over the blocked layout.
/// </summary>
/// <remarks>Inputs are multiples of 1/64 and the affine map uses short binary fractions, so z = y·scale + shift is exact on
/// both sides and ties in the pooling window (frequent on this grid) must go to the same, first, position.</remarks>
public sealed unsafe class BnReluPoolTests
{
    public static TheoryData<int, bool, bool, int, int> Cases()
    {
        var data = new TheoryData<int, bool, bool, int, int>();
        foreach (IsaLevel path in Enum.GetValues<IsaLevel>())
            foreach (bool relu in new[] { false, true })
                foreach (bool pool in new[] { false, true })
                {
                    data.Add((int)path, relu, pool, 6, 8);
                    data.Add((int)path, relu, pool, 7, 5);
                }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Forward_and_both_backward_passes_match_the_reference(int pathIndex, bool relu, bool pool, int h, int w)
    {
        var path = (IsaLevel)pathIndex;
        const int blocks = 2, channels = 32;
        var rng = new Random(h * 100 + w + (relu ? 1 : 0) + (pool ? 2 : 0));
        int ph = pool ? h / 2 : h, pw = pool ? w / 2 : w;
        var y = Buffer(rng, channels * h * w, 64);
        var g = Buffer(rng, channels * ph * pw, 64);
        var scale = Buffer(rng, channels, 8);
        var shift = Buffer(rng, channels, 16);
        var mean = Buffer(rng, channels, 16);
        var invStd = Buffer(rng, channels, 8);
        var coefA = Buffer(rng, channels, 8);
        var coefB = Buffer(rng, channels, 8);
        var coefC = Buffer(rng, channels, 8);
        // Destinations with strides wider than the image (as the next conv's padded input), filled with a marker.
        int dstRow = (pw + 3) * 16, dstPlane = (ph + 2) * dstRow;
        var dst = new GuardedBuffer(blocks * dstPlane);
        dst.Span.Fill(-7f);
        BnReluPool.Forward(path, relu, pool, y.Pointer, blocks, h, w, scale.Pointer, shift.Pointer, dst.Pointer, dstPlane, dstRow);

        var sums = new double[3 * channels];
        int dxRow = (w + 1) * 16, dxPlane = (h + 1) * dxRow;
        var dx = new GuardedBuffer(blocks * dxPlane);
        fixed (double* s = sums)
        {
            BnReluPool.BackwardStats(path, relu, pool, y.Pointer, blocks, h, w, scale.Pointer, shift.Pointer, mean.Pointer, invStd.Pointer, g.Pointer,
                ph * pw * 16, pw * 16, s, s + channels);
            BnReluPool.BackwardInput(path, relu, pool, y.Pointer, blocks, h, w, scale.Pointer, shift.Pointer, g.Pointer, ph * pw * 16, pw * 16,
                coefA.Pointer, coefB.Pointer, coefC.Pointer, dx.Pointer, dxPlane, dxRow, s + 2 * channels);
        }
        GC.KeepAlive(y);
        GC.KeepAlive(g);
        dst.AssertIntact("dst");
        dx.AssertIntact("dx");

        for (int c = 0; c < channels; c++)
        {
            int cb = c / 16, l = c % 16;
            float Y(int i, int j) => y.Span[(cb * h * w + i * w + j) * 16 + l];
            float Z(int i, int j) => Y(i, j) * scale.Span[c] + shift.Span[c];
            var dz = new double[h, w];
            for (int i = 0; i < ph; i++)
                for (int j = 0; j < pw; j++)
                {
                    int bi = pool ? 2 * i : i, bj = pool ? 2 * j : j, ai = bi, aj = bj, size = pool ? 2 : 1;
                    for (int a = 0; a < size; a++)
                        for (int b = 0; b < size; b++)
                            if (Z(bi + a, bj + b) > Z(ai, aj)) (ai, aj) = (bi + a, bj + b);
                    float m = Z(ai, aj);
                    float want = relu ? Math.Max(m, 0f) : m;
                    Assert.Equal(want, dst.Span[cb * dstPlane + i * dstRow + j * 16 + l]);
                    if (!relu || m > 0) dz[ai, aj] = g.Span[(cb * ph * pw + i * pw + j) * 16 + l];
                }
            Assert.Equal(-7f, dst.Span[cb * dstPlane + ph * dstRow + l]); // nothing written outside the image
            double sumDz = 0, sumDzX = 0, sumDx = 0;
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                {
                    sumDz += dz[i, j];
                    sumDzX += dz[i, j] * (Y(i, j) - mean.Span[c]) * invStd.Span[c];
                    double want = coefA.Span[c] * dz[i, j] + coefC.Span[c] * Y(i, j) + coefB.Span[c];
                    sumDx += want;
                    Assert.Equal(want, dx.Span[cb * dxPlane + i * dxRow + j * 16 + l], 4);
                }
            Assert.Equal(sumDz, sums[c], 3);
            Assert.Equal(sumDzX, sums[channels + c], 3);
            Assert.Equal(sumDx, sums[2 * channels + c], 3);
        }
    }

    private static AlignedBuffer Buffer(Random rng, int length, int denominator)
    {
        var b = new AlignedBuffer(length);
        for (int i = 0; i < length; i++) b.Span[i] = rng.Next(-2 * denominator, 2 * denominator + 1) / (float)denominator;
        return b;
    }
}
