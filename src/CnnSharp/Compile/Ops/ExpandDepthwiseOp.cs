using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// An inference plan's 1x1 conv (the expansion, with its folded batch norm and clamp) and the depthwise 3×3 conv that
/// alone reads its output, run as one op over bands of rows (<see cref="ExpandDepthwise"/>): the same bits as the two
/// <see cref="Conv2dOp"/>s it replaces, without writing the expansion to memory. With <see cref="FuseProjection"/> the 1x1
/// projection that alone reads the depthwise output (with its residual add) joins too: the whole inverted-residual
/// block reads x and writes its output, and neither E-channel intermediate leaves the per-thread band buffers. Forward only.
/// </summary>
internal sealed class ExpandDepthwiseOp : CompiledOp
{
    private readonly Conv2dOp? _pointwise;
    private readonly Conv2dOp _depthwise;
    private readonly Conv2dOp? _projection;
    private readonly bool _small;
    private readonly Conv2dOp? _stem;

    private ExpandDepthwiseOp(Conv2dOp? pointwise, Conv2dOp depthwise, Conv2dOp? projection, bool small, Conv2dOp? stem = null)
        : base(projection is { HasResidual: true } ? [(stem ?? pointwise ?? depthwise).Inputs[0], projection.Inputs[1]] : [(stem ?? pointwise ?? depthwise).Inputs[0]],
            (projection ?? depthwise).Output)
    {
        _pointwise = pointwise;
        _depthwise = depthwise;
        _projection = projection;
        _small = small;
        _stem = stem;
    }

    /// <summary>
    /// Whether a direct RGB stem (<see cref="Conv2dOp.DirectStem"/>) whose output only a block without expansion reads
    /// (MobileNet-v2's features.0 before features.1) joins that block's op, its output rows computed band by band
    /// (<see cref="ExpandDepthwise.Stem"/>; the same bits) instead of written whole to memory; only where the block always
    /// runs banded (not a small one). Default true; a plan-time switch for A/B benchmarks (<c>onnx-plan-ab --switch stem-band</c>).
    /// </summary>
    internal static bool StemInBand { get; set; } = true;

    /// <summary>Whether a block with the stem in its bands splits a few images into equal parts (<see cref="FewImageParts"/>)
    /// like a small block (default true). A run-time switch for A/B benchmarks (<c>onnx-plan-ab --switch stem-parts</c>).</summary>
    internal static bool StemEqualParts { get; set; } = true;

    // The stem's weights as StemConv3x3S2.Pack groups them, pinned; repacked at every run (864 floats for MobileNet-v2),
    // so a changed SIMD level or weight is picked up.
    private float[]? _stemPacked;

    /// <summary>
    /// Whether the projection 1x1 conv after the depthwise conv joins the fused op (default true); a plan-time switch for
    /// A/B benchmarks (<c>onnx-plan-ab --switch expand-dw-proj</c>).
    /// </summary>
    internal static bool FuseProjection { get; set; } = true;

    /// <summary>
    /// Whether inference plans fuse such pairs (default true); a plan-time switch for A/B benchmarks
    /// (<c>onnx-plan-ab --switch expand-dw</c>).
    /// </summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>
    /// The smallest expansion (E·H·W floats per image) fused; 2^18 (1 MB) by default. Smaller expansions (MobileNet-v2's
    /// 192 × 28 × 28, 600 KB) stay in L2 between the two convs anyway, and there the fused op measured slower than the
    /// pair (docs/performance.md, stop 14). A plan-time setting.
    /// </summary>
    internal static int MinExpansionFloats { get; set; } = 1 << 18;

    /// <summary>
    /// Whether blocks whose expansion is below <see cref="MinExpansionFloats"/> fuse too (default true); such an op decides
    /// at every run, from the batch and <see cref="Parallelism.MaxThreads"/>, whether it runs banded or as the separate
    /// convs it replaced (<see cref="RunsBanded"/>; both give the same bits). Why: at batch 1 the separate convs pay a
    /// fork-join each and split one image over the threads at a fine grain, at batch 32 they write every image's
    /// expansion and depthwise output to L3 and read them back; which wins depends on the map and the batch (stop 14,
    /// stop 16 in docs/performance.md). A plan-time switch for A/B benchmarks (<c>onnx-plan-ab --switch expand-dw-small</c>).
    /// </summary>
    internal static bool SmallExpansions { get; set; } = true;

