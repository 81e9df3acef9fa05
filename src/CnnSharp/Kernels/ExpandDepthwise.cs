using System.Runtime.CompilerServices;

namespace CnnSharp.Kernels;

/// <summary>
/// Forward of an inverted-residual block's expansion and depthwise convolution in one pass over bands of rows: a 1x1
/// (pointwise) convolution C → E with its epilogue, whose output feeds only a depthwise 3×3 convolution (padding 1, stride
/// 1 or 2) with its epilogue. <c>y = dw(pw(x))</c> with exactly the bits of running <see cref="PointwiseConv"/> and then
/// <see cref="DepthwiseConv3x3"/>, but the E-channel expansion is never written to memory as a whole. Optionally the
/// projection 1x1 conv after the depthwise conv runs in the same bands (<see cref="Projection"/>), and a block without
/// expansion (depthwise + projection, the depthwise conv reading x) is computed the same way.
/// </summary>
/// <remarks>
/// <para>Why: MobileNet-v2's expansions at 112×112 (96 channels, 4.8 MB) and 56×56 (144 channels, 1.8 MB) exceed L2;
/// run separately, the 1x1 conv writes them out and the depthwise conv reads them back from L3 or memory. Here each band
/// of output rows of the depthwise conv needs only the expansion rows it reads (stride 1: band + 1 row above and below;
/// stride 2: 2·band + 1), which are computed into a per-thread buffer of at most <see cref="BufferFloats"/> floats, kept
/// in L2, and consumed at once.</para>
/// <para>Bands: the output rows of one image are cut into bands of a fixed height (from the geometry only); a work unit
/// is a run of consecutive bands of one image. Inside a unit the expansion rows a band shares with the previous one (the
/// halo: 2 rows at stride 1, 1 at stride 2) are moved to the top of the buffer instead of recomputed, so the expansion
/// is computed once per row, except at the first band of each unit.</para>
/// <para>Sums: every expansion value is <see cref="PointwiseConv.Block"/>'s (same KC slices, same order), every output
/// <see cref="DepthwiseConv3x3.ForwardRows"/>'s; neither depends on the band or the unit, so the result is bit-identical
/// to the unfused convolutions and for any thread count.</para>
/// </remarks>
internal static unsafe class ExpandDepthwise
{
    /// <summary>
    /// The block's optional third conv: a 1x1 projection E → K of the depthwise output with its epilogue
    /// (<c>z = min(relu?(W · y + b + r), max)</c>), computed band by band from a second per-thread buffer, so the
    /// depthwise output is not written to memory either. <see cref="Weights"/> null: no projection (y is the output).
    /// </summary>
    internal readonly struct Projection(PackedConvWeights? weights, float* bias, float* residual, float* output, Conv2dGeometry geometry,
        bool relu, float max)
    {
        /// <summary>The packed 1x1 weights (K, E, 1, 1), or null for no projection.</summary>
        public PackedConvWeights? Weights { get; } = weights;

        /// <summary>b (K), or null.</summary>
        public float* Bias { get; } = bias;

        /// <summary>r (N, K, OutH, OutW), or null; may not overlap z.</summary>
        public float* Residual { get; } = residual;

        /// <summary>z (N, K, OutH, OutW); may not overlap x.</summary>
        public float* Output { get; } = output;

        /// <summary>The projection's geometry (its input is the depthwise output).</summary>
        public Conv2dGeometry Geometry { get; } = geometry;

        /// <summary>Clamp z at zero (after the residual).</summary>
        public bool Relu { get; } = relu;

        /// <summary>Upper clamp of z, +∞ for none.</summary>
        public float Max { get; } = max;
    }

    /// <summary>
    /// The optional producer of a block without expansion: an RGB stem (<see cref="StemConv3x3S2"/>: 3×3 stride 2 over a
    /// few channels, with its clamp) whose output only the depthwise conv reads. Its output rows are computed band by band
    /// into the per-thread buffer an expansion would use (<see cref="StemConv3x3S2.ForwardRows"/>, the same bits as the
    /// whole stem), so the stem's output (MobileNet-v2: 32 × 112 × 112, 1.6 MB) is never written to memory.
    /// <see cref="Packed"/> null: no stem.
    /// </summary>
    internal readonly struct Stem(float* packed, float* bias, Conv2dGeometry geometry, float min, float max, IsaLevel level)
    {
        /// <summary>The weights as <see cref="StemConv3x3S2.Pack"/> made them for <see cref="Level"/>, or null for no stem.</summary>
        public float* Packed { get; } = packed;

        /// <summary>b (K), or null.</summary>
        public float* Bias { get; } = bias;

        /// <summary>The stem's geometry; its input is the op's x.</summary>
        public Conv2dGeometry Geometry { get; } = geometry;

        /// <summary>Lower clamp (−∞ for none).</summary>
        public float Min { get; } = min;

        /// <summary>Upper clamp (+∞ for none).</summary>
        public float Max { get; } = max;

        /// <summary>The SIMD path the weights were packed for.</summary>
        public IsaLevel Level { get; } = level;
    }

    /// <summary>
    /// Target size in floats of one thread's expansion buffer: 2^17 (512 KB, well inside a 1-2 MB L2 next to the input and
    /// output rows a band touches). Settable for benchmarks; outputs do not depend on it.
    /// </summary>
    internal static int BufferFloats { get; set; } = 1 << 17;

