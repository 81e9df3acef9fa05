using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// An inference plan's 1x1 conv (with its folded batch norm and clamp) whose output only a global average pool reads,
/// run as one op (<see cref="PointwiseConvPool"/>): the same bits as the two ops, without writing the conv's output
/// (where the kernel's sums would round differently, <see cref="PointwiseConvPool.SameBitsAsConvGemm"/>, it runs the two
/// ops). Forward only.
/// </summary>
internal sealed class PointwisePoolOp : CompiledOp
{
    private readonly Conv2dOp _conv;
    private readonly AdaptiveAvgPool2dOp _pool;

    private PointwisePoolOp(Conv2dOp conv, AdaptiveAvgPool2dOp pool) : base([conv.Inputs[0]], pool.Output) => (_conv, _pool) = (conv, pool);

    /// <summary>
    /// Whether inference plans fuse such pairs (default true); a plan-time switch for A/B benchmarks
    /// (<c>onnx-plan-ab --switch conv-pool</c>).
    /// </summary>
    internal static bool Enabled { get; set; } = true;

    public override string Name => $"{_conv.Name} 1x1 > GlobalAvgPool2d";

    public override IEnumerable<Tensor> Parameters => _conv.Parameters;

    /// <summary>
    /// <paramref name="ops"/> with every (1x1 conv, global average pool) pair replaced by one op: consecutive ops, the
    /// conv a <see cref="Conv2dOp"/> without residual that <see cref="PointwiseConvPool.Takes"/>, its output read by the
    /// pool alone and not the plan output.
    /// </summary>
    internal static CompiledOp[] FuseInto(CompiledOp[] ops, int outputId)
    {
        if (!Enabled) return ops;
        var readers = ReaderCounts(ops);
        var fused = new List<CompiledOp>(ops.Length);
        for (int i = 0; i < ops.Length; i++)
        {
            if (i + 1 < ops.Length && ops[i] is Conv2dOp { HasResidual: false, DirectStem: false } conv && ops[i + 1] is AdaptiveAvgPool2dOp { Global: true } pool
                && pool.Inputs[0] == conv.Output && conv.Output != outputId && readers.GetValueOrDefault(conv.Output) == 1
                && PointwiseConvPool.Takes(conv.Geometry))
            {
                fused.Add(new PointwisePoolOp(conv, pool));
                i++;
                continue;
            }
            fused.Add(ops[i]);
        }
        return [.. fused];
    }

    public override unsafe void Forward(ExecutionPlan plan)
    {
        _conv.PrepareWeights(out var bias, pack: true);
        var g = _conv.Geometry;
        if (!PointwiseConvPool.SameBitsAsConvGemm(_conv.Packed.Level, g.H * g.W))
        {
            // Where the fused kernel's sums would round differently from the conv's own path: the two ops, on the buffer
            // the plan allocated for the conv's output before the fusion (still theirs: nothing runs in between).
            _conv.Forward(plan);
            _pool.Forward(plan);
            return;
        }
        int threads = Parallelism.MaxThreads;
        if (g.Macs < IntraImageSplit.GemmThreshold(g, threads)) threads = 1;
        // A few images: threads / gcd(N, threads) parts per image, so the units divide evenly over the threads.
        int parts = g.N >= 2 * threads ? 1 : ExpandDepthwiseOp.FewImageParts(g.N, threads);
        var x = plan.Data[Inputs[0]].AsSpan(0, g.N * g.C * g.H * g.W);
        var y = plan.Data[Output].AsSpan(0, g.N * g.K);
        fixed (float* px = x, py = y, pb = bias)
            PointwiseConvPool.Forward(px, _conv.Packed, bias.IsEmpty ? null : pb, _conv.Relu, _conv.Max, py, g, threads, parts);
    }

    public override void Backward(ExecutionPlan plan) =>
        throw new InvalidOperationException("PointwisePoolOp: inference-only op has no backward");
}