    /// <summary>Images per thread from which a small-expansion block (<see cref="SmallExpansions"/>) runs banded as a batch
    /// of whole images per unit (else by <see cref="SmallFewImages"/>); 2 by default. A run-time setting for benchmarks
    /// (<c>onnx-plan-ab --switch small-images:N</c>); outputs do not depend on it.</summary>
    internal static int SmallMinImagesPerThread { get; set; } = 2;

    public override string Name => (_stem is null ? "" : $"{_stem.Name} 3x3/2 > ") + (_pointwise is null ? "" : $"{_pointwise.Name} 1x1 > ") + $"{_depthwise.Name} dw3x3/{_depthwise.Geometry.StrideH}" +
        (_projection is null ? "" : $" > {_projection.Name} 1x1") + (_small ? " (banded by batch and threads)" : " (banded)");

    /// <summary>
    /// Whether <see cref="Forward"/> runs the block banded on <paramref name="threads"/> threads, else as the separate convs
    /// it replaced: always for an expansion of at least <see cref="MinExpansionFloats"/>; for a smaller one, at N ≥
    /// <see cref="SmallMinImagesPerThread"/> · threads when the expansion is at least <see cref="MinBatchedExpansionFloats"/>,
    /// below that when <see cref="SmallFewImages"/> is on, threads &gt; 1 and OutH / <see cref="FewImageParts"/> ≥
    /// <see cref="SmallMinBandRows"/>.
    /// </summary>
    internal bool RunsBanded(int threads)
    {
        if (!_small) return true;
        var g = _depthwise.Geometry;
        return g.N >= SmallMinImagesPerThread * threads
            ? (long)g.C * g.H * g.W >= MinBatchedExpansionFloats
            : SmallFewImages && threads > 1 && g.OutH / FewImageParts(g.N, threads) >= SmallMinBandRows;
    }

    /// <summary>
    /// The smallest expansion (E·H·W floats per image) of a small block run banded at whole images per thread; 0 (all)
    /// by default. MobileNet-v2 at batch 32, whole model, 2^17 (only its 28x28 blocks) against 0 (its 14x14 and 7x7 ones
    /// too): 0.98x for 0, within the noise, though per-op timings had suggested the 14x14 and 7x7 blocks ran slower banded
    /// (docs/performance.md, stop 16). A run-time setting for benchmarks (<c>onnx-plan-ab --switch small-batch:N</c>).
    /// </summary>
    internal static int MinBatchedExpansionFloats { get; set; }

    /// <summary>
    /// Whether a small-expansion block also runs banded at fewer than <see cref="SmallMinImagesPerThread"/> images per
    /// thread when every image splits into <see cref="FewImageParts"/> runs of at least <see cref="SmallMinBandRows"/>
    /// output rows (default true). Why: at batch 1 the separate convs pay three fork-joins and write the expansion and
    /// the depthwise output (into L2); MobileNet-v2's 28x28 and 14x14 blocks measured faster banded in equal halves,
    /// while 7x7 maps (units of 3-4 rows: a third more expansion rows for the halos, and every thread streaming all of the
    /// 1x1 weights) stay faster unfused. A run-time switch for A/B benchmarks (<c>onnx-plan-ab --switch expand-dw-few</c>).
    /// </summary>
    internal static bool SmallFewImages { get; set; } = true;

    /// <summary>The fewest output rows per unit for <see cref="SmallFewImages"/>; 7.</summary>
    internal static int SmallMinBandRows { get; set; } = 7;

    /// <summary>Units per image at fewer than <see cref="SmallMinImagesPerThread"/> images per thread: threads / gcd(N,
    /// threads), so that the N · parts equal units divide evenly over the threads.</summary>
    internal static int FewImageParts(int n, int threads)
    {
        int a = n, b = threads;
        while (b != 0) (a, b) = (b, a % b);
        return threads / a;
    }