    /// <summary>
    /// Whether the expansion (or stem) rows are computed straight into the layout the depthwise taps read
    /// (<see cref="DepthwiseConv3x3.ForwardPrepared"/>), instead of into plain rows that the depthwise conv then copies
    /// (stride 1) or splits into even and odd columns (stride 2) channel by channel (default true). At stride 2 the
    /// expansion's C input channels are split instead of its E output channels (a 1x1 conv maps each pixel on its own, so
    /// it can run on the pixels in any order): 16 or 24 channels instead of 96 or 144 for MobileNet-v2. The same bits
    /// (every value is still <see cref="PointwiseConv.Block"/>'s and the taps' own). Why: the per-channel copies and splits
    /// of every band cost MobileNet-v2's early blocks more than their depthwise taps (docs/performance.md, stop 19). A
    /// run-time switch for A/B benchmarks (<c>onnx-plan-ab --switch dw-in-place</c>).
    /// </summary>
    internal static bool InPlaceRows { get; set; } = true;

    // The in-place band layout: floats before channel c's band (readable by the taps' left reads, and aligning the band)
    // and after it (the taps' reach past the band).
    private const int BandFront = 16, BandSlack = 48;

    /// <summary>Whether <paramref name="pw"/> followed by <paramref name="dw"/> is a pair this kernel computes.</summary>
    public static bool Takes(in Conv2dGeometry pw, in Conv2dGeometry dw) =>
        PointwiseConv.Takes(pw) && DepthwiseConv3x3.Applies(dw) && dw.C == pw.K && dw.N == pw.N && dw.H == pw.H && dw.W == pw.W;

    /// <summary>Output rows per band for <paramref name="dw"/>: as many as keep the expansion rows they read (with
    /// <paramref name="expansion"/>) and the band's depthwise output (with <paramref name="projection"/>) within
    /// <see cref="BufferFloats"/>, at least 1.</summary>
    internal static int BandRows(in Conv2dGeometry dw, bool projection = false, bool expansion = true)
    {
        int r = 1;
        while (r < dw.OutH && Floats(dw.C, dw.W, dw.OutW, dw.StrideH, r + 1, projection, expansion) <= BufferFloats) r++;
        return r;

        static long Floats(int channels, int w, int outW, int stride, int rows, bool projection, bool expansion) =>
            (long)channels * ((expansion ? (stride == 1 ? rows + 2 : 2 * rows + 1) * (long)w : 0) + (projection ? (long)rows * outW : 0));
    }

