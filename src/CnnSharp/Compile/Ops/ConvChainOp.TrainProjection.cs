using CnnSharp.Kernels.Direct;
using CnnSharp.Modules;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// A downsampling block's projection shortcut inside its training-plan conv chain (<c>PlanBuilder</c>'s projection pass
/// with <c>TrainingProjections</c>): a 1x1 stride-s conv + training-mode batch norm, run as a stage of its own
/// (<see cref="ConvChainLayer"/>) beside the chain's strided first stage, whose stored phase image holds every pixel it
/// reads.
/// </summary>
/// <remarks>
/// <para>Why: as its own chain, the projection converted the block input from NCHW to its phase image, wrote its batch
/// norm's output to NCHW for the block's add to read back, converted the add's gradient from NCHW again, and scattered its
/// input gradient in a phase of its own: four barriers and four layout passes per step for a 1x1 conv.</para>
/// <para>Forward: in the strided stage's phase, per image, the Ho x Wo window of phase (p mod s, p mod s) is copied
/// (16-channel pixels, cache-resident) into the projection's own input and convolved, with its batch-norm sums in a
/// second region of the chunk's statistics; both batch norms finish at the stage's barrier. The add after stage
/// <c>Stage</c> applies the projection's batch norm (<see cref="BnReluPool"/>) and adds it blocked.</para>
/// <para>Backward: the add's (ReLU-masked) gradient is stage <c>Stage</c>'s output gradient G, so the projection's pass A
/// reads G where that stage's pass A does; in stage 0's phase, after the strided stage's input gradient has been added
/// into the NCHW input gradient, the projection's pass B, weight gradient and input gradient follow for the chunk's
/// images, and its input gradient is added after the strided stage's. Every sum is the separate chain's, in its order, so
/// the bits are the separate chain's.</para>
/// </remarks>
internal sealed unsafe partial class ConvChainOp
{
    // The training plan's projection stage (null: none), the stage whose add reads it, and its chunk statistics (a second
    // region, 3·stride doubles on, of each chunk's statistics: sums / pass-A sums, then the conv bias gradient).
    private readonly ConvChainLayer? _trainProjection;
    private readonly int _projectionStage = -1;
    private readonly nint[] _projectionStats = [];

    // The phase image's first block and window offset that the projection reads (ProjectionShortcut's rule).
    private readonly int _projectionBlock, _projectionOffset;

    private static ConvChainLayer? PlanTrainProjection(ChainResidual?[] inner, ConvChainLayer[] layers, bool differentiable, int chunks,
        Func<BatchNormSpec, BatchNormBase?> modules, Kernels.IsaLevel level, out int stage)
    {
        stage = -1;
        if (!differentiable) return null;
        ConvChainLayer? projection = null;
        foreach (var r in inner)
        {
            if (r is not { Projection: { } spec } add) continue;
            if (projection is not null || add.Source != 0 || layers[0].Strided is null || !layers[0].TrainNorm || spec.Norm is not { Training: true })
                throw new InvalidOperationException($"ConvChainOp: training projection {add} needs the chain's strided, batch-normalised first stage");
            projection = new ConvChainLayer(new ConvChainStage(spec.Conv, spec.Norm, false, null), modules(spec.Norm), true, false, chunks, level);
            var last = layers[add.Stage];
            var g = spec.Conv.Geometry;
            if (projection.Strided is null || g.KH != 1 || projection.Blocks != last.Blocks || projection.OutH != last.PoolH || projection.OutW != last.PoolW)
                throw new InvalidOperationException($"ConvChainOp: projection {add} does not match stage {add.Stage}'s output");
            stage = add.Stage;
        }
        return projection;
    }

    // Forward, stage 0's step for image n after its conv: the projection's input window from the phase image x, its conv
    // and batch-norm sums.
    private void ProjectForward(int n, float* x, ThreadScratch ts, double* stats)
    {
        var pl = _trainProjection!;
        var phases = _layers[0].Strided!;
        int blocks = phases.InChannels / 16, wp = phases.PhaseWidth, plane = phases.PhaseHeight * wp * 16, rowLength = pl.OutW * 16;
        float* dst = pl.X!.Pointer + (long)n * pl.Plan.InputImage;
        for (int cb = 0; cb < blocks; cb++)
            for (int i = 0; i < pl.OutH; i++)
                new ReadOnlySpan<float>(x + (long)(_projectionBlock + cb) * plane + ((long)(i + _projectionOffset) * wp + _projectionOffset) * 16, rowLength)
                    .CopyTo(new Span<float>(dst + (long)cb * pl.Plan.InputPlane + (long)i * pl.Plan.InputRow, rowLength));
        ConvolveImage(pl, dst, pl.Y!.Pointer + (long)n * pl.Plan.OutputImage, ts, stats + 3 * _statStride);
    }