    /// <summary>
    /// Whether a small block that does not run banded (<see cref="RunsBanded"/>) at fewer than
    /// <see cref="SmallMinImagesPerThread"/> images per thread runs split over output channels
    /// (<see cref="ExpandDepthwise.ForwardByChannels"/>: expansion + depthwise per channel part, then the projection per
    /// output-channel part) instead of as the three separate convs (default true). Why: MobileNet-v2's 7x7 blocks at
    /// batch 1 paid up to five fork-joins and the GEMMs' B packing as separate convs; split by channels they pay two,
    /// and each thread still streams only its half of the 1x1 weights (docs/performance.md, stop 16 round 2). Same bits.
    /// A run-time switch for A/B benchmarks (<c>onnx-plan-ab --switch expand-dw-channels</c>).
    /// </summary>
    internal static bool SmallByChannels { get; set; } = true;

    /// <summary>Whether <see cref="Forward"/>, not running banded, runs the block split over channels
    /// (<see cref="SmallByChannels"/>): an expansion and a projection, threads &gt; 1, N below
    /// <see cref="SmallMinImagesPerThread"/> · threads.</summary>
    internal bool RunsByChannels(int threads) =>
        SmallByChannels && _pointwise is not null && _projection is not null && threads > 1 && _depthwise.Geometry.N < SmallMinImagesPerThread * threads;

    // The depthwise output of the channel split (ExpandDepthwise.ChannelSplitFloats, at an aligned pitch, so not the
    // plan's buffer of that conv), pinned; made at the first such run.
    private float[]? _channelSplit;

    // The block split over channels (ExpandDepthwise.ForwardByChannels).
    private unsafe void ForwardByChannels(ExecutionPlan plan, int threads)
    {
        _pointwise!.PrepareWeights(out var pwBias, pack: true);
        var dwWeight = _depthwise.PrepareWeights(out var dwBias, pack: false);
        _projection!.PrepareWeights(out var pjBias, pack: true);
        var gp = _pointwise.Geometry;
        var gd = _depthwise.Geometry;
        var x = plan.Data[Inputs[0]].AsSpan(0, gp.N * gp.C * gp.H * gp.W);
        var z = plan.Data[Output].AsSpan();
        var r = _projection.HasResidual ? plan.Data[Inputs[1]].AsSpan() : default;
        nint floats = ExpandDepthwise.ChannelSplitFloats(gd) + 16;
        if (_channelSplit is null || _channelSplit.Length < floats) _channelSplit = GC.AllocateUninitializedArray<float>((int)floats, pinned: true);
        fixed (float* px = x, pys = _channelSplit, pz = z, pb = pwBias, pd = dwWeight, pdb = dwBias, pjb = pjBias, pr = r)
        {
            float* py = (float*)(((nint)pys + 63) & ~(nint)63);
            var projection = new ExpandDepthwise.Projection(_projection.Packed, pjBias.IsEmpty ? null : pjb, r.IsEmpty ? null : pr, pz,
                _projection.Geometry, _projection.Relu, _projection.Max);
            ExpandDepthwise.ForwardByChannels(px, _pointwise.Packed, pwBias.IsEmpty ? null : pb, _pointwise.Relu, _pointwise.Max,
                pd, dwBias.IsEmpty ? null : pdb, _depthwise.Relu ? 0f : float.NegativeInfinity, _depthwise.Max, py, gp, gd, Isa.Level,
                threads, FewImageParts(gd.N, threads), projection);
        }
    }

    public override IEnumerable<Tensor> Parameters =>
        (_stem?.Parameters ?? []).Concat(_pointwise?.Parameters ?? []).Concat(_depthwise.Parameters).Concat(_projection?.Parameters ?? []);