    /// <summary>
    /// y = clamp_dw(dw(clamp_pw(pw(x) + b_pw)) + b_dw) over the batch, on up to <paramref name="threads"/> threads.
    /// </summary>
    /// <param name="x">Input (N, C, H, W); with a <paramref name="stem"/>, the stem's input.</param>
    /// <param name="pw">The packed 1x1 weights (E, C, 1, 1), or null for no expansion (x is then the depthwise conv's
    /// input, or the stem's, and a projection is required).</param>
    /// <param name="pwBias">The 1x1 conv's bias (E), or null.</param>
    /// <param name="pwRelu">Clamp the expansion at zero.</param>
    /// <param name="pwMax">Upper clamp of the expansion (ReLU6: 6), +∞ for none.</param>
    /// <param name="dw">Depthwise weights (E, 1, 3, 3).</param>
    /// <param name="dwBias">Depthwise bias (E), or null.</param>
    /// <param name="dwMin">Lower clamp of the output (−∞ for none).</param>
    /// <param name="dwMax">Upper clamp of the output (+∞ for none).</param>
    /// <param name="y">Output (N, E, OutH, OutW); fully overwritten; may not overlap x.</param>
    /// <param name="gp">The 1x1 conv's geometry (<see cref="Takes"/> must hold with <paramref name="gd"/>).</param>
    /// <param name="gd">The depthwise conv's geometry.</param>
    /// <param name="level">The depthwise kernel's SIMD level (the 1x1 conv uses the packed weights' level).</param>
    /// <param name="threads">Threads to use.</param>
    /// <param name="bandRows">Output rows per band; 0 for <see cref="BandRows"/> (tests force small bands).</param>
    /// <param name="projection">The optional projection (then y is not written and may be null).</param>
    /// <param name="partsPerImage">0: the default split (whole images per unit from 2 images per thread, else up to
    /// 2·threads / N runs of bands per image). &gt; 0: that many units per image (at most the band count), each a run of
    /// as many bands (±1) of equal height (the band count per image rounded up to a multiple of the parts, the band
    /// height lowered to match), so that N · parts units of equal work balance over the threads (a few images of a small
    /// map, where the default split leaves, e.g., 3 units of 11, 11 and 6 rows for 2 threads).</param>
    /// <param name="stem">The optional stem producing the depthwise conv's input from x (only without an expansion).</param>
    public static void Forward(float* x, PackedConvWeights? pw, float* pwBias, bool pwRelu, float pwMax, float* dw, float* dwBias,
        float dwMin, float dwMax, float* y, in Conv2dGeometry gp, in Conv2dGeometry gd, IsaLevel level, int threads, int bandRows = 0,
        in Projection projection = default, int partsPerImage = 0, in Stem stem = default)
    {
        if (pw is null)
        {
            // No expansion: the depthwise conv reads x (N, E, H, W) itself; only worth it with the projection.
            if (!DepthwiseConv3x3.Applies(gd) || projection.Weights is null)
                throw new ArgumentException($"ExpandDepthwise: without an expansion, {gd} must be a depthwise 3x3 conv followed by a projection", nameof(gd));
            var gs = stem.Geometry;
            if (stem.Packed != null && (!StemConv3x3S2.Applies(gs) || gs.K != gd.C || gs.N != gd.N || gs.OutH != gd.H || gs.OutW != gd.W))
                throw new ArgumentException($"ExpandDepthwise: stem {gs} does not produce the depthwise input of {gd}", nameof(stem));
        }
        else if (stem.Packed != null)
        {
            throw new ArgumentException("ExpandDepthwise: a stem feeds only a block without expansion", nameof(stem));
        }
        else
        {
            if (!Takes(gp, gd)) throw new ArgumentException($"ExpandDepthwise: {gp} then {gd} is not a 1x1 conv feeding a depthwise 3x3 conv", nameof(gd));
            if (!pw.Matches(gp, pw.Level)) throw new ArgumentException($"ExpandDepthwise: packed weights do not match {gp}", nameof(pw));
        }
        var gj = projection.Geometry;
        if (projection.Weights is { } pj && (!PointwiseConv.Takes(gj) || gj.C != gd.K || gj.N != gd.N || gj.H != gd.OutH || gj.W != gd.OutW || !pj.Matches(gj, pj.Level)))
            throw new ArgumentException($"ExpandDepthwise: projection {gj} does not take the depthwise output of {gd}", nameof(projection));
        if (gd.N == 0) return;
        var job = t_job ??= new Job();
        if (bandRows <= 0) bandRows = BandRows(gd, projection.Weights is not null, expansion: pw is not null || stem.Packed != null);
        bandRows = Math.Min(bandRows, gd.OutH);
        int bands = (gd.OutH + bandRows - 1) / bandRows;
        // A few units per thread when one image per thread is not enough; consecutive bands stay together.
        int parts = threads <= 1 || gd.N >= 2 * threads ? 1 : Math.Min(bands, Math.Max(1, 2 * threads / gd.N));
        if (partsPerImage > 0)
        {
            // Equal units: a multiple of the parts in bands of equal height (only the image's last band may be shorter).
            parts = Math.Min(partsPerImage, gd.OutH);
            bands = (bands + parts - 1) / parts * parts;
            bandRows = (gd.OutH + bands - 1) / bands;
            bands = (gd.OutH + bandRows - 1) / bandRows;
            parts = Math.Min(parts, bands);
        }
        job.Bind(new Operands(x, pw, pwBias, pwRelu, pwMax, dw, dwBias, dwMin, dwMax, y, gp, gd, level, parts, projection), bandRows, bands, stem);
        int units = gd.N * parts;
        if (threads <= 1 || units == 1)
        {
            for (int u = 0; u < units; u++) job.RunUnit(u, 0);
        }
        else
        {
            WorkerPool.Shared.RunDynamic(threads, units, job.RunUnitAction);
        }
        pw?.KeepAlive();
        projection.Weights?.KeepAlive();
    }

