using CnnSharp.Kernels.Direct;

namespace CnnSharp.Compile.Ops;

/// <summary>Which strided convolutions can start a <see cref="ConvChainOp"/> (through <see cref="StridedConv2d"/>).</summary>
internal sealed partial class ConvChainOp
{
    /// <summary>Whether a convolution can be a chain's first stage as a strided one: one group, stride 2 on both axes,
    /// dilation 1, a square kernel, the same padding on every side and at most kernel − 1, C and K multiples of 16
    /// (a ResNet's 3x3 stride-2 downsampling conv and its 1x1 stride-2 projection).</summary>
    public static bool SupportsStrided(in Conv2dGeometry g) =>
        g.Groups == 1 && g.StrideH == 2 && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1 && g.KH == g.KW
        && g.PadTop == g.PadLeft && g.PadTop == g.PadBottom && g.PadTop == g.PadRight && g.PadTop <= g.KH - 1
        && g.C % 16 == 0 && g.K % 16 == 0 && g.OutH > 0 && g.OutW > 0;
}
