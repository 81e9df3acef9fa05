using CnnSharp.Kernels.Direct;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// <see cref="WinogradConv2d.PackWeights"/> (four output channels per double vector, split into parts by
/// <see cref="WinogradConv2d.PackWeightsPart"/>) has the bits of the scalar transform U = G g G^T computed one weight at a
/// time in double and rounded once, written out here as the reference; forward and transposed-and-flipped weights, 3x3 and
/// 5x5, and every split into parts (which training plans run on several threads at once).
/// </summary>
public sealed unsafe class WinogradPackingTests
{
    [Theory]
    [InlineData(16, 16, 3, false)]
    [InlineData(32, 64, 3, true)]
    [InlineData(64, 32, 3, false)]
    [InlineData(16, 32, 5, true)]
    [InlineData(48, 16, 5, false)]
    public void Vector_packing_has_the_bits_of_the_scalar_transform(int c, int k, int ks, bool transposeAndFlip)
    {
        var plan = transposeAndFlip
            ? WinogradConv2d.ForBackwardInput(new WinogradConv2d(k, c, ks / 2, 8, 8, kernelSize: ks))
            : new WinogradConv2d(c, k, ks / 2, 8, 8, kernelSize: ks);
        var rng = new Random(c + 3 * k + ks);
        // Weights of mixed magnitudes (and exact zeros), so roundings of the double intermediates matter.
        var weight = new float[plan.WeightLength];
        for (int i = 0; i < weight.Length; i++) weight[i] = i % 17 == 0 ? 0f : (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-4, 3)));
        var expected = ScalarReference(plan, weight, transposeAndFlip);

        var packed = new AlignedBuffer(plan.PackedLength);
        plan.PackWeights(weight, transposeAndFlip, packed.Pointer);
        AssertBits(expected, packed.Span, "one call");
        foreach (int parts in new[] { 2, 3, 7 })
        {
            packed.Span.Fill(float.NaN);
            for (int part = parts - 1; part >= 0; part--) plan.PackWeightsPart(weight, transposeAndFlip, packed.Pointer, part, parts);
            AssertBits(expected, packed.Span, $"{parts} parts");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => plan.PackWeightsPart(weight, transposeAndFlip, packed.Pointer, 2, 2));
        GC.KeepAlive(packed);
    }

    private static void AssertBits(float[] expected, Span<float> got, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(got[i]), $"{what}: U[{i}] = {got[i]:R}, scalar {expected[i]:R}");
    }

    // U = G g G^T per (output, input) channel pair in double, layout [K/16][36][C][16]; G's rows for 5 taps [1/4 0 0 0 0],
    // [1 1 1 1 1]/6, [-1 1 -1 1 -1]/6, -[1 2 4 8 16]/24, [1 -2 4 -8 16]/24, [0 0 0 0 1] (3 taps: the first three columns,
    // last row [0 0 1]).
    private static float[] ScalarReference(WinogradConv2d plan, float[] weight, bool transposeAndFlip)
    {
        int k = plan.KernelSize, cin = plan.InChannels, cout = plan.OutChannels;
        var result = new float[plan.PackedLength];
        var g = new double[k, k];
        var t = new double[6, k];
        for (int oc = 0; oc < cout; oc++)
            for (int ic = 0; ic < cin; ic++)
            {
                for (int kh = 0; kh < k; kh++)
                    for (int kw = 0; kw < k; kw++)
                        g[kh, kw] = transposeAndFlip
                            ? weight[((ic * cout + oc) * k + (k - 1 - kh)) * k + (k - 1 - kw)]
                            : weight[((oc * cin + ic) * k + kh) * k + kw];
                for (int kw = 0; kw < k; kw++)
                {
                    var u = G(Enumerable.Range(0, k).Select(kh => g[kh, kw]).ToArray());
                    for (int i = 0; i < 6; i++) t[i, kw] = u[i];
                }
                for (int i = 0; i < 6; i++)
                {
                    var u = G(Enumerable.Range(0, k).Select(kw => t[i, kw]).ToArray());
                    for (int j = 0; j < 6; j++) result[((oc / 16 * 36 + i * 6 + j) * cin + ic) * 16 + oc % 16] = (float)u[j];
                }
            }
        return result;
    }

    private static double[] G(double[] c)
    {
        double g0 = c[0], g1 = c[1], g2 = c[2], g3 = c.Length > 3 ? c[3] : 0, g4 = c.Length > 4 ? c[4] : 0;
        double even = g0 + g2 + g4, odd = g1 + g3, even2 = g0 + 4 * g2 + 16 * g4, odd2 = 2 * g1 + 8 * g3;
        return [g0 / 4, (even + odd) / 6, (odd - even) / 6, -(even2 + odd2) / 24, (even2 - odd2) / 24, c[^1]];
    }
}
