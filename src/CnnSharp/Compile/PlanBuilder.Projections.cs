using CnnSharp.Compile.Ops;

namespace CnnSharp.Compile;

/// <summary>Projection shortcuts into the conv chain of their downsampling block (<see cref="MergeProjections"/>).</summary>
internal static partial class PlanBuilder
{
    /// <summary>
    /// Whether inference plans compute a downsampling residual block's projection shortcut (1x1 stride-s conv + eval batch
    /// norm) inside the conv chain of the block's main branch, from its strided stage's phase image, and then merge the
    /// block into the chain computing its input, so that a ResNet's blocks run as one chain with no NCHW conversion
    /// between them (on by default; needs <see cref="BlockedInferenceResiduals"/>; <c>bench plan-ab --switch projection</c>
    /// A/Bs it; off: the projection is its own chain, as in training plans).
    /// </summary>
    internal static bool InferenceProjections { get; set; } = true;

    /// <summary>
    /// Whether training plans compute a downsampling block's projection shortcut (1x1 stride-s conv + training-mode batch
    /// norm) inside the block's conv chain, as a stage beside its strided first stage (<c>ConvChainOp.TrainProjection.cs</c>),
    /// instead of as a chain of its own (on by default; <c>bench plan-ab --switch train-projection</c> A/Bs it).
    /// </summary>
    internal static bool TrainingProjections { get; set; } = true;

    /// <summary>
    /// Whether training plans with <see cref="TrainingProjections"/> also merge a downsampling block (its projection inside)
    /// into the chain computing its input, as inference plans do: its strided stage becomes an inner one, whose phase-image
    /// input gradient is handed back to the previous stage blocked (on by default; <c>bench plan-ab --switch
    /// train-downsampling</c> A/Bs it).
    /// </summary>
    internal static bool TrainingDownsampling { get; set; } = true;

    // Inference plans, after the residual pass: a chain `main` whose plan-value residual r is the output of a one-stage
    // chain `proj` (a 1x1 conv of stride s, no padding, + an eval batch norm or none, no ReLU or pooling) reading main's own
    // input v, where main starts with a stride-s stage (its phase image holds every pixel proj reads: ProjectionShortcut)
    // and r has no other reader, takes proj as an inner projection add after its last stage (with main's ReLU). `proj`
    // is dropped, so v's only reader is main, which MergeResidualChains can then append to the chain computing v.
    // Training plans (`training`): the same with training-mode batch norms in the projection and main's first stage; main
    // is not merged further (MergeResidualChains' downsampling merge is for inference plans), but identity blocks after it
    // still append to it.
    private static void MergeProjections(List<GraphNode> nodes, bool training)
    {
        var readers = Readers(nodes);
        var producer = new Dictionary<int, int>();
        for (int i = 0; i < nodes.Count; i++) if (!nodes[i].Dead) producer[nodes[i].Output] = i;
        foreach (var main in nodes)
        {
            if (main.Dead || main.Spec is not ConvChainSpec ms || main.Residual < 0 || main.Residual == main.Inputs[0] || main.Inner.Count > 0
                || !producer.TryGetValue(main.Residual, out int j) || nodes[j] is not { Spec: ConvChainSpec { Stages: [var stage] }, Dead: false } proj
                || proj.Residual >= 0 || proj.Inner.Count > 0 || proj.Relu || proj.Inputs[0] != main.Inputs[0] || readers[main.Residual].Count != 1
                || (training ? ms.Stages[0].Norm is not { Training: true } || stage.Norm is not { Training: true } : ms.Stages.Any(s => s.Norm is { Training: true }))
                || !Projects(stage, ms, training)) continue;
            main.Inner.Add(new ChainResidual(ms.Stages.Length - 1, 0, -1, main.Relu, new ChainProjection(stage.Conv, stage.Norm)));
            (main.Residual, main.Relu, main.Inputs) = (-1, false, [main.Inputs[0]]);
            proj.Dead = true;
        }
    }

    // Whether `stage` is a projection shortcut that chain `main`'s first (strided) stage can compute: 1x1, stride s, no
    // padding, an eval batch norm with running statistics or none, the same input and an output of main's output size.
    private static bool Projects(ConvChainStage stage, ConvChainSpec main, bool training)
    {
        var p = stage.Conv.Geometry;
        var g = main.Stages[0].Conv.Geometry;
        var last = main.Stages[^1];
        return stage is { Relu: false, Pool: null } && (training || stage.Norm is null || stage.Norm is { Training: false, RunningMean: not null, RunningVar: not null })
            && p is { KH: 1, KW: 1, Groups: 1, PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0, DilationH: 1, DilationW: 1 }
            && ConvChainOp.SupportsStrided(g) && p.StrideH == g.StrideH && p.StrideW == g.StrideW
            && p.N == g.N && p.C == g.C && p.H == g.H && p.W == g.W && p.OutH == g.OutH && p.OutW == g.OutW
            && g.PadTop % g.StrideH < Math.Min(g.StrideH, g.KH) && g.PadTop / g.StrideH <= (g.KH + g.StrideH - 1) / g.StrideH - 1
            && last.Pool is null && p.K == last.Conv.Geometry.K && p.OutH == last.Conv.Geometry.OutH && p.OutW == last.Conv.Geometry.OutW;
    }
}