    /// <summary>
    /// The whole block (expansion, depthwise conv, projection) for a few images of a small map, split over output
    /// channels instead of rows: first each unit (image, part) computes the expansion rows of its part of the E channels
    /// over the whole image (<see cref="PointwiseConv.Block"/>, from a copy of the image at an aligned pitch, into a
    /// per-thread buffer) and their depthwise conv into <paramref name="y"/>; after that fork-join each unit (image, part) computes its part of the projection's K output
    /// channels from all of y. Same bits as the separate convs (every value is <see cref="PointwiseConv.Block"/>'s or
    /// <see cref="DepthwiseConv3x3.ForwardRows"/>'s, whatever the part).
    /// </summary>
    /// <remarks>Why: a 7x7 map at batch 1 is too short to cut into row bands (each thread would recompute halo rows and
    /// stream all of the 0.3-1.2 MB of 1x1 weights), and as three separate convs it paid up to five fork-joins (the GEMMs
    /// pack a shared B, then multiply) and the packing. Split by channels, each thread streams only its share of both 1x1
    /// weight matrices, and the block pays two fork-joins.</remarks>
    /// <param name="x">Input (N, C, H, W).</param>
    /// <param name="pw">The packed expansion weights (E, C, 1, 1).</param>
    /// <param name="pwBias">The expansion's bias (E), or null.</param>
    /// <param name="pwRelu">Clamp the expansion at zero.</param>
    /// <param name="pwMax">Upper clamp of the expansion, +∞ for none.</param>
    /// <param name="dw">Depthwise weights (E, 1, 3, 3).</param>
    /// <param name="dwBias">Depthwise bias (E), or null.</param>
    /// <param name="dwMin">Lower clamp of the depthwise output (−∞ for none).</param>
    /// <param name="dwMax">Upper clamp of the depthwise output (+∞ for none).</param>
    /// <param name="y">The depthwise output, written (the projection's input): N·E planes of OutH·OutW floats at a pitch of
    /// <see cref="PointwiseConv.AlignedPitch"/> (<see cref="ChannelSplitFloats"/> floats in all), 64-byte aligned for the fastest reads.</param>
    /// <param name="gp">The expansion's geometry (<see cref="Takes"/> must hold with <paramref name="gd"/>).</param>
    /// <param name="gd">The depthwise conv's geometry.</param>
    /// <param name="level">The depthwise kernel's SIMD level.</param>
    /// <param name="threads">Threads to use.</param>
    /// <param name="parts">Units per image in each phase (each a run of MR-row panels of the weights).</param>
    /// <param name="projection">The projection (required); its output may not overlap x, e or y.</param>
    public static void ForwardByChannels(float* x, PackedConvWeights pw, float* pwBias, bool pwRelu, float pwMax, float* dw,
        float* dwBias, float dwMin, float dwMax, float* y, in Conv2dGeometry gp, in Conv2dGeometry gd, IsaLevel level, int threads, int parts,
        in Projection projection)
    {
        ArgumentNullException.ThrowIfNull(pw);
        if (!Takes(gp, gd)) throw new ArgumentException($"ExpandDepthwise: {gp} then {gd} is not a 1x1 conv feeding a depthwise 3x3 conv", nameof(gd));
        if (!pw.Matches(gp, pw.Level)) throw new ArgumentException($"ExpandDepthwise: packed weights do not match {gp}", nameof(pw));
        var gj = projection.Geometry;
        if (projection.Weights is not { } pj || !PointwiseConv.Takes(gj) || gj.C != gd.K || gj.N != gd.N || gj.H != gd.OutH || gj.W != gd.OutW
            || !pj.Matches(gj, pj.Level))
            throw new ArgumentException($"ExpandDepthwise: projection {gj} does not take the depthwise output of {gd}", nameof(projection));
        if (parts < 1) throw new ArgumentOutOfRangeException(nameof(parts), parts, "at least one part per image");
        if (gd.N == 0) return;
        var job = t_channelJob ??= new ChannelJob();
        job.Bind(new Operands(x, pw, pwBias, pwRelu, pwMax, dw, dwBias, dwMin, dwMax, y, gp, gd, level, parts, projection));
        int units = gd.N * parts;
        if (threads <= 1 || units == 1)
        {
            for (int u = 0; u < units; u++) job.Expand(u, 0);
            for (int u = 0; u < units; u++) job.Project(u, 0);
        }
        else
        {
            // The barrier between the phases: every projection output channel reads all E channels of y.
            WorkerPool.Shared.RunDynamic(threads, units, job.ExpandAction);
            WorkerPool.Shared.RunDynamic(threads, units, job.ProjectAction);
        }
        pw.KeepAlive();
        pj.KeepAlive();
    }


    /// <summary>Floats of <see cref="ForwardByChannels"/>'s depthwise output buffer for <paramref name="gd"/>.</summary>
    internal static nint ChannelSplitFloats(in Conv2dGeometry gd) => (nint)gd.N * gd.K * PointwiseConv.AlignedPitch(gd.OutH * gd.OutW);

    /// <summary>One call's operands as <see cref="Forward"/> and <see cref="ForwardByChannels"/> take them (the
    /// expansion, its clamp, the depthwise conv, its clamp, the output and the projection), shared by their jobs.</summary>
    private readonly struct Operands(float* x, PackedConvWeights? pw, float* pwBias, bool pwRelu, float pwMax, float* dw, float* dwBias,
        float dwMin, float dwMax, float* y, Conv2dGeometry gp, Conv2dGeometry gd, IsaLevel level, int parts, Projection projection)
    {
        public readonly float* X = x, PwBias = pwBias, Dw = dw, DwBias = dwBias, Y = y;
        public readonly PackedConvWeights? Pw = pw;
        public readonly bool PwRelu = pwRelu;
        public readonly float PwMax = pwMax, DwMin = dwMin, DwMax = dwMax;
        public readonly Conv2dGeometry Gp = gp, Gd = gd;
        public readonly IsaLevel Level = level;
        public readonly int Parts = parts;
        public readonly Projection Projection = projection;
    }

    [ThreadStatic] private static ChannelJob? t_channelJob;

    /// <summary><see cref="ForwardByChannels"/>'s operands, shared by its units; one per calling thread.</summary>
    private sealed class ChannelJob
    {
        private Operands _o;

        public readonly Action<int, int> ExpandAction, ProjectAction;

        public ChannelJob()
        {
            ExpandAction = Expand;
            ProjectAction = Project;
        }

        public void Bind(in Operands operands) => _o = operands;