    /// <summary>
    /// <paramref name="ops"/> with every fusable (1x1 conv, depthwise conv) pair replaced by one op: consecutive
    /// <see cref="Conv2dOp"/>s, the 1x1 conv stride 1 without residual, its output read by the depthwise conv alone (and
    /// not the plan output), the depthwise conv without residual, its output buffer not the 1x1 conv's input buffer (the
    /// fused op reads x while writing y), the expansion at least <see cref="MinExpansionFloats"/> per image (any size with
    /// <see cref="SmallExpansions"/>: smaller ones then choose banded or unfused at every run, <see cref="RunsBanded"/>). A third
    /// consecutive <see cref="Conv2dOp"/>, a 1x1 stride-1 conv that alone reads the depthwise output (which is not the
    /// plan output), joins when <see cref="FuseProjection"/> is on and its output buffer is neither x's nor its residual's.
    /// A block without expansion (depthwise conv + projection) also takes the direct stem before it (<see cref="StemInBand"/>).
    /// </summary>
    internal static CompiledOp[] FuseInto(CompiledOp[] ops, float[][] data, int outputId)
    {
        if (!Enabled) return ops;
        var readers = ReaderCounts(ops);
        var fused = new List<CompiledOp>(ops.Length);
        for (int i = 0; i < ops.Length; i++)
        {
            if (i + 1 < ops.Length && ops[i] is Conv2dOp { HasResidual: false } pw && ops[i + 1] is Conv2dOp { HasResidual: false } dw
                && dw.Inputs[0] == pw.Output && pw.Output != outputId && readers.GetValueOrDefault(pw.Output) == 1
                && ExpandDepthwise.Takes(pw.Geometry, dw.Geometry) && GroupedConv2d.Prefers(dw.Geometry) && DepthwiseConv3x3.Enabled
                && ((long)pw.Geometry.K * pw.Geometry.H * pw.Geometry.W >= MinExpansionFloats || SmallExpansions)
                && !ReferenceEquals(data[pw.Inputs[0]], data[dw.Output]))
            {
                var pj = i + 2 < ops.Length && FuseProjection && ops[i + 2] is Conv2dOp proj && Projects(dw, proj, pw, readers, data, outputId) ? proj : null;
                fused.Add(new ExpandDepthwiseOp(pw, dw, pj, (long)pw.Geometry.K * pw.Geometry.H * pw.Geometry.W < MinExpansionFloats));
                i += pj is null ? 1 : 2;
                continue;
            }
            if (i + 1 < ops.Length && FuseProjection && ops[i] is Conv2dOp { HasResidual: false } lone && ops[i + 1] is Conv2dOp next
                && DepthwiseConv3x3.Applies(lone.Geometry) && GroupedConv2d.Prefers(lone.Geometry) && DepthwiseConv3x3.Enabled
                && ((long)lone.Geometry.C * lone.Geometry.H * lone.Geometry.W >= MinExpansionFloats || SmallExpansions)
                && Projects(lone, next, ops[i], readers, data, outputId))
            {
                // A block without expansion (MobileNet-v2's first): depthwise + projection in bands, with the stem before
                // it when that always runs banded.
                bool small = (long)lone.Geometry.C * lone.Geometry.H * lone.Geometry.W < MinExpansionFloats;
                var stem = !small && StemInBand && fused.Count > 0 && fused[^1] is Conv2dOp { DirectStem: true, HasResidual: false } s
                    && s.Output == lone.Inputs[0] && s.Output != outputId && readers.GetValueOrDefault(s.Output) == 1
                    && !ReferenceEquals(data[s.Inputs[0]], data[next.Output])
                    && (!next.HasResidual || !ReferenceEquals(data[next.Inputs[1]], data[s.Inputs[0]])) ? s : null;
                if (stem is not null) fused.RemoveAt(fused.Count - 1);
                fused.Add(new ExpandDepthwiseOp(null, lone, next, small, stem));
                i++;
                continue;
            }
            fused.Add(ops[i]);
        }
        return [.. fused];
    }

