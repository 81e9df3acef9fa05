using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Tests.Kernels.Direct;

/// <summary>
/// <see cref="StridedConv2d.PhaseImageToBlocked"/>, the inverse of <see cref="StridedConv2d.BlockedToPhaseImage"/> (a training
/// conv chain's strided inner stage hands its phase-image input gradient, and for the ReLU mask its stored input, back
/// to the previous stage): every input pixel of a dense blocked image comes back from the phase image, pixels no phase
/// holds (a 1x1 kernel of stride 2) are zero, for even and odd sizes and paddings.
/// </summary>
public sealed unsafe class StridedPhaseGatherTests
{
    [Theory]
    [InlineData(16, 3, 1, 16, 16)]
    [InlineData(32, 3, 1, 31, 31)]
    [InlineData(16, 3, 1, 7, 9)]
    [InlineData(16, 3, 0, 9, 8)]
    [InlineData(16, 5, 2, 11, 10)]
    [InlineData(16, 2, 1, 6, 7)]
    [InlineData(16, 2, 0, 7, 9)]
    [InlineData(16, 2, 0, 8, 9)]
    [InlineData(32, 1, 0, 14, 13)]
    public void Phase_image_gathers_back_to_the_dense_blocked_image(int c, int ks, int p, int h, int w)
    {
        var conv = new StridedConv2d(c, 16, ks, p, 2, h, w, IsaLevel.V512);
        var rng = new Random(c + ks * 7 + h * 31 + w);
        var src = new float[c * h * w];
        for (int i = 0; i < src.Length; i++) src[i] = (float)(rng.NextDouble() * 2 - 1);
        var phase = new float[conv.Plan.InputImage];
        var back = new float[src.Length];
        back.AsSpan().Fill(float.NaN);
        fixed (float* s = src, x = phase, d = back)
        {
            conv.BlockedToPhaseImage(s, x);
            conv.PhaseImageToBlocked(x, d);
        }
        // A kernel smaller than the stride reads only the even pixels (phase (0, 0) at padding 0), a 2x2 kernel on an odd
        // padded width not the last column: those come back 0.
        for (int cb = 0; cb < c / 16; cb++)
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    for (int l = 0; l < 16; l++)
                    {
                        int at = ((cb * h + i) * w + j) * 16 + l;
                        bool held = (i + p) % 2 < conv.PhaseSide && (j + p) % 2 < conv.PhaseSide && (i + p) / 2 < conv.PhaseHeight && (j + p) / 2 < conv.PhaseWidth;
                        Assert.Equal(held ? src[at] : 0f, back[at]);
                    }
    }
}
