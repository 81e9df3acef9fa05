using CnnSharp.Kernels;
using Xunit;

namespace CnnSharp.Tests.Kernels;

/// <summary>The height-1 non-overlapping max-pool path (1-D max pooling) against the general kernel: values and argmax,
/// ties, NaN (single and several in one window), lengths with a dropped partial window, kernels 2 to 5, kernel 2's vector
/// path (V512, V256) and scalar loop (V128, scalar).</summary>
public sealed class MaxPoolRowKernelsTests
{
    public static TheoryData<int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int>();
        // Kernel 2 at lengths below, at and around vector multiples (8 outputs per vector, a scalar tail), every ISA path.
        foreach (int level in new[] { (int)IsaLevel.V512, (int)IsaLevel.V256, (int)IsaLevel.V128, (int)IsaLevel.Scalar })
            foreach (var (k, w) in new[] { (2, 16), (2, 17), (2, 2), (2, 14), (2, 50), (2, 130), (3, 31), (4, 64), (5, 23) })
                data.Add(level, k, w);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_general_kernel(int level, int k, int w)
    {
        var rng = new Random(k * 100 + w);
        var x = new float[2 * 3 * w];
        // Few distinct values, so windows tie often; NaNs at a window's first and second tap, two in one window.
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(4) - 1.5f;
        x[1] = float.NaN;
        x[w] = float.NaN;
        x[w + k] = float.NaN;
        x[w + k + 1] = float.NaN;
        x[^1] = float.NaN;
        // NaN at a window's second tap after a number, and at both taps, inside the vector part of a longer row.
        if (w >= 40) (x[2 * w + 21], x[2 * w + 32], x[2 * w + 33]) = (float.NaN, float.NaN, float.NaN);
        var g = Pool2dGeometry.Create([2, 3, 1, w], (1, k), (1, k), (0, 0), (1, 1), ceilMode: false, "MaxPool1d");
        Assert.True(MaxPoolRowKernels.Supports(g));
        int outPlane = g.OutW;
        var expected = new float[g.Planes * outPlane];
        var expectedArg = new int[expected.Length];
        Pool2dKernels.MaxForward(x, expected, expectedArg, g);
        var actual = new float[expected.Length];
        var actualArg = new int[expected.Length];
        for (int p = 0; p < g.Planes; p++)
            MaxPoolRowKernels.ForwardPlane(x.AsSpan(p * w, w), actual.AsSpan(p * outPlane, outPlane), actualArg.AsSpan(p * outPlane, outPlane), k, (IsaLevel)level);
        Assert.Equal(expected, actual);
        Assert.Equal(expectedArg, actualArg);
        Assert.True(float.IsNaN(actual[0]));
    }

    [Fact]
    public void Supports_only_height_1_unpadded_floor_mode_windows_with_stride_equal_to_the_kernel()
    {
        Pool2dGeometry G(int[] shape, (int, int) k, (int, int) s, (int, int) p, (int, int) d, bool ceil) =>
            Pool2dGeometry.Create(shape, k, s, p, d, ceil, "MaxPool1d");
        Assert.True(MaxPoolRowKernels.Supports(G([1, 2, 1, 9], (1, 3), (1, 3), (0, 0), (1, 1), false)));
        Assert.False(MaxPoolRowKernels.Supports(G([1, 2, 1, 9], (1, 3), (1, 2), (0, 0), (1, 1), false)));
        Assert.False(MaxPoolRowKernels.Supports(G([1, 2, 1, 9], (1, 3), (1, 3), (0, 1), (1, 1), false)));
        Assert.False(MaxPoolRowKernels.Supports(G([1, 2, 1, 10], (1, 3), (1, 3), (0, 0), (1, 1), true)));
        Assert.False(MaxPoolRowKernels.Supports(G([1, 2, 1, 9], (1, 2), (1, 2), (0, 0), (1, 2), false)));
        Assert.False(MaxPoolRowKernels.Supports(G([1, 2, 2, 8], (1, 2), (1, 2), (0, 0), (1, 1), false)));
        Assert.False(MaxPoolRowKernels.Supports(G([1, 2, 1, 8], (1, 1), (1, 1), (0, 0), (1, 1), false)));
    }
}
