using System.Runtime.Intrinsics;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using static CnnSharp.Tests.Kernels.Direct.DirectConv2dTests;
using static CnnSharp.Tests.Kernels.Direct.WinogradRuns;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// Winograd plans on 16-lane vectors (<see cref="WinogradConv2d.Wide"/>, the V512 path) against the same plans on 8 lanes:
/// every lane runs the same operations in the same order, so forward (bias, ReLU, statistics), input gradient and weight
/// gradient must agree bit for bit wherever the hardware has 512-bit vectors (elsewhere <see cref="WinogradConv2d.For"/>
/// never plans them, and the reference tests in <see cref="WinogradConv2dTests"/> cover their values).
/// </summary>
public sealed unsafe class WinogradWideTests
{
    [Theory]
    [InlineData(3, 16, 16, 1, 32, 32)]  // ResNet-8's first stage: 64 tiles
    [InlineData(3, 32, 48, 1, 23, 18)]  // partial edge tiles, three output groups
    [InlineData(3, 64, 16, 0, 9, 6)]    // valid padding, 6-channel weight-gradient runs
    [InlineData(5, 16, 32, 2, 14, 14)]  // F(2x2, 5x5): 16-lane input transform and GEMM, 8-lane output transform
    public void Sixteen_lane_plans_give_the_bits_of_eight_lane_plans(int ks, int c, int k, int p, int h, int w)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            // No 512-bit hardware: the V512 path keeps 8-lane Winograd plans (software vectors could round differently).
            Assert.False(WinogradConv2d.For(new DirectConv2d(c, k, ks, p, h, w, IsaLevel.V512))!.Wide);
            return;
        }
        var rng = new Random(ks * 13 + c + k * 3 + h);
        double[] x = Random(rng, c * h * w), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
        var narrow = new WinogradConv2d(c, k, p, h, w, kernelSize: ks);
        var wide = new WinogradConv2d(c, k, p, h, w, kernelSize: ks, wide: true);
        var xb = ToPaddedBlocked(x, c, h, w, p);
        foreach (bool relu in new[] { false, true })
        {
            var (y8, s8) = Forward(narrow, xb, wt, b, relu);
            var (y16, s16) = Forward(wide, xb, wt, b, relu);
            Assert.Contains(y8, v => v != 0);
            Assert.True(y8.AsSpan().SequenceEqual(y16), $"forward relu={relu}: outputs differ");
            Assert.True(s8.AsSpan().SequenceEqual(s16), $"forward relu={relu}: statistics differ");
        }

        // Input gradient: the forward of the transposed, flipped weights over the padded output gradient.
        var dxNarrow = WinogradConv2d.ForBackwardInput(narrow);
        var dxWide = WinogradConv2d.ForBackwardInput(wide);
        Assert.True(dxWide.Wide);
        double[] dy = Random(rng, k * narrow.OutHeight * narrow.OutWidth);
        var dyb = ToPaddedBlocked(dy, k, narrow.OutHeight, narrow.OutWidth, dxNarrow.Padding);
        var dx8 = InputGradient(dxNarrow, dyb, wt);
        var dx16 = InputGradient(dxWide, dyb, wt);
        Assert.True(dx8.AsSpan().SequenceEqual(dx16), "input gradient differs");

        // Weight gradient over two images (the accumulator carries across them), then G^T dU G.
        var gy = ToPaddedBlocked(dy, k, narrow.OutHeight, narrow.OutWidth, 0);
        var xb2 = ToPaddedBlocked(Random(rng, c * h * w), c, h, w, p);
        var dw8 = WeightGradient(narrow, new WinogradWeightGrad(narrow), [xb, xb2], gy);
        var dw16 = WeightGradient(wide, new WinogradWeightGrad(wide), [xb, xb2], gy);
        Assert.Contains(dw8, v => v != 0);
        Assert.True(dw8.AsSpan().SequenceEqual(dw16), "weight gradient differs");
        GC.KeepAlive(xb);
        GC.KeepAlive(xb2);
        GC.KeepAlive(dyb);
        GC.KeepAlive(gy);
    }

    [Fact]
    public void For_plans_sixteen_lanes_only_on_the_V512_path_with_512_bit_hardware()
    {
        Assert.False(WinogradConv2d.For(new DirectConv2d(16, 16, 3, 1, 32, 32, IsaLevel.V256))!.Wide);
        var v512 = WinogradConv2d.For(new DirectConv2d(16, 16, 3, 1, 32, 32, IsaLevel.V512))!;
        Assert.Equal(Vector512.IsHardwareAccelerated, v512.Wide);
        Assert.Equal(v512.Wide, WinogradConv2d.ForBackwardInput(v512).Wide);
    }
}