        /// <summary>Unit u (image u / parts): its part of the E channels, expanded and then convolved depthwise.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Expand(int u, int thread)
        {
            var gp = _o.Gp;
            var gd = _o.Gd;
            int n = u / _o.Parts;
            var (m0, m1) = PointwiseConv.PanelRows(_o.Pw!.Level, gp.K, u % _o.Parts, _o.Parts);
            if (m0 >= m1) return;
            int inPixels = gd.H * gd.W;
            nint inPitch = PointwiseConv.AlignedPitch(inPixels), outPitch = PointwiseConv.AlignedPitch(gd.OutH * gd.OutW);
            // The image's input planes copied to an aligned pitch (the expansion reads each once per row panel), and the
            // part's expansion planes (addressed from channel 0): both this thread's, in L2.
            float* xs = Buffer(0, gp.C * inPitch);
            PointwiseConv.CopyToPitch(_o.X + (nint)n * gp.C * inPixels, gp.C, inPixels, xs, inPitch);
            int count = m1 - m0;
            // The depthwise conv of channels [m0, m1) as a conv of m1 - m0 channels: each plane is computed on its own.
            var slice = gd with { C = count, K = count, Groups = count };
            float* dwBias = _o.DwBias is null ? null : _o.DwBias + m0, y = _o.Y + ((nint)n * gd.K + m0) * outPitch;
            if (PaddedExpansion && gd.StrideH == 1)
            {
                // Stride 1: each expansion plane written inside the depthwise conv's padded layout, which it reads in place.
                nint pitch = PointwiseConv.AlignedPitch(DepthwiseConv3x3.PaddedFloats(gd.H, gd.W));
                float* planes = PaddedBuffer(count, pitch, gd.H, gd.W);
                float* e = planes - m0 * pitch + DepthwiseConv3x3.PaddedOffset(gd.W);
                PointwiseConv.Block(_o.Pw!, xs, inPitch, e, pitch, null, _o.PwBias, 0, inPixels, m0, m1, _o.PwRelu, _o.PwMax);
                DepthwiseConv3x3.ForwardPadded(planes, pitch, _o.Dw + m0 * 9, dwBias, y, outPitch, slice, _o.DwMin, _o.DwMax, _o.Level);
            }
            else
            {
                float* e = Buffer(1, count * inPitch) - m0 * inPitch;
                PointwiseConv.Block(_o.Pw!, xs, inPitch, e, inPitch, null, _o.PwBias, 0, inPixels, m0, m1, _o.PwRelu, _o.PwMax);
                DepthwiseConv3x3.ForwardRows(e + m0 * inPitch, inPitch, _o.Dw + m0 * 9, dwBias, y, outPitch, slice, 0, gd.OutH, _o.DwMin, _o.DwMax, _o.Level);
            }
        }

        /// <summary>Unit u (image u / parts): its part of the projection's K output channels.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Project(int u, int thread)
        {
            var pj = _o.Projection;
            var gj = pj.Geometry;
            int n = u / _o.Parts;
            var (m0, m1) = PointwiseConv.PanelRows(pj.Weights!.Level, gj.K, u % _o.Parts, _o.Parts);
            int plane = gj.H * gj.W;
            nint pitch = PointwiseConv.AlignedPitch(plane), at = (nint)n * gj.K * plane;
            PointwiseConv.Block(pj.Weights!, _o.Y + (nint)n * gj.C * pitch, pitch, pj.Output + at, plane, pj.Residual is null ? null : pj.Residual + at,
                pj.Bias, 0, plane, m0, m1, pj.Relu, pj.Max);
        }
    }

    /// <summary>
    /// Whether <see cref="ForwardByChannels"/> at stride 1 writes the expansion straight into the depthwise conv's padded
    /// layout (<see cref="DepthwiseConv3x3.ForwardPadded"/>: zero rows around each plane, cleared only when the layout
    /// changes) instead of the depthwise conv copying each plane into it (default true). The same bits. A run-time switch
    /// for A/B benchmarks (<c>onnx-plan-ab --switch padded-dw</c>).
    /// </summary>
    internal static bool PaddedExpansion { get; set; } = true;

    // The layout (pitch, h, w) whose padding this thread's padded buffer holds zeroed, in its first t_paddedPlanes planes.
    [ThreadStatic] private static (nint Pitch, int H, int W) t_padded;
    [ThreadStatic] private static int t_paddedPlanes;

    /// <summary>This thread's buffer of <paramref name="planes"/> planes laid out for
    /// <see cref="DepthwiseConv3x3.ForwardPadded"/> at <paramref name="pitch"/>, their padding zero, shifted so that each
    /// plane's pixel (0, 0) is 64-byte aligned (the expansion's stores). The expansion writes only the pixels, so the
    /// padding is cleared only when the buffer or the layout changes.</summary>
    private static float* PaddedBuffer(int planes, nint pitch, int h, int w)
    {
        var buffers = t_buffers ??= new float[]?[BufferCount];
        var before = buffers[PaddedSlot];
        float* p = Buffer(PaddedSlot, planes * pitch + 16) + (16 - DepthwiseConv3x3.PaddedOffset(w) % 16) % 16;
        if (!ReferenceEquals(before, buffers[PaddedSlot]) || t_padded != (pitch, h, w)) (t_padded, t_paddedPlanes) = ((pitch, h, w), 0);
        if (planes > t_paddedPlanes)
        {
            // A new array, or another layout (whose pixels may lie where this one's padding is): clear the padding.
            DepthwiseConv3x3.ClearPadding(p, planes, pitch, h, w);
            t_paddedPlanes = planes;
        }
        return p;
    }

    // The per-thread buffers: 0 expansion, 1 depthwise output, 2 the expansion's input split by phase, 3 the channel
    // split's padded expansion (PaddedBuffer).
    private const int PaddedSlot = 3, BufferCount = 4;

    [ThreadStatic] private static Job? t_job;
    [ThreadStatic] private static float[]?[]? t_buffers;