    // Whether `proj` is a 1x1 stride-1 conv that alone reads depthwise conv `dw`'s output (not the plan output) and whose
    // output buffer is neither the block input's (`first` reads it) nor its residual's.
    private static bool Projects(Conv2dOp dw, Conv2dOp proj, CompiledOp first, Dictionary<int, int> readers, float[][] data, int outputId) =>
        proj.Inputs[0] == dw.Output && dw.Output != outputId && readers.GetValueOrDefault(dw.Output) == 1 && PointwiseConv.Takes(proj.Geometry)
        && proj.Geometry.C == dw.Geometry.K && proj.Geometry.H == dw.Geometry.OutH && proj.Geometry.W == dw.Geometry.OutW
        && !ReferenceEquals(data[first.Inputs[0]], data[proj.Output])
        && (!proj.HasResidual || !ReferenceEquals(data[proj.Inputs[1]], data[proj.Output]));

    public override unsafe void Forward(ExecutionPlan plan)
    {
        int threads = Parallelism.MaxThreads;
        if (!RunsBanded(threads))
        {
            if (RunsByChannels(threads))
            {
                ForwardByChannels(plan, threads);
                return;
            }
            // A small block where the separate convs measured faster (RunsBanded): run them, on the intermediate buffers
            // the plan allocated for them before the fusion (still theirs: nothing else runs in between).
            _stem?.Forward(plan);
            _pointwise?.Forward(plan);
            _depthwise.Forward(plan);
            _projection?.Forward(plan);
            return;
        }
        ReadOnlySpan<float> pwBias = default;
        _pointwise?.PrepareWeights(out pwBias, pack: true);
        var dwWeight = _depthwise.PrepareWeights(out var dwBias, pack: false);
        ReadOnlySpan<float> pjBias = default;
        _projection?.PrepareWeights(out pjBias, pack: true);
        var gp = _pointwise?.Geometry ?? default;
        var gd = _depthwise.Geometry;
        var gs = _stem?.Geometry ?? default;
        ReadOnlySpan<float> stemBias = default;
        if (_stem is not null)
        {
            var sw = _stem.PrepareWeights(out stemBias, pack: false);
            _stemPacked ??= GC.AllocateUninitializedArray<float>(sw.Length, pinned: true);
            StemConv3x3S2.Pack(sw, gs, Isa.Level, _stemPacked);
        }
        var x = plan.Data[Inputs[0]].AsSpan(0, _stem is not null ? gs.N * gs.C * gs.H * gs.W : gd.N * (_pointwise is null ? gd.C : gp.C) * gd.H * gd.W);
        var y = plan.Data[Output].AsSpan();
        var r = _projection is { HasResidual: true } ? plan.Data[Inputs[1]].AsSpan() : default;
        fixed (float* px = x, py = y, pb = pwBias, pd = dwWeight, pdb = dwBias, pjb = pjBias, pr = r, ps = _stemPacked, psb = stemBias)
        {
            var projection = _projection is null ? default
                : new ExpandDepthwise.Projection(_projection.Packed, pjBias.IsEmpty ? null : pjb, r.IsEmpty ? null : pr, py,
                    _projection.Geometry, _projection.Relu, _projection.Max);
            var stem = _stem is null ? default
                : new ExpandDepthwise.Stem(ps, stemBias.IsEmpty ? null : psb, gs, _stem.Relu ? 0f : float.NegativeInfinity, _stem.Max, Isa.Level);
            ExpandDepthwise.Forward(px, _pointwise?.Packed, pwBias.IsEmpty ? null : pb, _pointwise?.Relu ?? false, _pointwise?.Max ?? float.PositiveInfinity,
                pd, dwBias.IsEmpty ? null : pdb, _depthwise.Relu ? 0f : float.NegativeInfinity, _depthwise.Max,
                _projection is null ? py : null, gp, gd, Isa.Level, threads, projection: projection,
                partsPerImage: (_small || (_stem is not null && StemEqualParts)) && gd.N < SmallMinImagesPerThread * threads ? FewImageParts(gd.N, threads) : 0, stem: stem);
        }
    }

    public override void Backward(ExecutionPlan plan) =>
        throw new InvalidOperationException("ExpandDepthwiseOp: inference-only op has no backward");
}
