using CnnSharp.Kernels;
using Xunit;

namespace CnnSharp.Tests.Kernels;

/// <summary>The 2x2/2 max-pool fast path against the general kernel: values and argmax, ties, NaN, odd sizes.</summary>
public sealed class MaxPool2x2KernelsTests
{
    [Theory]
    [InlineData(4, 4)]
    [InlineData(5, 7)]
    [InlineData(2, 2)]
    [InlineData(3, 33)]
    [InlineData(32, 32)]
    public void Matches_the_general_kernel(int h, int w)
    {
        var rng = new Random(h * 100 + w);
        var x = new float[2 * 3 * h * w];
        // Few distinct values, so windows tie often; a few NaNs, one window with two NaNs.
        for (int i = 0; i < x.Length; i++) x[i] = rng.Next(5);
        x[1] = float.NaN;
        x[w] = float.NaN;
        x[x.Length - 1] = float.NaN;
        var g = Pool2dGeometry.Create([2, 3, h, w], (2, 2), (2, 2), (0, 0), (1, 1), ceilMode: false, "MaxPool2d");
        Assert.True(MaxPool2x2Kernels.Supports(g));
        int outPlane = g.OutH * g.OutW;
        var expected = new float[g.Planes * outPlane];
        var expectedArg = new int[expected.Length];
        Pool2dKernels.MaxForward(x, expected, expectedArg, g);
        var actual = new float[expected.Length];
        var actualArg = new int[expected.Length];
        for (int p = 0; p < g.Planes; p++)
            MaxPool2x2Kernels.ForwardPlane(x.AsSpan(p * h * w, h * w), actual.AsSpan(p * outPlane, outPlane), actualArg.AsSpan(p * outPlane, outPlane), w, g.OutH, g.OutW);
        Assert.Equal(expected, actual);
        Assert.Equal(expectedArg, actualArg);
        Assert.True(float.IsNaN(actual[0]));
    }

    [Fact]
    public void Supports_only_the_unpadded_floor_mode_2x2_stride_2_case()
    {
        Assert.False(MaxPool2x2Kernels.Supports(Pool2dGeometry.Create([1, 1, 5, 5], (2, 2), (2, 2), (0, 0), (1, 1), ceilMode: true, "MaxPool2d")));
        Assert.False(MaxPool2x2Kernels.Supports(Pool2dGeometry.Create([1, 1, 6, 6], (2, 2), (1, 1), (0, 0), (1, 1), ceilMode: false, "MaxPool2d")));
        Assert.False(MaxPool2x2Kernels.Supports(Pool2dGeometry.Create([1, 1, 6, 6], (3, 3), (2, 2), (1, 1), (1, 1), ceilMode: false, "MaxPool2d")));
        Assert.True(MaxPool2x2Kernels.Supports(Pool2dGeometry.Create([1, 1, 6, 6], (2, 2), (2, 2), (0, 0), (1, 1), ceilMode: true, "MaxPool2d")));
    }
}