    /// <summary>This thread's buffer <paramref name="which"/> (0: expansion, 1: depthwise output, 2: the expansion's input
    /// split by phase at stride 2, 3: <see cref="PaddedBuffer"/>'s) of at least <paramref name="count"/> floats, 64-byte
    /// aligned (pinned).</summary>
    private static float* Buffer(int which, nint count)
    {
        var buffers = t_buffers ??= new float[]?[BufferCount];
        var buf = buffers[which];
        if (buf is null || buf.Length < count + 16) buffers[which] = buf = GC.AllocateUninitializedArray<float>((int)(count + 16), pinned: true);
        float* p = (float*)Unsafe.AsPointer(ref buf[0]);
        nint misalign = (nint)p & 63;
        return misalign == 0 ? p : (float*)((byte*)p + (64 - misalign));
    }

    /// <summary>One call's operands, shared by its units; one per calling thread, rebound by every call.</summary>
    private sealed class Job
    {
        private Operands _o;
        private int _bandRows, _bands;
        private Stem _stem;

        public readonly Action<int, int> RunUnitAction;

        public Job() => RunUnitAction = RunUnit;

        public void Bind(in Operands operands, int bandRows, int bands, in Stem stem) => (_o, _bandRows, _bands, _stem) = (operands, bandRows, bands, stem);

        /// <summary>Unit u: image u / parts, bands [part·bands/parts, (part + 1)·bands/parts).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunUnit(int u, int thread)
        {
            var gp = _o.Gp;
            var gd = _o.Gd;
            var pw = _o.Pw;
            int n = u / _o.Parts, part = u % _o.Parts;
            int bandFrom = (int)((long)_bands * part / _o.Parts), bandTo = (int)((long)_bands * (part + 1) / _o.Parts);
            if (InPlaceRows && (pw is not null || (_stem.Packed != null && gd.StrideH == 1)) && DepthwiseConv3x3.PreparedApplies(gd))
            {
                RunUnitInPlace(n, bandFrom, bandTo);
                return;
            }
            int s = gd.StrideH, w = gd.W, e = gd.C;
            // Expansion rows one band reads, at most: stride 1 band + 2, stride 2 2·band + 1.
            int maxRows = s == 1 ? _bandRows + 2 : 2 * _bandRows + 1;
            nint plane = PointwiseConv.AlignedPitch(maxRows * w);
            // The buffer holds computed input rows of the depthwise conv: the expansion's or the stem's.
            bool produced = pw is not null || _stem.Packed != null;
            float* buffer = produced ? Buffer(0, plane * e) : null;
            nint inPlane = (nint)gd.H * w, outPlane = (nint)gd.OutH * gd.OutW;
            var gs = _stem.Geometry;
            float* x = _o.X + (_stem.Packed != null ? (nint)n * gs.C * gs.H * gs.W : (nint)n * (pw is null ? e : gp.C) * inPlane);
            var pj = _o.Projection;
            // With a projection the depthwise output of a band goes to a second buffer (band rows at pitch OutW per channel).
            nint bandPlane = PointwiseConv.AlignedPitch(_bandRows * gd.OutW);
            float* band0 = pj.Weights is null ? null : Buffer(1, bandPlane * e);
            float* y = pj.Weights is null ? _o.Y + (nint)n * e * outPlane : null;
            int k2 = pj.Geometry.K;
            float* z = pj.Output + (nint)n * k2 * outPlane;
            float* r = pj.Residual is null ? null : pj.Residual + (nint)n * k2 * outPlane;
            int have0 = 0, have1 = 0; // expansion rows [have0, have1) are in the buffer, row have0 at its top
            for (int band = bandFrom; band < bandTo; band++)
            {
                int o0 = band * _bandRows, o1 = Math.Min(o0 + _bandRows, gd.OutH);
                // Without an expansion the depthwise conv reads x's planes in place.
                float* source = x;
                nint sourcePlane = inPlane;
                if (produced)
                {
                    ExpandRows(pw, x, inPlane, buffer, plane, o0, o1, ref have0, ref have1);
                    source = buffer - (nint)have0 * w; // the buffer holds input rows [have0, have1); address them from row 0
                    sourcePlane = plane;
                }
                if (pj.Weights is null)
                {
                    DepthwiseConv3x3.ForwardRows(source, sourcePlane, _o.Dw, _o.DwBias, y, outPlane, gd, o0, o1, _o.DwMin, _o.DwMax, _o.Level);
                    continue;
                }
                // Band rows [o0, o1) of the depthwise output into the second buffer (addressed from output row 0), then the
                // projection of those rows straight into z.
                nint at = (nint)o0 * gd.OutW;
                DepthwiseConv3x3.ForwardRows(source, sourcePlane, _o.Dw, _o.DwBias, band0 - at, bandPlane, gd, o0, o1, _o.DwMin, _o.DwMax, _o.Level);
                PointwiseConv.Block(pj.Weights, band0, bandPlane, z + at, outPlane, r is null ? null : r + at, pj.Bias,
                    0, (o1 - o0) * gd.OutW, 0, k2, pj.Relu, pj.Max);
            }
        }

