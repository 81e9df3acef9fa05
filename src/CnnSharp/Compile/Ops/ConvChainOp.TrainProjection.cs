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
    /// <summary>A training projection: its stage, the strided stage it reads (Source), the stage its add follows, where in
    /// the phase image it reads (the first block and window offset: <see cref="ProjectionShortcut"/>'s rule), and its chunk
    /// statistics (region 1 + its index, 3·stride doubles each: sums / pass-A sums, then the conv bias gradient).</summary>
    private sealed record TrainProjection(ConvChainLayer Layer, int Source, int AddStage, int Block, int Offset, int Region, nint[] Stats);

    private readonly TrainProjection[] _trainProjections;

    private static TrainProjection[] PlanTrainProjections(ChainResidual?[] inner, ConvChainLayer[] layers, bool differentiable, int chunks,
        Func<BatchNormSpec, BatchNormBase?> modules, Kernels.IsaLevel level)
    {
        if (!differentiable) return [];
        if (inner.Any(r => r is { Projection: null, Source: > 0 and var source } && layers[source].Strided is not null))
            throw new InvalidOperationException("ConvChainOp: an identity add reading a strided stage's input does not fit a training chain");
        var list = new List<TrainProjection>();
        foreach (var r in inner)
        {
            if (r is not { Projection: { } spec } add) continue;
            if (add.Source < 0 || layers[add.Source] is not { Strided: { } phases, TrainNorm: true } || spec.Norm is not { Training: true }
                || (add.Source > 0 && phases.PhaseSide != phases.Stride))
                throw new InvalidOperationException($"ConvChainOp: training projection {add} needs a strided, batch-normalised stage");
            var projection = new ConvChainLayer(new ConvChainStage(spec.Conv, spec.Norm, false, null), modules(spec.Norm), true, false, chunks, level);
            var last = layers[add.Stage];
            if (projection.Strided is null || spec.Conv.Geometry.KH != 1 || projection.Blocks != last.Blocks || projection.OutH != last.PoolH
                || projection.OutW != last.PoolW || projection.Geometry.C != phases.InChannels)
                throw new InvalidOperationException($"ConvChainOp: projection {add} does not match stage {add.Stage}'s output");
            int p = phases.Padding, s = phases.Stride;
            list.Add(new TrainProjection(projection, add.Source, add.Stage, (p % s * phases.PhaseSide + p % s) * (phases.InChannels / 16), p / s,
                list.Count + 1, []));
        }
        return [.. list];
    }

    // Forward, strided stage s's step for image n after its conv: each projection reading it gets its input window from the
    // phase image x, its conv and batch-norm sums.
    private void ProjectForward(int s, int n, float* x, ThreadScratch ts, double* stats)
    {
        foreach (var tp in _trainProjections)
        {
            if (tp.Source != s) continue;
            var pl = tp.Layer;
            var phases = _layers[s].Strided!;
            int blocks = phases.InChannels / 16, wp = phases.PhaseWidth, plane = phases.PhaseHeight * wp * 16, rowLength = pl.OutW * 16;
            float* dst = pl.X!.Pointer + (long)n * pl.Plan.InputImage;
            for (int cb = 0; cb < blocks; cb++)
                for (int i = 0; i < pl.OutH; i++)
                    new ReadOnlySpan<float>(x + (long)(tp.Block + cb) * plane + ((long)(i + tp.Offset) * wp + tp.Offset) * 16, rowLength)
                        .CopyTo(new Span<float>(dst + (long)cb * pl.Plan.InputPlane + (long)i * pl.Plan.InputRow, rowLength));
            ConvolveImage(pl, dst, pl.Y!.Pointer + (long)n * pl.Plan.OutputImage, ts, stats + 3 * tp.Region * _statStride);
        }
    }

    // After the forward phase ending at stage b: the batch statistics of the projections reading it.
    private void FinishProjectionStatistics(int b)
    {
        foreach (var tp in _trainProjections)
            if (tp.Source == b) tp.Layer.FinishStatistics(tp.Stats, _chunks, _statStride);
    }

    // The add after `stage`, when it is a training projection's: its batch norm for image n, added into dst (blocked,
    // strides given); false when the add is another kind.
    private bool AddTrainProjection(int stage, int n, float* dst, nint dstPlane, nint dstRow, ThreadScratch ts)
    {
        TrainProjection? tp = null;
        foreach (var t in _trainProjections) if (t.AddStage == stage) tp = t;
        if (tp is null) return false;
        var pl = tp.Layer;
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
        return true;
    }

    // Backward, the phase that completes stage `stage`'s output gradient g for image n: the pass A of the projections whose
    // add follows that stage (the add's gradient is g).
    private void ProjectPassA(int stage, int n, float* g, double* stats)
    {
        foreach (var tp in _trainProjections)
            if (tp.AddStage == stage) PassA(tp.Layer, n, g, stats + 3 * tp.Region * _statStride);
    }

    // After that phase: their batch-norm parameter gradients and pass-B coefficients.
    private void FinishProjectionBackward(int stage)
    {
        foreach (var tp in _trainProjections)
            if (tp.AddStage == stage) tp.Layer.FinishBackward(tp.Stats, _chunks, _statStride);
    }

    // After strided stage s's backward phase: the projections' conv weight and bias gradients.
    private void ReduceProjectionGradients(int s)
    {
        foreach (var tp in _trainProjections)
            if (tp.Source == s) tp.Layer.ReduceConvGradient(tp.Stats, _chunks, _statStride);
    }

    // The projection reading strided stage `source` (no closure: called per chunk).
    // Whether strided inner stage s's backward applies the ReLU of the add before it, in the phase domain (InnerBackward
    // skips it there). No other add's gradient joins stage s − 1's output gradient before the mask: an identity add reads a
    // stride-1 stage's input (PlanTrainProjections checks it).
    private bool MasksInPhases(int s) => _inner[s - 1] is { Relu: true };

    private TrainProjection? ProjectionOf(int source)
    {
        foreach (var t in _trainProjections) if (t.Source == source) return t;
        return null;
    }

    // Backward of a projection reading stage 0 (the chain input, NCHW): after the chunk's images [start, end) have their
    // strided input gradient in gx, the projection's pass B, weight gradient and input gradient, added after it.
    private void ProjectBackward(TrainProjection tp, int chunk, int start, int end, ThreadScratch ts, double* stats, float* gx)
    {
        var pl = tp.Layer;
        if (pl.Weight.RequiresGrad) pl.Accumulators[chunk].Clear();
        int group = pl.WeightGradGroup;
        for (int n0 = start; n0 < end; n0 += group)
        {
            int n1 = Math.Min(n0 + group, end);
            for (int n = n0; n < n1; n++)
            {
                float* dx = ProjectBackwardImage(tp, n, n - n0, ts, stats);
                if (dx == null) continue;
                long t = Now();
                var g = pl.Geometry;
                pl.Strided!.AddInputGradient(dx, gx + (long)n * g.C * g.H * g.W);
                Mark(t, tp.Source, 3);
            }
            ProjectWeightGrad(tp, chunk, n0, n1, ts);
        }
    }

    // Image n's pass B into slot `slot` of the thread's projection gradient group and, when the chain input of stage
    // tp.Source has a gradient, its input gradient (the projection's phase-image gradient, per thread; null otherwise).
    private float* ProjectBackwardImage(TrainProjection tp, int n, int slot, ThreadScratch ts, double* stats)
    {
        var pl = tp.Layer;
        float* dy = ts.ProjectionDy.Pointer + (long)slot * pl.DyImage;
        float* interior = dy + pl.DyPadding * pl.DyRow + pl.DyPadding * 16;
        long t = Now();
        BnReluPool.BackwardInput(_level, false, false, pl.Y!.Pointer + (long)n * pl.Plan.OutputImage, pl.Blocks, pl.OutH, pl.OutW, pl.Scale.Pointer,
            pl.Shift.Pointer, _layers[tp.AddStage].G!.Pointer + (long)n * pl.OutputImage, pl.OutH * pl.OutW * 16, pl.OutW * 16, pl.CoefA.Pointer,
            pl.CoefB.Pointer, pl.CoefC.Pointer, interior, pl.DyPlane, pl.DyRow, stats + (3 * tp.Region + 2) * _statStride);
        t = Mark(t, tp.Source, 0);
        if (tp.Source == 0 && !_inputGrad) return null;
        var dxPlan = pl.DxPlan!;
        float* dx = ts.ProjectionDx.Pointer;
        dxPlan.ForwardImage(dy, pl.PackedT!.Pointer, null, dx, dxPlan.OutputPlane, dxPlan.OutWidth * 16, null, null, relu: false);
        Mark(t, tp.Source, 2);
        return dx;
    }

    // The projection's weight gradient over images [n0, n1) (their pass-B outputs in the thread's group slots).
    private static void ProjectWeightGrad(TrainProjection tp, int chunk, int n0, int n1, ThreadScratch ts)
    {
        var pl = tp.Layer;
        if (!pl.Weight.RequiresGrad || n1 <= n0) return;
        var p = pl.Plan;
        long t = Now();
        p.WeightGradImages(pl.X!.Pointer + (long)n0 * p.InputImage, p.InputImage, ts.ProjectionDy.Pointer + pl.DyPadding * pl.DyRow + pl.DyPadding * 16,
            pl.DyImage, n1 - n0, pl.DyPlane, pl.DyRow, pl.Accumulators[chunk].Pointer);
        Mark(t, tp.Source, 1);
    }

    // Adds a projection's phase-image input gradient dx (one phase, Ho x Wo, blocked) into the dense blocked gradient g of
    // the strided stage's input (pixel (s·i, s·j)), as AddInputGradient adds it into NCHW.
    private static void AddProjectionGradient(TrainProjection tp, float* dx, float* g)
    {
        var pl = tp.Layer;
        var st = pl.Strided!;
        int h = st.Height, w = st.Width, s = st.Stride, blocks = st.InChannels / 16;
        for (int cb = 0; cb < blocks; cb++)
            for (int i = 0; i < pl.OutH; i++)
                for (int j = 0; j < pl.OutW; j++)
                {
                    float* d = g + (((long)cb * h + s * i) * w + s * j) * 16;
                    var v = System.Runtime.Intrinsics.Vector512.Load(d) + System.Runtime.Intrinsics.Vector512.Load(dx + (((long)cb * pl.OutH + i) * pl.OutW + j) * 16);
                    System.Runtime.Intrinsics.Vector512.Store(v, d);
                }
    }

    // Backward of strided inner stage s for image n (training plans: the downsampling block merged into the chain before
    // it): its phase-image input gradient dx becomes the previous stage's output gradient G (dense blocked), then the
    // projection reading the stage adds its input gradient there (its pass B and, per its group, weight gradient first).
    // Returns G's image. The sums are those of the separate chains' NCHW scatters, in their order.
    private float* InnerStridedBackward(int s, StridedConv2d st, TrainProjection? tp, int chunk, int start, int end, int n, float* dx, ThreadScratch ts,
        double* stats)
    {
        var prev = _layers[s - 1];
        float* g = prev.G!.Pointer + (long)n * prev.OutputImage;
        long t = Now();
        // The previous add's ReLU masks in the phase domain, by the stored phase image (the output it gathered), before the
        // copy: y > 0 ? a + b : 0 is (y > 0 ? a : 0) + (y > 0 ? b : 0), the same bits, without gathering the output back.
        bool mask = MasksInPhases(s);
        var layer = _layers[s];
        if (mask) MaskPositive(new ReadOnlySpan<float>(layer.X!.Pointer + (long)n * layer.Plan.InputImage, layer.Plan.InputImage), new Span<float>(dx, layer.Plan.InputImage));
        st.PhaseImageToBlocked(dx, g);
        Mark(t, s, 3);
        if (tp is null) return g;
        int group = tp.Layer.WeightGradGroup, slot = (n - start) % group;
        float* dxp = ProjectBackwardImage(tp, n, slot, ts, stats);
        t = Now();
        var pl = tp.Layer;
        // (The projection's input is the phase image's window at the pixels it reads: the same values of y.)
        if (mask) MaskPositive(new ReadOnlySpan<float>(pl.X!.Pointer + (long)n * pl.Plan.InputImage, pl.Plan.InputImage), new Span<float>(dxp, pl.Plan.InputImage));
        AddProjectionGradient(tp, dxp, g);
        Mark(t, s, 3);
        if (slot == group - 1 || n == end - 1) ProjectWeightGrad(tp, chunk, n - slot, n + 1, ts);
        return g;
    }
}
