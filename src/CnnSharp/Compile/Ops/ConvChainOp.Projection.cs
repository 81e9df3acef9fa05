using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// Downsampling residual blocks inside a conv chain (<c>PlanBuilder</c>'s projection pass): a strided stage
/// after the first, whose input is the previous stage's epilogue gathered into its phase image, and the block's projection
/// shortcut computed from that phase image (<see cref="ProjectionShortcut"/>) and added after the block's last stage.
/// </summary>
/// <remarks>
/// <para>Strided stage s ≥ 1: stage s − 1's epilogue (and its residual add) writes one dense blocked image into the thread's
/// staging buffer, which <see cref="Kernels.Direct.StridedConv2d.BlockedToPhaseImage"/> gathers into stage s's phase image
/// (the phase image's padding is never written: zero). The intra-image split does the same per channel block.</para>
/// <para>The projection reads stage <c>Source</c>'s phase image, the thread's own per-stage input of that image, which no
/// later stage overwrites: it runs when the add's stage has written its epilogue (image by image), or, in the intra-image
/// split, split over output channel groups after that stage's conv, before its epilogue adds it block by block.</para>
/// <para>Training plans (<c>PlanBuilder.TrainingProjections</c>, <c>TrainingDownsampling</c>) store each stage's phase image
/// in the batch buffer the weight gradient reads; the projection is a stage of its own there (training-mode batch norm:
/// <c>ConvChainOp.TrainProjection.cs</c>), and backward hands a strided inner stage's phase-image input gradient back to
/// the previous stage's blocked output gradient (<see cref="Kernels.Direct.StridedConv2d.PhaseImageToBlocked"/>), where the
/// projection's input gradient is added at the pixels it read.</para>
/// </remarks>
internal sealed unsafe partial class ConvChainOp
{
    // Per stage, the planned projection shortcut added after it (null: none).
    private readonly ProjectionShortcut?[] _projections;

    // Output-channel-group parts of each projection for the intra-image split (Split.cs), by stage.
    private DirectParts?[]? _projectionParts;

    private static ProjectionShortcut?[] PlanProjections(ChainResidual?[] inner, ConvChainLayer[] layers, bool differentiable, IsaLevel level)
    {
        var projections = new ProjectionShortcut?[layers.Length];
        if (layers.Skip(1).Any(l => l.Strided is { } st && st.InChannels % 16 != 0))
            throw new InvalidOperationException("ConvChainOp: a strided inner stage needs a multiple of 16 input channels");
        if (differentiable) return projections;   // a training plan's projection is a stage of its own (ConvChainOp.TrainProjection.cs)
        foreach (var r in inner)
        {
            if (r is not { Projection: { } spec } add) continue;
            if (add.Source < 0 || layers[add.Source].Strided is not { } phases)
                throw new InvalidOperationException($"ConvChainOp: projection {add} does not read a strided stage");
            var projection = new ProjectionShortcut(spec, phases, level);
            var last = layers[add.Stage];
            if (projection.Blocks != last.Blocks || projection.OutH != last.PoolH || projection.OutW != last.PoolW)
                throw new InvalidOperationException($"ConvChainOp: projection {add} does not match stage {add.Stage}'s output");
            projections[add.Stage] = projection;
        }
        return projections;
    }

    // Floats of the per-thread staging image a strided inner stage's input is gathered from (0: none).
    private static int StagingLength(ConvChainLayer[] layers) =>
        Enumerable.Range(1, layers.Length - 1).Where(s => layers[s].Strided is not null).Select(s => layers[s - 1].OutputImage).DefaultIfEmpty(0).Max();

    // Packs the projections' folded weights (serially: one 1x1 conv each, small next to the stages).
    private void PackProjections()
    {
        foreach (var p in _projections) p?.Pack();
    }

    // The intra-image split's projection step after stage s's conv: its number of parts.
    // (The parts are planned with the stages' parts, in ForwardSplit.)
    private int ProjectionParts(int s) => _projectionParts![s]?.Count ?? 1;

    // Part `unit` of stage s's projection for the split image, into the first thread's projection scratch.
    private void ProjectPart(int s, int unit)
    {
        var ts = _threads[0];
        var projection = _projections[s]!;
        float* phaseImage = ts.Inputs[_inner[s]!.Value.Source].Pointer;
        if (_projectionParts![s] is { } parts)
        {
            var plan = projection.Plan;
            parts.Run(unit, phaseImage + (long)projection.PhaseBlock * plan.InputPlane, projection.Packed.Pointer, projection.Bias.Pointer,
                ts.Projection.Pointer, plan.OutputPlane, plan.OutWidth * 16);
        }
        else projection.ForwardImage(phaseImage, ts.Projection.Pointer);
    }
}
