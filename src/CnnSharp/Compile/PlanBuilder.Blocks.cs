using CnnSharp.Compile.Ops;

namespace CnnSharp.Compile;

/// <summary>The merge of consecutive residual blocks into one conv chain (<see cref="MergeResidualChains"/>).</summary>
internal static partial class PlanBuilder
{
    /// <summary>Whether training plans merge a residual block's chain into the chain computing its input when that input is
    /// also its skip operand (on by default; the benchmarks switch it off to A/B the plans in one process).</summary>
    internal static bool BlockedResiduals { get; set; } = true;

    /// <summary>Whether inference plans merge residual blocks too (on by default; <c>bench plan-ab --switch blocked-eval</c>
    /// A/Bs it). Needs <see cref="BlockedResiduals"/>.</summary>
    internal static bool BlockedInferenceResiduals { get; set; } = true;

    // Whether the stem `conv` (after its batch norm and ReLU) feeds an identity residual block: its output's only readers
    // are a convolution that can be a stride-1 chain stage of 16k channels and an Add (the block's skip), so the stem is
    // a chain even alone: the merge pass then gives it the block.
    private static bool FeedsIdentityBlock(GraphNode conv, Func<int, GraphNode?> next, Dictionary<int, List<GraphNode>> readers)
    {
        int v = conv.Output;
        if (next(v) is { Spec: BatchNormSpec b } bn && (b.Training || b is { RunningMean: not null, RunningVar: not null })) v = bn.Output;
        if (next(v) is { Spec: ActivationSpec { Kind: ActivationKind.Relu } } r) v = r.Output;
        return readers.TryGetValue(v, out var list) && list.Count == 2
            && list.Any(n => n.Spec is Conv2dSpec c && ConvChainOp.Supports(c.Geometry) && c.Geometry.C % 16 == 0)
            && list.Any(n => n.Spec is AddSpec);
    }

    // Residual blocks in one chain (after the residual pass; inference plans too with BlockedInferenceResiduals): a chain whose residual operand is its own
    // input v (a BasicBlock's identity skip), with a stride-1 16k-channel first stage, is appended to the chain computing
    // v when v has no other reader. The skip becomes a residual add from the merged chain's stage input (blocked, as the
    // chain holds it); the earlier chain's own residual add (a projection shortcut's plan value) becomes an inner add.
    // So a ResNet stage's identity blocks, and the stem with the first stage, run as one chain with no NCHW conversion
    // between the blocks. The merged chain runs where the later one did (every operand exists there).
    // With `downsampling` (inference plans with InferenceProjections, training plans with TrainingProjections and
    // TrainingDownsampling), a chain with a strided first stage of 16k input
    // channels and its projection shortcut inside (MergeProjections: no residual operand of its own) is appended the same
    // way: the earlier chain's last epilogue is gathered into its phase image (ConvChainOp.Projection.cs).
    private static void MergeResidualChains(List<GraphNode> nodes, int outputId, bool downsampling)
    {
        var readers = Readers(nodes);
        var producer = new Dictionary<int, int>();
        for (int i = 0; i < nodes.Count; i++) if (!nodes[i].Dead) producer[nodes[i].Output] = i;
        for (int i = 0; i < nodes.Count; i++)
        {
            var next = nodes[i];
            if (next.Dead || next.Spec is not ConvChainSpec ns) continue;
            int v = next.Inputs[0];
            var g = ns.Stages[0].Conv.Geometry;
            bool identity = next.Residual >= 0 && next.Residual == v && g.StrideH == 1 && g.StrideW == 1;
            bool strided = downsampling && next.Residual < 0 && g.StrideH > 1 && next.Inner.Any(r => r.Projection is not null);
            if (!(identity || strided) || v == outputId || g.C % 16 != 0 || readers[v].Count != 1
                || !producer.TryGetValue(v, out int p) || nodes[p] is not { Spec: ConvChainSpec ps, Dead: false } prev) continue;
            int m = ps.Stages.Length;
            var inner = new List<ChainResidual>(prev.Inner);
            if (prev.Residual >= 0) inner.Add(new ChainResidual(m - 1, -1, prev.Residual, prev.Relu));
            if (identity) inner.Add(new ChainResidual(m + ns.Stages.Length - 1, m, -1, next.Relu));
            // (Source 0 is only ever a projection's strided stage; a plan value's Source stays −1.)
            inner.AddRange(next.Inner.Select(r => r with { Stage = r.Stage + m, Source = r.Source >= 0 ? r.Source + m : r.Source }));
            prev.Dead = true;
            nodes[i] = new GraphNode(new ConvChainSpec([.. ps.Stages, .. ns.Stages]), [prev.Inputs[0], .. inner.Where(r => r.Source < 0).Select(r => r.Value)],
                next.Output) { Inner = inner };
            producer[next.Output] = i;
        }
    }
}
