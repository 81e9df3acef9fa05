namespace CnnSharp.Compile;

/// <summary>Which strided convolutions of inference plans stay on the GEMM (<see cref="StridedOnGemm"/>).</summary>
internal static partial class PlanBuilder
{
    /// <summary>
    /// In inference plans, the largest output map (OutH·OutW pixels) at which a strided convolution with a kernel wider
    /// than 1 stays a <c>Conv2dOp</c> on the implicit GEMM instead of starting a conv chain; 49 (7x7) by default, 0
    /// puts every such conv in a chain. The phase split costs 16/9 of a 3x3 conv's multiply-adds, which on a 7x7 map
    /// (ResNet-18's 256 -> 512 at layer 4) the direct kernel does not win back: measured in docs/performance.md, stop
    /// 13. Stems and 1x1 projections (no extra multiply-adds) are not affected. A switch for A/B benchmarks.
    /// </summary>
    internal static int MaxStridedGemmPixels { get; set; } = 49;

    // Whether the inference plan keeps strided conv `g` (not a stem) on the GEMM (see MaxStridedGemmPixels).
    private static bool StridedOnGemm(in Conv2dGeometry g, bool inference) =>
        inference && g.StrideH > 1 && g.KH > 1 && g.OutH * g.OutW <= MaxStridedGemmPixels;
}
