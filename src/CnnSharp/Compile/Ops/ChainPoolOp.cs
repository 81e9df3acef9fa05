namespace CnnSharp.Compile.Ops;

/// <summary>
/// An inference plan's conv chain followed by a global average pool of its output (ResNets' head), run as one op: the
/// chain pools each output image as soon as it has written it (<see cref="ConvChainOp.PoolOutputInto"/>), while the image
/// is in the thread's cache, instead of the pool op reading the whole batch back in a pass of its own. The chain still
/// writes its output value, and the pool reads it with <see cref="AdaptiveAvgPool2dOp"/>'s own sums, so the bits are the
/// two ops'. Forward only.
/// </summary>
internal sealed class ChainPoolOp : CompiledOp
{
    private readonly ConvChainOp _chain;
    private readonly AdaptiveAvgPool2dOp _pool;

    private ChainPoolOp(ConvChainOp chain, AdaptiveAvgPool2dOp pool) : base(chain.Inputs, pool.Output) => (_chain, _pool) = (chain, pool);

    /// <summary>Whether inference plans fuse such pairs (default true; read when a plan is made; <c>bench plan-ab --switch
    /// eval-pool</c>).</summary>
    internal static bool Enabled { get; set; } = true;

    public override string Name => $"{_chain.Name} > {_pool.Name}";

    public override IEnumerable<Tensor> Parameters => _chain.Parameters;

    /// <summary>
    /// <paramref name="ops"/> with every (conv chain, global average pool of its output) pair of an inference plan replaced
    /// by one op: consecutive ops, the pool's buffer none of the chain's inputs' (the plan may hand a buffer whose last
    /// reader is the chain to the pool's output, and the chain now writes it while still reading its inputs).
    /// </summary>
    internal static CompiledOp[] FuseInto(CompiledOp[] ops, float[][] data)
    {
        if (!Enabled) return ops;
        var fused = new List<CompiledOp>(ops.Length);
        for (int i = 0; i < ops.Length; i++)
        {
            if (i + 1 < ops.Length && ops[i] is ConvChainOp { Differentiable: false } chain && ops[i + 1] is AdaptiveAvgPool2dOp { Global: true } pool
                && pool.Inputs[0] == chain.Output && !chain.Inputs.Any(v => ReferenceEquals(data[v], data[pool.Output])))
            {
                chain.PoolOutputInto(pool.Output);
                fused.Add(new ChainPoolOp(chain, pool));
                i++;
                continue;
            }
            fused.Add(ops[i]);
        }
        return [.. fused];
    }

    public override void Forward(ExecutionPlan plan) => _chain.Forward(plan);

    public override void Backward(ExecutionPlan plan) =>
        throw new InvalidOperationException("ChainPoolOp: inference-only op has no backward");
}