    // The add after _projectionStage: the projection's batch norm for image n, added into dst (blocked, strides given).
    private void AddTrainProjection(int n, float* dst, nint dstPlane, nint dstRow, ThreadScratch ts)
    {
        var pl = _trainProjection!;
        int row = pl.OutW * 16, plane = pl.OutH * row;
        float* bn = ts.Projection.Pointer;
        BnReluPool.Forward(_level, false, false, pl.Y!.Pointer + (long)n * pl.Plan.OutputImage, pl.Blocks, pl.OutH, pl.OutW, pl.Scale.Pointer,
            pl.Shift.Pointer, bn, plane, row);
        for (int b = 0; b < pl.Blocks; b++)
            for (int i = 0; i < pl.OutH; i++)
            {
                var d = new Span<float>(dst + b * dstPlane + i * dstRow, row);
                System.Numerics.Tensors.TensorPrimitives.Add(d, new ReadOnlySpan<float>(bn + (long)b * plane + (long)i * row, row), d);
            }
    }

    // Backward, the phase that completes stage `stage`'s output gradient g for image n: the projection's pass A when its
    // add follows that stage.
    private void ProjectPassA(int stage, int n, float* g, double* stats)
    {
        if (_trainProjection is { } pl && stage == _projectionStage) PassA(pl, n, g, stats + 3 * _statStride);
    }

    // After that phase: the projection's batch-norm parameter gradients and pass-B coefficients.
    private void FinishProjectionBackward(int stage)
    {
        if (_trainProjection is { } pl && stage == _projectionStage) pl.FinishBackward(_projectionStats, _chunks, _statStride);
    }

    // Stage 0's phase, after the chunk's images [start, end): the projection's pass B, weight gradient (grouped as its own
    // chain groups it) and input gradient, added into the NCHW input gradient gx after the strided stage's.
    private void ProjectBackward(int chunk, int start, int end, ThreadScratch ts, double* stats, float* gx)
    {
        var pl = _trainProjection!;
        var p = pl.Plan;
        var acc = pl.Accumulators[chunk];
        if (pl.Weight.RequiresGrad) acc.Clear();
        double* projStats = stats + 3 * _statStride;
        float* dyGroup = ts.ProjectionDy.Pointer;
        int group = pl.WeightGradGroup;
        float* g = _layers[_projectionStage].G!.Pointer;
        for (int n0 = start; n0 < end; n0 += group)
        {
            int n1 = Math.Min(n0 + group, end);
            for (int n = n0; n < n1; n++)
            {
                float* dy = dyGroup + (long)(n - n0) * pl.DyImage;
                float* interior = dy + pl.DyPadding * pl.DyRow + pl.DyPadding * 16;
                long t = Now();
                BnReluPool.BackwardInput(_level, false, false, pl.Y!.Pointer + (long)n * p.OutputImage, pl.Blocks, pl.OutH, pl.OutW, pl.Scale.Pointer,
                    pl.Shift.Pointer, g + (long)n * pl.OutputImage, pl.OutH * pl.OutW * 16, pl.OutW * 16, pl.CoefA.Pointer, pl.CoefB.Pointer,
                    pl.CoefC.Pointer, interior, pl.DyPlane, pl.DyRow, projStats + 2 * _statStride);
                t = Mark(t, 0, 0);
                if (!_inputGrad) continue;
                var dxPlan = pl.DxPlan!;
                float* dx = ts.ProjectionDx.Pointer;
                dxPlan.ForwardImage(dy, pl.PackedT!.Pointer, null, dx, dxPlan.OutputPlane, dxPlan.OutWidth * 16, null, null, relu: false);
                t = Mark(t, 0, 2);
                var geometry = pl.Geometry;
                pl.Strided!.AddInputGradient(dx, gx + (long)n * geometry.C * geometry.H * geometry.W);
                Mark(t, 0, 3);
            }
            if (pl.Weight.RequiresGrad)
            {
                long t = Now();
                p.WeightGradImages(pl.X!.Pointer + (long)n0 * p.InputImage, p.InputImage, dyGroup + pl.DyPadding * pl.DyRow + pl.DyPadding * 16,
                    pl.DyImage, n1 - n0, pl.DyPlane, pl.DyRow, acc.Pointer);
                Mark(t, 0, 1);
            }
        }
    }
}
