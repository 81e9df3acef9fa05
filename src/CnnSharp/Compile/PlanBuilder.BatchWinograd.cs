using CnnSharp.Kernels;

namespace CnnSharp.Compile;

/// <summary>Which convolutions of inference plans run on the batch-folded Winograd kernel (<see cref="OnBatchWinograd"/>).</summary>
internal static partial class PlanBuilder
{
    /// <summary>
    /// Whether inference plans run wide 3x3 stride-1 convolutions on small maps over the whole batch on Winograd
    /// F(4x4, 3x3) with one GEMM per transform position (<c>BatchWinogradConvOp</c>) instead of per image in a conv chain
    /// (on by default; <c>bench onnx-plan-ab --switch batch-wino</c> A/Bs it). Measured in docs/performance.md, stop 15.
    /// </summary>
    internal static bool BatchWinograd { get; set; } = true;

    /// <summary>Fewest input and output channels for <see cref="BatchWinograd"/> (256: ResNet-18's layers 3 and 4).</summary>
    internal static int BatchWinogradMinChannels { get; set; } = 256;

    /// <summary>Fewest tiles of 4x4 outputs over the whole batch for <see cref="BatchWinograd"/> (32: a 7x7 map from
    /// batch 8, a 14x14 map from batch 2). Below it the transformed weights are streamed for too few rows: ResNet-18 at
    /// batch 1 (4 and 16 tiles) keeps its chains (measured: its 7x7 stage 2.4x slower on this kernel, the 14x14 one even).</summary>
    internal static int BatchWinogradMinTiles { get; set; } = 32;

    /// <summary>Most tiles per image (a 16x16 map): larger maps run the per-image Winograd chains, whose GEMM runs are
    /// already long enough.</summary>
    private const int BatchWinogradMaxImageTiles = 16;

    // Whether the inference plan runs conv `g` on BatchWinogradConvOp: 3x3, stride 1, padding 1, no dilation or groups,
    // C and K multiples of 16 and at least BatchWinogradMinChannels, a map of at most 16 tiles, at least
    // BatchWinogradMinTiles tiles in the batch, and a vector path (V256 or V512) the transforms run on.
    private static bool OnBatchWinograd(in Conv2dGeometry g, bool inference)
    {
        if (!inference || !BatchWinograd || Isa.Level < IsaLevel.V256) return false;
        if (g is not { KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, DilationH: 1, DilationW: 1, Groups: 1 })
            return false;
        long imageTiles = (long)((g.OutH + 3) / 4) * ((g.OutW + 3) / 4);
        return g.C % 16 == 0 && g.K % 16 == 0 && Math.Min(g.C, g.K) >= BatchWinogradMinChannels
            && imageTiles <= BatchWinogradMaxImageTiles && g.N * imageTiles >= BatchWinogradMinTiles;
    }
}
