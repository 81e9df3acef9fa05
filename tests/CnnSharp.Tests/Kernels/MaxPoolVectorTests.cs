using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

/// <summary>
/// Max pooling without indices (the vectorised, separable path at V256/V512) against the scalar path with argmax, which
/// the rest of the suite checks against PyTorch's semantics: results must be identical, for every window shape.
/// </summary>
public sealed class MaxPoolVectorTests
{
    public static TheoryData<int> VectorLevels() => new() { (int)IsaLevel.V256, (int)IsaLevel.V512 };

    private static (float[] WithIndices, float[] Without) Both(IsaLevel level, float[] x, Pool2dGeometry g)
    {
        var withIndices = new float[g.Planes * g.OutH * g.OutW];
        var arg = new int[withIndices.Length];
        Pool2dKernels.MaxForward(IsaLevel.Scalar, x, withIndices, arg, g);
        var without = Enumerable.Repeat(float.NaN, withIndices.Length).ToArray(); // must be fully overwritten
        Pool2dKernels.MaxForward(level, x, without, Span<int>.Empty, g);
        return (withIndices, without);
    }

    [Theory, MemberData(nameof(VectorLevels))]
    public void Every_window_shape_matches_the_argmax_path(int level)
    {
        int cases = 0;
        foreach (int k in new[] { 1, 2, 3, 5 })
        foreach (int s in new[] { 1, 2, 3 })
        foreach (int d in new[] { 1, 2 })
        foreach (int p in new[] { 0, 1, 2 })
        foreach (bool ceil in new[] { false, true })
        foreach (var (h, w) in new[] { (5, 7), (9, 19), (12, 33), (1, 17) })
        {
            if (2 * p > k || (k - 1) * d + 1 > h + 2 * p || (k - 1) * d + 1 > w + 2 * p) continue;
            var g = Pool2dGeometry.Create([2, 3, h, w], (k, k), (s, s), (p, p), (d, d), ceil, "test");
            var x = GradCheck.RandomValues(2 * 3 * h * w, 7 * k + 11 * s + 13 * d + 17 * p + h * w);
            var (expected, actual) = Both((IsaLevel)level, x, g);
            Assert.True(expected.SequenceEqual(actual), $"k{k} s{s} d{d} p{p} ceil={ceil} {h}x{w}");
            cases++;
        }
        Assert.True(cases > 200, $"only {cases} geometries ran");
    }

    [Theory, MemberData(nameof(VectorLevels))]
    public void Resnet_stem_and_seed_pools_match_the_argmax_path(int level)
    {
        (int[] Shape, int K, int S, int P)[] pools = [([1, 4, 112, 112], 3, 2, 1), ([3, 16, 28, 28], 2, 2, 0), ([2, 32, 14, 14], 2, 2, 0)];
        foreach (var (shape, k, s, p) in pools)
        {
            var g = Pool2dGeometry.Create(shape, (k, k), (s, s), (p, p), (1, 1), false, "test");
            var x = GradCheck.RandomValues(shape.Aggregate(1, (a, b) => a * b), k * 100 + s);
            var (expected, actual) = Both((IsaLevel)level, x, g);
            Assert.Equal(expected, actual);
        }
    }

    [Theory, MemberData(nameof(VectorLevels))]
    public void Infinities_and_nan_planes_follow_the_argmax_path(int level)
    {
        var g = Pool2dGeometry.Create([1, 3, 6, 10], (3, 3), (2, 2), (1, 1), (1, 1), true, "test");
        var x = GradCheck.RandomValues(3 * 60, 3);
        for (int i = 0; i < 60; i++) x[i] = float.NegativeInfinity; // plane 0: all -inf
        x[60 + 13] = float.PositiveInfinity;                         // plane 1: one +inf
        x[120 + 22] = float.NaN;                                     // plane 2: NaN (scalar fallback, NaN output)
        var (expected, actual) = Both((IsaLevel)level, x, g);
        Assert.Equal(expected, actual); // xunit's float equality treats NaN as equal to NaN
        Assert.Contains(actual[(2 * g.OutH * g.OutW)..], float.IsNaN);
        Assert.All(actual[..(g.OutH * g.OutW)], v => Assert.Equal(float.NegativeInfinity, v));
    }

    [Fact]
    public void Onnx_style_empty_indices_request_is_accepted_at_the_scalar_level()
    {
        var g = Pool2dGeometry.Create([1, 1, 4, 4], (2, 2), (2, 2), (0, 0), (1, 1), false, "test");
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        var y = new float[4];
        Pool2dKernels.MaxForward(IsaLevel.Scalar, x, y, Span<int>.Empty, g);
        Assert.Equal(new float[] { 6, 8, 14, 16 }, y);
    }
}
