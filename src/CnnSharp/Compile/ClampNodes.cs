namespace CnnSharp.Compile;

/// <summary>Plan rewrites for clamps (<see cref="ClampSpec"/>): ReLU6 islands become compiled clamps, and a Clip(0, max)
/// after an inference conv joins its epilogue.</summary>
internal static class ClampNodes
{
    /// <summary>
    /// Replaces every traced <c>F.Relu6</c> island that reads one plan value with a compiled <see cref="ClampSpec"/>(0, 6):
    /// the same values (<see cref="Kernels.ClampKernels"/> computes the eager expression) and the same gradient, without
    /// the island's per-step tensor allocations (MobileNet-v2 trains through this).
    /// </summary>
    public static void CompileRelu6(List<PlanBuilder.GraphNode> nodes)
    {
        for (int i = 0; i < nodes.Count; i++)
            if (nodes[i] is { Spec: Relu6Spec, Slots: [(0, int v)] } n)
                nodes[i] = new PlanBuilder.GraphNode(new ClampSpec(0f, 6f), [v], n.Output);
    }

    /// <summary>Whether <paramref name="clamp"/> can run in <paramref name="producer"/>'s epilogue (ReLU, then the upper
    /// bound): a Clip(0, max) after a convolution with no activation fused yet.</summary>
    public static bool FusesInto(ClampSpec clamp, PlanBuilder.GraphNode? producer) =>
        clamp.Min == 0f && producer is { Spec: Conv2dSpec, Dead: false, Relu: false };

    /// <summary>
    /// Whether an inference plan keeps <paramref name="conv"/> off the conv chains: a stride-1 1x1 convolution (the GEMM reads and
    /// writes NCHW in place, where a chain stage converts to the blocked layout and back: MobileNet-v2's and
    /// ShuffleNet-v2's pointwise convs, next to depthwise convs that read NCHW too, as the ONNX runtime's chains already
    /// do), or one whose output, after a batch norm if one reads it, is read by a clamp alone (Conv2dOp folds the norm
    /// and runs the clamp in its epilogue). Strided 1x1 convs (ResNet's downsampling projections) may start chains.
    /// </summary>
    public static bool StaysOffChains(PlanBuilder.GraphNode conv, Func<int, PlanBuilder.GraphNode?> next)
    {
        if (conv.Spec is Conv2dSpec { Geometry: { KH: 1, KW: 1, StrideH: 1, StrideW: 1 } }) return true;
        int v = conv.Output;
        if (next(v) is { Spec: BatchNormSpec } bn) v = bn.Output;
        return next(v) is { Spec: ClampSpec };
    }
}