        /// <summary>
        /// <see cref="RunUnit"/> with the expansion (or stem) rows computed into the depthwise taps' layout
        /// (<see cref="InPlaceRows"/>): channel c's band at <c>buffer + c·plane</c> (<see cref="BandFront"/> floats after the
        /// plane's start), the halo rows a band shares with the previous one moved from that one's layout.
        /// </summary>
        private void RunUnitInPlace(int n, int bandFrom, int bandTo)
        {
            var gp = _o.Gp;
            var gd = _o.Gd;
            var pw = _o.Pw;
            int s = gd.StrideH, w = gd.W, e = gd.C, ow = gd.OutW;
            int maxRows = s == 1 ? _bandRows + 2 : 2 * _bandRows + 1;
            nint plane = PointwiseConv.AlignedPitch(BandFront + maxRows * w + BandSlack);
            float* buffer = Buffer(0, plane * e) + BandFront;
            nint inPlane = (nint)gd.H * w, outPlane = (nint)gd.OutH * ow;
            var gs = _stem.Geometry;
            float* x = _o.X + (_stem.Packed != null ? (nint)n * gs.C * gs.H * gs.W : (nint)n * gp.C * inPlane);
            // Stride 2: the expansion's input rows split by phase the same way, at a pitch off multiples of 4 KB (the GEMM
            // reads a column panel from every input channel).
            nint phasePlane = ((nint)maxRows * w + 15) & ~(nint)15;
            if ((phasePlane & 1023) == 0) phasePlane += 16;
            float* phases = s == 2 ? Buffer(2, phasePlane * gp.C) : null;
            var pj = _o.Projection;
            nint bandPlane = PointwiseConv.AlignedPitch(_bandRows * ow);
            float* band0 = pj.Weights is null ? null : Buffer(1, bandPlane * e);
            float* y = pj.Weights is null ? _o.Y + (nint)n * e * outPlane : null;
            int k2 = pj.Geometry.K;
            float* z = pj.Output + (nint)n * k2 * outPlane;
            float* r = pj.Residual is null ? null : pj.Residual + (nint)n * k2 * outPlane;
            int previousRows = 0; // rows of the previous band of this unit, 0 before the first
            for (int band = bandFrom; band < bandTo; band++)
            {
                int o0 = band * _bandRows, o1 = Math.Min(o0 + _bandRows, gd.OutH);
                if (s == 1) PrepareStride1(pw, x, inPlane, buffer, plane, o0, o1, previousRows);
                else PrepareStride2(pw!, x, inPlane, buffer, plane, phases, phasePlane, o0, o1, previousRows);
                previousRows = o1 - o0;
                if (pj.Weights is null)
                {
                    DepthwiseConv3x3.ForwardPrepared(buffer, plane, _o.Dw, _o.DwBias, y, outPlane, gd, o0, o1, _o.DwMin, _o.DwMax, _o.Level, fullVectors: false);
                    continue;
                }
                // The band's depthwise output (rounded up to whole vectors: the band buffer's planes have room) into the
                // second buffer, then its projection straight into z.
                nint at = (nint)o0 * ow;
                DepthwiseConv3x3.ForwardPrepared(buffer, plane, _o.Dw, _o.DwBias, band0 - at, bandPlane, gd, o0, o1, _o.DwMin, _o.DwMax, _o.Level, fullVectors: true);
                PointwiseConv.Block(pj.Weights, band0, bandPlane, z + at, outPlane, r is null ? null : r + at, pj.Bias,
                    0, (o1 - o0) * ow, 0, k2, pj.Relu, pj.Max);
            }
        }

        /// <summary>
        /// Stride 1: makes channel c's band hold input rows o0 − 1 .. o1 at pitch W (a zero row for the padding above or
        /// below): the two rows the previous band (<paramref name="previousRows"/> rows, 0 for none) shares with this one
        /// moved to the top, the others computed (by the 1x1 conv <paramref name="pw"/>, or by the stem).
        /// </summary>
        private void PrepareStride1(PackedConvWeights? pw, float* x, nint inPlane, float* buffer, nint plane, int o0, int o1, int previousRows)
        {
            var gd = _o.Gd;
            int w = gd.W, e = gd.C, h = gd.H;
            int from = Math.Max(o0 - 1, 0), to = Math.Min(o1 + 1, h);
            if (previousRows > 0)
            {
                // Rows o0 − 1 and o0 were the previous band's last two (slots previousRows and previousRows + 1).
                for (int c = 0; c < e; c++)
                {
                    float* p = buffer + c * plane;
                    new ReadOnlySpan<float>(p + (nint)previousRows * w, 2 * w).CopyTo(new Span<float>(p, 2 * w));
                }
                from = o0 + 1;
            }
            else if (o0 == 0)
            {
                for (int c = 0; c < e; c++) new Span<float>(buffer + c * plane, w).Clear();
            }
            if (o1 + 1 > h)
            {
                // The padding row below the input (o1 = H), slot o1 − o0 + 1.
                for (int c = 0; c < e; c++) new Span<float>(buffer + c * plane + (nint)(o1 - o0 + 1) * w, w).Clear();
            }
            if (from >= to) return;
            float* dst = buffer + (nint)(from - (o0 - 1)) * w;
            if (pw is null)
            {
                var st = _stem;
                StemConv3x3S2.ForwardRows(x, st.Packed, st.Bias, st.Geometry, st.Min, st.Max, st.Level, from, to, dst, plane);
            }
            else
            {
                PointwiseConv.Block(pw, x + (nint)from * w, inPlane, dst, plane, null, _o.PwBias, 0, (to - from) * w, 0, e, _o.PwRelu, _o.PwMax);
            }
        }

