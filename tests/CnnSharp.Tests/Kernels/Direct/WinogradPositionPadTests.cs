using System.Runtime.Intrinsics;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Tests.Compile;
using static CnnSharp.Tests.Kernels.Direct.DirectConv2dTests;
using static CnnSharp.Tests.Kernels.Direct.WinogradRuns;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// The Winograd kernels' block scratch with its transform positions one 64-byte line further apart than tiles x channels
/// (<see cref="WinogradConv2d.PadPositions"/>, <see cref="WinogradConv2d.PositionPad"/>): only addresses change, so the
/// forward (bias, ReLU, statistics; whole images and <see cref="WinogradConv2d.ForwardPart"/>), the input gradient and the
/// weight gradient must give the bits of the unpadded plans, on 8 and (with 512-bit hardware) 16 lanes. A scratch
/// offset that missed the pad (a GEMM reading V or M where the transform did not write it, or sums past the scratch)
/// changes the bits or trips <see cref="BufferGuard"/>.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed unsafe class WinogradPositionPadTests
{
    [Theory]
    [InlineData(3, 16, 16, 1, 32, 32)]  // ResNet-8's 16 -> 16 stage: 64 tiles, positions 1 KB apart unpadded
    [InlineData(3, 32, 32, 1, 16, 16)]  // its 32 -> 32 stage: 16 tiles, 2 KB apart
    [InlineData(3, 64, 64, 1, 8, 8)]    // its 64 -> 64 stage: 4 tiles
    [InlineData(3, 32, 48, 1, 23, 17)]  // odd sizes: partial edge tiles, three output groups
    [InlineData(3, 64, 16, 0, 9, 6)]    // valid padding, 6-channel weight-gradient runs
    [InlineData(5, 16, 32, 2, 15, 13)]  // F(2x2, 5x5) on odd sizes
    public void Padded_positions_give_the_bits_of_unpadded_ones(int ks, int c, int k, int p, int h, int w)
    {
        var rng = new Random(ks * 7 + c + k * 5 + h * 3 + w);
        double[] x = Random(rng, c * h * w), x2 = Random(rng, c * h * w), wt = Random(rng, k * c * ks * ks), b = Random(rng, k);
        var xb = ToPaddedBlocked(x, c, h, w, p);
        var xb2 = ToPaddedBlocked(x2, c, h, w, p);
        bool saved = WinogradConv2d.PadPositions;
        try
        {
            foreach (bool wide in Vector512.IsHardwareAccelerated ? new[] { false, true } : [false])
            {
                WinogradConv2d.PadPositions = false;
                var plain = new WinogradConv2d(c, k, p, h, w, kernelSize: ks, wide: wide);
                var plainDx = WinogradConv2d.ForBackwardInput(plain);
                var plainWg = new WinogradWeightGrad(plain);
                WinogradConv2d.PadPositions = true;
                var padded = new WinogradConv2d(c, k, p, h, w, kernelSize: ks, wide: wide);
                var paddedDx = WinogradConv2d.ForBackwardInput(padded);
                var paddedWg = new WinogradWeightGrad(padded);
                Assert.Equal(plain.VPosition + WinogradConv2d.PositionPad, padded.VPosition);
                Assert.Equal(plain.MPosition + WinogradConv2d.PositionPad, padded.MPosition);
                Assert.Equal(plain.ScratchLength + 72 * WinogradConv2d.PositionPad, padded.ScratchLength);
                Assert.Equal(plainWg.ScratchLength + 72 * WinogradConv2d.PositionPad, paddedWg.ScratchLength);

                foreach (bool relu in new[] { false, true })
                {
                    var (y0, s0) = Forward(plain, xb, wt, b, relu);
                    var (y1, s1) = Forward(padded, xb, wt, b, relu);
                    Assert.Contains(y0, v => v != 0);
                    Assert.True(y0.AsSpan().SequenceEqual(y1), $"wide={wide} relu={relu}: forward outputs differ");
                    Assert.True(s0.AsSpan().SequenceEqual(s1), $"wide={wide} relu={relu}: forward statistics differ");
                    Assert.True(y0.AsSpan().SequenceEqual(ForwardParts(padded, xb, wt, b, relu)), $"wide={wide} relu={relu}: forward parts differ");
                }

                double[] dy = Random(rng, k * plain.OutHeight * plain.OutWidth);
                var dyb = ToPaddedBlocked(dy, k, plain.OutHeight, plain.OutWidth, plainDx.Padding);
                var dx0 = InputGradient(plainDx, dyb, wt);
                Assert.Contains(dx0, v => v != 0);
                Assert.True(dx0.AsSpan().SequenceEqual(InputGradient(paddedDx, dyb, wt)), $"wide={wide}: input gradient differs");

                var gy = ToPaddedBlocked(dy, k, plain.OutHeight, plain.OutWidth, 0);
                var dw0 = WeightGradient(plain, plainWg, [xb, xb2], gy);
                Assert.Contains(dw0, v => v != 0);
                Assert.True(dw0.AsSpan().SequenceEqual(WeightGradient(padded, paddedWg, [xb, xb2], gy)), $"wide={wide}: weight gradient differs");
                GC.KeepAlive(dyb);
                GC.KeepAlive(gy);
            }
        }
        finally
        {
            WinogradConv2d.PadPositions = saved;
        }
        GC.KeepAlive(xb);
        GC.KeepAlive(xb2);
    }
}
