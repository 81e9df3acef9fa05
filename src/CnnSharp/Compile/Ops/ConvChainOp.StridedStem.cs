using CnnSharp.Kernels.Direct;

namespace CnnSharp.Compile.Ops;

/// <summary>Which strided stems of few input channels can be an inference chain's first stage (through a planar <see cref="StridedConv2d"/>).</summary>
internal sealed partial class ConvChainOp
{
    /// <summary>Whether a convolution reading few channels (an RGB image) can be a strided first stage: as
    /// <see cref="SupportsStrided"/> but with C below 16 and fewer than 16 phase channels (min(2, k)² · C: ResNet-18's 7x7
    /// stride-2 stem on 3 channels becomes a 4x4 conv over 12 planar phase channels). Forward only: inference plans.</summary>
    public static bool SupportsStridedStem(in Conv2dGeometry g) =>
        g.Groups == 1 && g.StrideH == 2 && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1 && g.KH == g.KW
        && g.PadTop == g.PadLeft && g.PadTop == g.PadBottom && g.PadTop == g.PadRight && g.PadTop <= g.KH - 1
        && g.C > 0 && g.C < 16 && Math.Min(2, g.KH) * Math.Min(2, g.KH) * g.C < 16 && g.K % 16 == 0 && g.OutH > 0 && g.OutW > 0;
}