        /// <summary>
        /// Stride 2 (even H and W): makes channel c's band hold padded rows 0 .. 2·rows (input rows 2·o0 − 1 ..) in the phase
        /// layout of <see cref="DepthwiseConv3x3.PhaseOffset"/>: padded row 0 moved from the previous band's last
        /// (<paramref name="previousRows"/> rows, 0 for none) or zero above the input, the others expanded from x's rows
        /// split into the same layout in <paramref name="phases"/> (the 1x1 conv maps pixel for pixel).
        /// </summary>
        private void PrepareStride2(PackedConvWeights pw, float* x, nint inPlane, float* buffer, nint plane, float* phases, nint phasePlane,
            int o0, int o1, int previousRows)
        {
            var gd = _o.Gd;
            int w = gd.W, e = gd.C, ow = gd.OutW, rows = o1 - o0, c0 = _o.Gp.C;
            nint evenO = DepthwiseConv3x3.PhaseOffset(0, true, rows, ow);
            int prFrom = 1;
            if (previousRows > 0)
            {
                // The previous band's last padded row (its row 2·previousRows) is this one's row 0; even columns first
                // (their new place never overlaps the old odd columns; the odd ones' can overlap the old even ones).
                nint oldEven = DepthwiseConv3x3.PhaseOffset(2 * previousRows, false, previousRows, ow);
                nint oldOdd = DepthwiseConv3x3.PhaseOffset(2 * previousRows, true, previousRows, ow);
                for (int c = 0; c < e; c++)
                {
                    float* p = buffer + c * plane;
                    new ReadOnlySpan<float>(p + oldEven, ow).CopyTo(new Span<float>(p, ow));
                    new ReadOnlySpan<float>(p + oldOdd, ow).CopyTo(new Span<float>(p + evenO, ow));
                }
            }
            else if (o0 == 0)
            {
                for (int c = 0; c < e; c++)
                {
                    new Span<float>(buffer + c * plane, ow).Clear();
                    new Span<float>(buffer + c * plane + evenO, ow).Clear();
                }
            }
            else
            {
                prFrom = 0;
            }
            // x's rows 2·o0 − 1 + pr, split by phase (as the depthwise conv's own copy would split the expansion's).
            for (int ci = 0; ci < c0; ci++)
            {
                float* src = x + ci * inPlane;
                float* dst = phases + ci * phasePlane;
                for (int pr = prFrom; pr <= 2 * rows; pr++)
                    GroupedConv2d.Deinterleave(src + (nint)(2 * o0 - 1 + pr) * w, w, dst + DepthwiseConv3x3.PhaseOffset(pr, false, rows, ow),
                        dst + DepthwiseConv3x3.PhaseOffset(pr, true, rows, ow));
            }
            nint end = (nint)(2 * rows + 1) * w;
            if (prFrom == 0)
            {
                Expand(pw, phases, phasePlane, buffer, plane, 0, end);
            }
            else
            {
                // Padded row 0 is there already: the even columns of rows 1 .., then everything from the odd columns of row 1.
                Expand(pw, phases, phasePlane, buffer, plane, ow, evenO);
                Expand(pw, phases, phasePlane, buffer, plane, evenO + ow, end);
            }
        }

        /// <summary>Pixels [from, to) of the 1x1 expansion from input planes at pitch <paramref name="ldx"/> to the buffer's.</summary>
        private void Expand(PackedConvWeights pw, float* x, nint ldx, float* buffer, nint plane, nint from, nint to) =>
            PointwiseConv.Block(pw, x + from, ldx, buffer + from, plane, null, _o.PwBias, 0, (int)(to - from), 0, _o.Gd.C, _o.PwRelu, _o.PwMax);

        /// <summary>
        /// Makes the buffer hold the expansion rows output rows [o0, o1) read, the first at its top: halo rows already
        /// there (rows [have0, have1) from the previous band) move up, the others are computed: by the 1x1 conv
        /// <paramref name="pw"/> from x's rows, or with no <paramref name="pw"/> by the stem from x's image.
        /// </summary>
        private void ExpandRows(PackedConvWeights? pw, float* x, nint inPlane, float* buffer, nint plane, int o0, int o1, ref int have0, ref int have1)
        {
            var gd = _o.Gd;
            int s = gd.StrideH, w = gd.W, e = gd.C;
            int r0 = Math.Max(o0 * s - 1, 0), r1 = Math.Min((o1 - 1) * s + 2, gd.H);
            int keep = have1 > r0 && have0 <= r0 ? have1 - r0 : 0;
            if (keep > 0 && r0 > have0)
            {
                // The halo rows this band shares with the previous one move to the top of each channel's plane.
                for (int c = 0; c < e; c++)
                {
                    float* p = buffer + c * plane;
                    new ReadOnlySpan<float>(p + (nint)(r0 - have0) * w, keep * w).CopyTo(new Span<float>(p, keep * w));
                }
            }
            int from = r0 + keep;
            if (from < r1 && pw is null)
            {
                var st = _stem;
                StemConv3x3S2.ForwardRows(x, st.Packed, st.Bias, st.Geometry, st.Min, st.Max, st.Level, from, r1, buffer + (nint)keep * w, plane);
            }
            else if (from < r1)
            {
                PointwiseConv.Block(pw!, x + (nint)from * w, inPlane, buffer + (nint)keep * w, plane, null, _o.PwBias,
                    0, (r1 - from) * w, 0, e, _o.PwRelu, _o.PwMax);
            }
            (have0, have1) = (r0, r1);
        }
    }
}
