using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnSharp.Kernels;

/// <summary>
/// Forward 2-D convolution as an implicit GEMM: <c>y_g (K/G × P) = W_g (K/G × T) · col_g (T × P)</c> per image and
/// group, with the weights pre-packed (<see cref="PackedConvWeights"/>) and the column matrix never materialised: each
/// KC×NC block of it is packed straight from the image into the NR-wide micro-panels the GEMM micro-kernel reads.
/// Bias and an optional ReLU are applied to each register tile after its last tap slice, while it is still in L1.
/// </summary>
/// <remarks>
/// <para>Formula (as <see cref="Conv2dKernels.Forward"/>): <c>y[n,k,oh,ow] = b[k] + Σ_{c,i,j} x[n, g·Cg + c,
/// oh·sH − pT + i·dH, ow·sW − pL + j·dW] · w[k,c,i,j]</c>, zero outside the input; then <c>max(y, 0)</c> with ReLU (NaN
/// stays NaN).</para>
/// <para>Packing: the image is first copied once into a zero-padded buffer when the convolution pads (so no tap needs a
/// bounds test); then column <c>q = oh·OutW + ow</c> of tap <c>t = (c, i, j)</c> sits at
/// <c>pixelOffset[q] + tapOffset[t]</c> with <c>pixelOffset = oh·sH·Wp + ow·sW</c> and
/// <c>tapOffset = c·Hp·Wp + i·dH·Wp + j·dW</c>. A panel of NR output pixels that are consecutive in memory (one output
/// row at stride 1, or any panel of a 1×1 stride-1 convolution) is copied with vector loads; other panels are gathered
/// (AVX2 gathers where available).</para>
/// <para>Loops (Goto/BLIS with A pre-packed): for each NC-pixel block, for each KC-tap slice, pack B (KC×NC, in L2);
/// for each MC-row block of A (in L2), for each NR-wide B micro-panel (in L1), for each MR-tall A micro-panel: one
/// micro-kernel call (<see cref="Gemm.MicroKernel"/>). Edge tiles compute into a scratch tile and store their valid part.</para>
/// <para>Threads: the work is cut into units (<see cref="Split"/>) that the threads claim in order, one at a time, through
/// <see cref="WorkerPool.RunDynamic"/>, so a thread slowed down by other load on the machine, or a worker slow to wake,
/// leaves more units to the others, and the caller never waits for a worker that has not started: whole images for a
/// batch of a few images per thread; otherwise several parts per image (ranges of pixel panels, times ranges of
/// output-channel panels when an image has few pixel panels). Every unit writes a disjoint region of y and computes each
/// output value the same way, so results do not depend on the thread count or on who ran which unit.</para>
/// </remarks>
internal static unsafe class ConvGemm
{
    /// <summary>
    /// Below this many multiply-adds (about 0.1 ms on one core) a convolution stays on the calling thread: waking a
    /// worker that has gone to sleep, and the imbalance of small parts, cost more than the second core gives back.
    /// </summary>
    internal const long ParallelThresholdMacs = 1L << 23;

    /// <summary>
    /// Whether 1x1 stride-1 unpadded single-group convolutions that <see cref="PointwiseConv.Prefers"/> run there (B read
    /// in place) rather than through this class's packing; false only in A/B measurements.
    /// </summary>
    internal static bool UsePointwise { get; set; } = true;

    /// <summary>Register tile and cache blocks of one SIMD level (MC a multiple of MR, NC of NR).</summary>
    internal readonly record struct Blocking(int MR, int NR, int MC, int KC, int NC);

    /// <summary>
    /// V256 (Zen 3/4-class caches: 32 KB L1, 512 KB-1 MB L2): the B micro-panel (KC·NR·4 = 16 KB) stays in L1, the packed
    /// B block (KC·NC·4 = 256 KB) and the A block (MC·KC·4 = 96 KB) in L2.
    /// </summary>
    internal static Blocking BlockingFor(IsaLevel level) => level switch
    {
        IsaLevel.V512 => new Blocking(8, 32, 96, 192, 512),
        IsaLevel.V256 => new Blocking(6, 16, 96, 576, 128),
        _ => new Blocking(4, 4, 64, 128, 256),
    };

    /// <summary>Forward convolution at the level the weights were packed for (see the class remarks).</summary>
    /// <param name="input">x, shape (N, C, H, W).</param>
    /// <param name="weights">The packed weights; must match <paramref name="g"/>.</param>
    /// <param name="bias">b, shape (K), or empty.</param>
    /// <param name="output">y, shape (N, K, OutH, OutW); fully overwritten.</param>
    /// <param name="g">The validated geometry.</param>
    /// <param name="relu">Clamp the result at zero.</param>
    public static void Forward(ReadOnlySpan<float> input, PackedConvWeights weights, ReadOnlySpan<float> bias, Span<float> output,
        in Conv2dGeometry g, bool relu) =>
        Forward(input, weights, bias, default, output, g, relu, Parallelism.MaxThreads, ParallelThresholdMacs);

    /// <summary>
    /// Forward convolution plus a residual: <c>y = relu?((conv(x) + b) + r)</c>, the sum taken in that order (so the
    /// result equals a convolution followed by an element-wise Add and a Relu, bit for bit), applied to each register tile
    /// after its last tap slice instead of in two more passes over y.
    /// </summary>
    /// <param name="input">x, shape (N, C, H, W).</param>
    /// <param name="weights">The packed weights; must match <paramref name="g"/>.</param>
    /// <param name="bias">b, shape (K), or empty.</param>
    /// <param name="residual">r, shape (N, K, OutH, OutW) like y, or empty for none. It may not overlap y.</param>
    /// <param name="output">y, shape (N, K, OutH, OutW); fully overwritten.</param>
    /// <param name="g">The validated geometry.</param>
    /// <param name="relu">Clamp the result at zero (after adding the residual).</param>
    public static void Forward(ReadOnlySpan<float> input, PackedConvWeights weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual,
        Span<float> output, in Conv2dGeometry g, bool relu) =>
        Forward(input, weights, bias, residual, output, g, relu, Parallelism.MaxThreads, ParallelThresholdMacs);

    /// <summary>As the first overload, with the thread count and parallel threshold given (tests and benchmarks).</summary>
    internal static void Forward(ReadOnlySpan<float> input, PackedConvWeights weights, ReadOnlySpan<float> bias, Span<float> output,
        in Conv2dGeometry g, bool relu, int threads, long parallelThresholdMacs) =>
        Forward(input, weights, bias, default, output, g, relu, threads, parallelThresholdMacs);

    /// <summary>
    /// As the residual overload, splitting the work for <paramref name="threads"/> threads when the convolution has at
    /// least <paramref name="parallelThresholdMacs"/> multiply-adds (tests exercise every split this way), and clamping
    /// the result at <paramref name="max"/> after the ReLU (ReLU6 and other Clip(0, max) fused in; NaN stays NaN).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Forward(ReadOnlySpan<float> input, PackedConvWeights weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual,
        Span<float> output, in Conv2dGeometry g, bool relu, int threads, long parallelThresholdMacs, float max = float.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (!weights.Matches(g, weights.Level))
            throw new ArgumentException($"ConvGemm: packed weights ({weights.K}, {weights.CPerGroup}, {weights.KH}, {weights.KW}) groups {weights.Groups} do not match the geometry {g}", nameof(weights));
        if (UsePointwise && PointwiseConv.Takes(g) && PointwiseConv.Prefers(weights))
        {
            // 1x1, stride 1, few output channels: a plain GEMM on the image in place, nothing to pack per call.
            PointwiseConv.Forward(input, weights, bias, residual, output, g, relu, max, threads, parallelThresholdMacs);
            return;
        }
        ConvOperands.CheckForward("ConvGemm", input, bias, residual, output, g);
        if (g.N == 0) return;

        bool parallel = threads > 1 && g.Macs >= parallelThresholdMacs;
        // (A threshold below MinUnitMacs, as tests pass, also allows smaller units.)
        var split = parallel ? Split(g, weights.Blocking, weights.RowsPadded, threads, Math.Min(MinUnitMacs, parallelThresholdMacs)) : new WorkSplit(1, 1, false);
        int units = g.N * split.PixelParts * split.RowParts;
        var work = Work.For(g, weights, weights.Blocking, split.PixelParts, split.RowParts, relu, max);
        fixed (float* px = input, pb = bias, pr = residual, py = output)
        {
            work.Bind(px, bias.IsEmpty ? null : pb, residual.IsEmpty ? null : pr, py);
            if (!parallel || units == 1)
            {
                for (int u = 0; u < units; u++) work.Run(u);
            }
            else if (split.SharedColumns)
            {
                // Few pixels, many output channels: pack each image's column matrix once (in parallel), then split the
                // output channels, so every thread streams only its share of the (large) weights.
                float* padded = work.PaddedLength > 0 ? Scratch.Get(Scratch.Slot.PaddedImage, (nint)work.PaddedLength) : null;
                work.PrepareShared(padded, Scratch.Get(Scratch.Slot.SharedColumns, (nint)(g.N * work.SharedBLength)));
                WorkerPool.Shared.RunDynamic(threads, work.PackUnits, work.PackUnitBody);
                WorkerPool.Shared.RunDynamic(threads, units, work.MultiplyUnitBody);
            }
            else
            {
                // Units are claimed in order by whichever thread is free (the caller included), so a worker that wakes
                // late or is descheduled by other load on the machine just runs fewer of them; every unit writes its own
                // region of y, so who ran which does not change the result.
                WorkerPool.Shared.RunDynamic(threads, units, work.RunUnitBody);
            }
        }
        weights.KeepAlive();
    }

    /// <summary>
    /// How one image is cut into work units: pixel-panel ranges × output-channel (row-panel) ranges; with
    /// <paramref name="SharedColumns"/>, the image's whole column matrix is packed once, shared by all units, and only
    /// the rows are split (PixelParts is 1).
    /// </summary>
    internal readonly record struct WorkSplit(int PixelParts, int RowParts, bool SharedColumns);

    /// <summary>Units per thread aimed at: enough that the last unit to finish leaves the other thread little idle time.</summary>
    internal const int UnitsPerThread = 4;

    /// <summary>Smallest unit worth splitting off (about 50 µs on one core): below it per-unit setup and packing dominate.</summary>
    internal const long MinUnitMacs = 1L << 21;

    /// <summary>Largest shared column matrix (floats, all images of the call).</summary>
    private const long MaxSharedColumns = 1L << 22;

    /// <summary>
    /// The split of each image for <paramref name="threads"/> threads. A batch of at least
    /// <c>threads·UnitsPerThread</c> images runs whole images as units. A smaller batch cuts each image into about
    /// <c>threads·UnitsPerThread / N</c> parts of at least <paramref name="minUnitMacs"/> multiply-adds. When the image has at least as many
    /// output channels as pixels (ResNet's deep layers: the weights outweigh the column matrix), the column matrix is
    /// packed once and the output channels are split, so each part streams its share of the weights once. Otherwise the
    /// parts are ranges of pixel panels (each part packs only its own pixels, and all parts read the same weights, which
    /// stay in cache), times ranges of output channels when there are too few pixel panels.
    /// </summary>
    internal static WorkSplit Split(in Conv2dGeometry g, Blocking blk, int rowsPadded, int threads, long minUnitMacs = MinUnitMacs)
    {
        int target = threads * UnitsPerThread;
        if (g.N >= target || g.N == 0) return new WorkSplit(1, 1, false);
        int parts = (target + g.N - 1) / g.N;
        long perImage = g.Macs / g.N;
        parts = (int)Math.Clamp(perImage / Math.Max(1, minUnitMacs), 1, parts);
        int p = g.OutH * g.OutW;
        int panels = (p + blk.NR - 1) / blk.NR, rowPanels = rowsPadded / blk.MR;
        long taps = (long)g.CPerGroup * g.KH * g.KW;
        if (parts > 1 && g.Groups == 1 && g.KPerGroup >= p && g.N * taps * panels * blk.NR <= MaxSharedColumns)
            return new WorkSplit(1, Math.Min(parts, rowPanels), true);
        int pixelParts = Math.Min(parts, panels);
        int rowParts = Math.Min((parts + pixelParts - 1) / pixelParts, rowPanels);
        return new WorkSplit(pixelParts, rowParts, false);
    }

    /// <summary>One call's constants and operand addresses (pinned by the caller for the call), shared by its work units.</summary>
    /// <remarks>One per thread, reused by every call on it (a call never re-enters ConvGemm on its own thread), with its
    /// unit bodies as delegates made once: a call allocates nothing.</remarks>
    private sealed class Work
    {
        [ThreadStatic] private static Work? t_cached;
        private Conv2dGeometry _g;
        private PackedConvWeights _w = null!;
        private Blocking _blk;
        private int _jParts, _mParts;
        private bool _relu;
        private float _max;

        private Work()
        {
            RunUnitBody = RunUnit;
            PackUnitBody = PackUnit;
            MultiplyUnitBody = MultiplyUnit;
        }

        /// <summary>This thread's work object, set up for one call.</summary>
        public static Work For(in Conv2dGeometry g, PackedConvWeights weights, Blocking blk, int jParts, int mParts, bool relu, float max)
        {
            var work = t_cached ??= new Work();
            work._g = g;
            work._w = weights;
            work._blk = blk;
            (work._jParts, work._mParts) = (jParts, mParts);
            work._relu = relu;
            work._max = max;
            return work;
        }

        /// <summary><see cref="RunUnit"/>, <see cref="PackUnit"/> and <see cref="MultiplyUnit"/> as delegates.</summary>
        public Action<int, int> RunUnitBody { get; }

        /// <inheritdoc cref="RunUnitBody"/>
        public Action<int, int> PackUnitBody { get; }

        /// <inheritdoc cref="RunUnitBody"/>
        public Action<int, int> MultiplyUnitBody { get; }
        private float* _x, _bias, _residual, _y;
        // Shared-B mode: every image zero-padded (or the input itself) and its whole column matrix packed once.
        private float* _images, _sharedB;
        private int _rowStride, _plane, _panelsPadded;

        public void Bind(float* x, float* bias, float* residual, float* y)
        {
            _x = x;
            _bias = bias;
            _residual = residual;
            _y = y;
        }

        /// <summary>The <see cref="WorkerPool.RunDynamic"/> body: unit <paramref name="u"/> on any thread.</summary>
        public void RunUnit(int u, int thread) => Run(u);

        /// <summary>The padded extent of one image plane (what the windows read).</summary>
        private (int Hp, int Wp, bool Needed) PaddedSize()
        {
            var g = _g;
            int hp = (g.OutH - 1) * g.StrideH + (g.KH - 1) * g.DilationH + 1;
            int wp = (g.OutW - 1) * g.StrideW + (g.KW - 1) * g.DilationW + 1;
            return (hp, wp, g.PadTop > 0 || g.PadLeft > 0 || hp > g.H || wp > g.W);
        }

        /// <summary>Fills tapOff[0..taps) for images of the given row stride and plane size.</summary>
        private void TapOffsets(int* tapOff, int rowStride, int plane)
        {
            var g = _g;
            for (int c = 0, t = 0; c < g.CPerGroup; c++)
                for (int i = 0; i < g.KH; i++)
                    for (int j = 0; j < g.KW; j++, t++)
                        tapOff[t] = c * plane + i * g.DilationH * rowStride + j * g.DilationW;
        }

        /// <summary>pixOff[0..nc) of output pixels jc.. (row-major over the output) in an image of the given row stride.</summary>
        private void PixelOffsets(int* pixOff, int jc, int nc, int rowStride)
        {
            var g = _g;
            int oh = jc / g.OutW, ow = jc % g.OutW;
            for (int q = 0; q < nc; q++)
            {
                pixOff[q] = oh * g.StrideH * rowStride + ow * g.StrideW;
                if (++ow == g.OutW)
                {
                    ow = 0;
                    oh++;
                }
            }
        }

        /// <summary>Unit u = (image, pixel part, row part), row part fastest.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int u)
        {
            float* x = _x, bias = _bias, residual = _residual, y = _y;
            var g = _g;
            var blk = _blk;
            int mPart = u % _mParts, jPart = u / _mParts % _jParts, n = u / (_mParts * _jParts);
            int p = g.OutH * g.OutW, panels = (p + blk.NR - 1) / blk.NR, mPanels = _w.RowsPadded / blk.MR;
            int q0 = (int)((long)panels * jPart / _jParts) * blk.NR, q1 = Math.Min((int)((long)panels * (jPart + 1) / _jParts) * blk.NR, p);
            int m0 = (int)((long)mPanels * mPart / _mParts) * blk.MR, m1 = (int)((long)mPanels * (mPart + 1) / _mParts) * blk.MR;
            int kg = g.KPerGroup, cg = g.CPerGroup, taps = _w.Taps;
            m1 = Math.Min(m1, kg);
            if (q0 >= q1 || m0 >= m1) return;

            // The image, zero-padded when the window reaches outside it, so packing never tests bounds.
            var (hp, wp, needed) = PaddedSize();
            float* image = x + (nint)n * g.C * g.H * g.W;
            int rowStride = g.W, plane = g.H * g.W;
            if (needed)
            {
                float* padded = Scratch.Get(Scratch.Slot.PaddedImage, (nint)g.C * hp * wp);
                // Only the padded rows this part's output rows read (a pixel part of one image needs a band of rows;
                // the rest of the buffer is never read into a kept lane).
                int rowFrom = q0 / g.OutW * g.StrideH, rowTo = Math.Min(hp, (q1 - 1) / g.OutW * g.StrideH + (g.KH - 1) * g.DilationH + 1);
                Pad(image, padded, g.C, g.H, g.W, hp, wp, g.PadTop, g.PadLeft, rowFrom, rowTo);
                image = padded;
                rowStride = wp;
                plane = hp * wp;
            }

            // Offsets: taps first, then the pixels of one NC block.
            int* tapOff = (int*)Scratch.Get(Scratch.Slot.Offsets, taps + blk.NC);
            int* pixOff = tapOff + taps;
            TapOffsets(tapOff, rowStride, plane);

            float* packB = Scratch.Get(Scratch.Slot.GemmPackB, (nint)Math.Min(blk.KC, taps) * blk.NC);
            int rowsPadded = _w.RowsPadded;
            for (int gi = 0; gi < g.Groups; gi++)
            {
                float* src = image + (nint)gi * cg * plane;
                long srcLength = (long)(g.C - gi * cg) * plane; // readable floats from src (stride-2 loads check it)
                float* wG = _w.Pointer + (nint)gi * rowsPadded * taps;
                nint yOff = ((nint)n * g.K + gi * kg) * p;
                float* bG = bias is null ? null : bias + gi * kg;
                for (int jc = q0; jc < q1; jc += blk.NC)
                {
                    int nc = Math.Min(blk.NC, q1 - jc);
                    PixelOffsets(pixOff, jc, nc, rowStride);
                    for (int pc = 0; pc < taps; pc += blk.KC)
                    {
                        int kc = Math.Min(blk.KC, taps - pc);
                        PackB(src, srcLength, pixOff, tapOff + pc, kc, nc, _blk.NR, packB);
                        Multiply(wG + (nint)pc * rowsPadded, packB, kc, pc == 0, pc + kc == taps, m0, m1, jc, nc,
                            y + yOff, residual is null ? null : residual + yOff, bG);
                    }
                }
            }
        }

        /// <summary>
        /// One KC slice of the product for rows [m0, m1) and pixels [jc, jc + nc): A is the slice of packed weights, B the
        /// packed panels of those pixels (panel j at <c>bBlock + j·NR·kc</c>); the epilogue runs after the last slice.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Multiply(float* wSlice, float* bBlock, int kc, bool first, bool last, int m0, int m1, int jc, int nc,
            float* yG, float* rG, float* bG)
        {
            var kernel = Gemm.MicroKernel(_w.Level, out int mr, out int nr);
            float* tile = stackalloc float[mr * nr];
            int p = _g.OutH * _g.OutW;
            bool epilogue = bG is not null || _relu || rG is not null || _max < float.PositiveInfinity;
            for (int ic = m0; ic < m1; ic += _blk.MC)
            {
                int icEnd = Math.Min(ic + _blk.MC, m1);
                for (int jr = 0; jr < nc; jr += nr)
                {
                    int cols = Math.Min(nr, nc - jr);
                    float* bPanel = bBlock + (nint)jr * kc;
                    for (int ir = ic; ir < icEnd; ir += mr)
                    {
                        int rows = Math.Min(mr, icEnd - ir);
                        float* aPanel = wSlice + (nint)ir * kc;
                        nint at = (nint)ir * p + jc + jr;
                        float* cTile = yG + at;
                        float* bRow = bG is null ? null : bG + ir;
                        float* rTile = rG is null ? null : rG + at;
                        if (rows == mr && cols == nr)
                        {
                            kernel(kc, aPanel, bPanel, cTile, p, !first);
                            if (last && epilogue) Epilogue(cTile, p, mr, nr, bRow, rTile, _relu, _max);
                        }
                        else
                        {
                            // A last panel of at most 8 pixels needs only half of the 16-wide tile.
                            if (cols <= 8 && nr == 16 && mr == 6) Kernel6x8V256(kc, aPanel, bPanel, tile);
                            else if (!(nr == 32 && mr == 8 && Gemm.EdgeTileV512(kc, aPanel, bPanel, tile, cols))) kernel(kc, aPanel, bPanel, tile, nr, false);
                            StoreEdge(tile, nr, cTile, p, rows, cols, !first, last ? bRow : null, last ? rTile : null, last && _relu, last ? _max : float.PositiveInfinity);
                        }
                    }
                }
            }
        }

        /// <summary>Floats of the shared packed column matrix of one image: every tap × every pixel panel.</summary>
        public long SharedBLength => (long)_w.Taps * PanelsPadded;

        private int PanelsPadded => (_g.OutH * _g.OutW + _blk.NR - 1) / _blk.NR * _blk.NR;

        /// <summary>Floats of the padded copies of all images (0 when the convolution does not pad).</summary>
        public long PaddedLength
        {
            get
            {
                var (hp, wp, needed) = PaddedSize();
                return needed ? (long)_g.N * _g.C * hp * wp : 0;
            }
        }

        /// <summary>
        /// Shared-B mode, step 1 (on the caller): pads every image into <paramref name="padded"/> (when the convolution
        /// pads) and fixes where the packing units read and write.
        /// </summary>
        public void PrepareShared(float* padded, float* sharedB)
        {
            var g = _g;
            var (hp, wp, needed) = PaddedSize();
            _sharedB = sharedB;
            _panelsPadded = PanelsPadded;
            if (!needed)
            {
                _images = _x;
                _rowStride = g.W;
                _plane = g.H * g.W;
                return;
            }
            for (int n = 0; n < g.N; n++)
                Pad(_x + (nint)n * g.C * g.H * g.W, padded + (nint)n * g.C * hp * wp, g.C, g.H, g.W, hp, wp, g.PadTop, g.PadLeft, 0, hp);
            _images = padded;
            _rowStride = wp;
            _plane = hp * wp;
        }

        /// <summary>Shared-B mode: the number of packing units (image × KC slice × NC block).</summary>
        public int PackUnits => _g.N * ((_w.Taps + _blk.KC - 1) / _blk.KC) * ((_g.OutH * _g.OutW + _blk.NC - 1) / _blk.NC);

        /// <summary>
        /// Shared-B mode, step 2: packing unit u = (image, KC slice, NC block) into the image's column matrix, laid out as
        /// the KC slices one after another, each <c>kc × PanelsPadded</c> with pixel panel j at <c>j·NR·kc</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackUnit(int u, int thread)
        {
            var g = _g;
            int taps = _w.Taps, p = g.OutH * g.OutW;
            int slices = (taps + _blk.KC - 1) / _blk.KC, blocks = (p + _blk.NC - 1) / _blk.NC;
            int block = u % blocks, slice = u / blocks % slices, n = u / (blocks * slices);
            int pc = slice * _blk.KC, kc = Math.Min(_blk.KC, taps - pc), jc = block * _blk.NC, nc = Math.Min(_blk.NC, p - jc);
            int* tapOff = (int*)Scratch.Get(Scratch.Slot.Offsets, taps + _blk.NC);
            int* pixOff = tapOff + taps;
            TapOffsets(tapOff, _rowStride, _plane);
            PixelOffsets(pixOff, jc, nc, _rowStride);
            float* src = _images + (nint)n * g.C * _plane;
            PackB(src, (long)g.C * _plane, pixOff, tapOff + pc, kc, nc, _blk.NR, _sharedB + (nint)n * taps * _panelsPadded + (nint)pc * _panelsPadded + (nint)jc * kc);
        }

        /// <summary>Shared-B mode, step 3: unit u = (image, row part), row part fastest; every pixel of the image.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void MultiplyUnit(int u, int thread)
        {
            var g = _g;
            int mPart = u % _mParts, n = u / _mParts;
            int p = g.OutH * g.OutW, taps = _w.Taps, mPanels = _w.RowsPadded / _blk.MR;
            int m0 = (int)((long)mPanels * mPart / _mParts) * _blk.MR;
            int m1 = Math.Min((int)((long)mPanels * (mPart + 1) / _mParts) * _blk.MR, g.KPerGroup);
            if (m0 >= m1) return;
            nint yOff = (nint)n * g.K * p;
            float* b = _sharedB + (nint)n * taps * _panelsPadded;
            for (int pc = 0; pc < taps; pc += _blk.KC)
            {
                int kc = Math.Min(_blk.KC, taps - pc);
                float* bSlice = b + (nint)pc * _panelsPadded;
                // NC-wide column blocks as in Run, so the B block in use stays in L2 while the A block is swept.
                for (int jc = 0; jc < p; jc += _blk.NC)
                    Multiply(_w.Pointer + (nint)pc * _w.RowsPadded, bSlice + (nint)jc * kc, kc, pc == 0, pc + kc == taps, m0, m1,
                        jc, Math.Min(_blk.NC, p - jc), _y + yOff, _residual is null ? null : _residual + yOff, _bias);
            }
        }
    }

    /// <summary>
    /// Copies padded rows [rowFrom, rowTo) of C planes of H×W into Hp×Wp planes shifted by (top, left), zero elsewhere
    /// (rows/columns of the input beyond the padded extent are never read by the convolution and are dropped).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pad(float* src, float* dst, int c, int h, int w, int hp, int wp, int top, int left, int rowFrom, int rowTo)
    {
        int copy = Math.Clamp(wp - left, 0, w);
        for (int ch = 0; ch < c; ch++)
        {
            float* s = src + (nint)ch * h * w;
            float* d = dst + (nint)ch * hp * wp + (nint)rowFrom * wp;
            for (int r = rowFrom; r < rowTo; r++, d += wp)
            {
                int ih = r - top;
                if ((uint)ih >= (uint)h)
                {
                    new Span<float>(d, wp).Clear();
                    continue;
                }
                int lead = Math.Min(left, wp);
                new Span<float>(d, lead).Clear();
                new ReadOnlySpan<float>(s + (nint)ih * w, copy).CopyTo(new Span<float>(d + lead, copy));
                new Span<float>(d + lead + copy, wp - lead - copy).Clear();
            }
        }
    }

    /// <summary>
    /// Packs taps <c>tapOff[0..kc)</c> × pixels <c>pixOff[0..nc)</c> of the (padded) group image into NR-wide micro-panels:
    /// <c>dst[(q/NR)·NR·kc + p·NR + q%NR] = src[pixOff[q] + tapOff[p]]</c>, lanes past nc zero. Tap offsets increase
    /// with the tap index; <paramref name="srcLength"/> floats are readable from <paramref name="src"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(float* src, long srcLength, int* pixOff, int* tapOff, int kc, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            int* o = pixOff + jr;
            float* panel = dst + (nint)jr * kc;
            if (cols == nr && nr % 8 == 0 && Avx2.IsSupported && o[nr - 1] - o[0] == 2 * (nr - 1)
                && o[0] + (long)tapOff[kc - 1] + 2 * nr <= srcLength)
            {
                // Stride 2 inside one output row: each 8 lanes are the even elements of 16 consecutive values (the
                // last, odd one is read but unused, hence the length check): shuffle evens of both halves, then put
                // the 64-bit pairs in order.
                float* b = src + o[0];
                for (int t = 0; t < kc; t++)
                {
                    float* s = b + tapOff[t];
                    float* d = panel + t * nr;
                    for (int j = 0; j < nr; j += 8, s += 16)
                    {
                        var even = Avx.Shuffle(Avx.LoadVector256(s), Avx.LoadVector256(s + 8), 0x88);
                        Avx.Store(d + j, Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle());
                    }
                }
            }
            else if (cols == nr && nr % 8 == 0 && Vector256.IsHardwareAccelerated && o[nr - 1] - o[0] == nr - 1)
            {
                // NR consecutive input values per tap: plain vector copies.
                float* b = src + o[0];
                for (int t = 0; t < kc; t++)
                {
                    float* s = b + tapOff[t];
                    float* d = panel + t * nr;
                    for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
                }
            }
            else if (cols == nr && nr == 16 && Avx.IsSupported && RowSegments(o, out var segments) is int count and <= MaxSegments)
            {
                // A stride-1 panel that wraps over 2-4 output rows: per tap, load 16 values at each segment's source (so
                // lane j reads base_k + j, exact for the segment's lanes) and blend the segments together. Every read
                // stays between the panel's first and last source element (see RowSegments).
                for (int t = 0; t < kc; t++)
                {
                    float* s = src + tapOff[t];
                    float* d = panel + t * 16;
                    Vector256<float> v0 = Avx.LoadVector256(s + segments.Base0), v1 = Avx.LoadVector256(s + segments.Base0 + 8);
                    v0 = Avx.BlendVariable(v0, Avx.LoadVector256(s + segments.Base1), segments.Mask1Low);
                    v1 = Avx.BlendVariable(v1, Avx.LoadVector256(s + segments.Base1 + 8), segments.Mask1High);
                    if (count > 2)
                    {
                        v0 = Avx.BlendVariable(v0, Avx.LoadVector256(s + segments.Base2), segments.Mask2Low);
                        v1 = Avx.BlendVariable(v1, Avx.LoadVector256(s + segments.Base2 + 8), segments.Mask2High);
                        // A fourth run never reaches the low lanes: runs 1 and 2 are whole rows, so lanes 0-7 holding
                        // three runs would need rows of at most 3 pixels, and then 16 lanes take more than four runs.
                        if (count > 3) v1 = Avx.BlendVariable(v1, Avx.LoadVector256(s + segments.Base3 + 8), segments.Mask3High);
                    }
                    Avx.Store(d, v0);
                    Avx.Store(d + 8, v1);
                }
            }
            else if (cols == nr && nr == 16 && Avx2.IsSupported)
            {
                // Strided or row-crossing panel: two 8-lane gathers per tap.
                Vector256<int> i0 = Vector256.Load(o), i1 = Vector256.Load(o + 8);
                for (int t = 0; t < kc; t++)
                {
                    float* s = src + tapOff[t];
                    float* d = panel + t * 16;
                    Avx.Store(d, Avx2.GatherVector256(s, i0, 4));
                    Avx.Store(d + 8, Avx2.GatherVector256(s, i1, 4));
                }
            }
            else if (cols == nr && nr % 8 == 0 && Avx2.IsSupported)
            {
                for (int t = 0; t < kc; t++)
                {
                    float* s = src + tapOff[t];
                    float* d = panel + t * nr;
                    for (int j = 0; j < nr; j += 8) Avx.Store(d + j, Avx2.GatherVector256(s, Vector256.Load(o + j), 4));
                }
            }
            else
            {
                for (int t = 0; t < kc; t++)
                {
                    float* s = src + tapOff[t];
                    float* d = panel + t * nr;
                    int j = 0;
                    for (; j < cols; j++) d[j] = s[o[j]];
                    for (; j < nr; j++) d[j] = 0f;
                }
            }
        }
    }

    /// <summary>
    /// The left half of the 6x16 tile: <c>tile[r*16 + j] = Σ_p a[p*6 + r]·b[p*16 + j]</c> for j &lt; 8, reading the 16-wide
    /// packed B panel. Even and odd k-steps go to separate accumulators (12 chains, as the full kernel has), summed at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x8V256(int kc, float* a, float* b, float* tile)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector256<float> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default;
        int p = 0;
        for (; p + 1 < kc; p += 2, a += 12, b += 32)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 16);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[1]), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[2]), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[3]), b0, c3);
            c4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[4]), b0, c4);
            c5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[5]), b0, c5);
            d0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[6]), b1, d0);
            d1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[7]), b1, d1);
            d2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[8]), b1, d2);
            d3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[9]), b1, d3);
            d4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[10]), b1, d4);
            d5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[11]), b1, d5);
        }
        if (p < kc)
        {
            Vector256<float> b0 = Vector256.Load(b);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[1]), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[2]), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[3]), b0, c3);
            c4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[4]), b0, c4);
            c5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[5]), b0, c5);
        }
        (c0 + d0).Store(tile);
        (c1 + d1).Store(tile + 16);
        (c2 + d2).Store(tile + 32);
        (c3 + d3).Store(tile + 48);
        (c4 + d4).Store(tile + 64);
        (c5 + d5).Store(tile + 80);
    }

    private const int MaxSegments = 4;

    /// <summary>
    /// Up to four runs of consecutive source offsets in a 16-lane panel: run k starts at lane l_k, and lane j of it reads
    /// <c>Base_k + j</c> (<c>Base_k = o[l_k] − l_k</c>); masks select the lanes of runs 1-3 (run 0 fills the rest first;
    /// run 3 only ever covers high lanes).
    /// </summary>
    private struct Segments
    {
        public int Base0, Base1, Base2, Base3;
        public Vector256<float> Mask1Low, Mask1High, Mask2Low, Mask2High, Mask3High;
    }

    /// <summary>
    /// Splits the 16 offsets <paramref name="o"/> (strictly increasing) into runs of consecutive values; returns the number
    /// of runs (only the first <see cref="MaxSegments"/> are described; more returns MaxSegments + 1). Offsets start at
    /// o[0] ≥ 0 and grow by at least 1 per lane, so <c>o[l] ≥ l</c> and <c>o[15] ≥ o[l] + 15 − l</c>: every run's base
    /// <c>Base_k = o[l_k] − l_k</c> is ≥ 0 and <c>Base_k + 15 ≤ o[15]</c>, so its 16-value load stays in [0, o[15]].
    /// </summary>
    private static int RowSegments(int* o, out Segments seg)
    {
        seg = default;
        int count = 0;
        int* lanes = stackalloc int[16];
        for (int l = 0; l < 16; l++)
        {
            if (l == 0 || o[l] != o[l - 1] + 1)
            {
                if (count == MaxSegments) return count + 1;
                int b = o[l] - l;
                switch (count)
                {
                    case 0: seg.Base0 = b; break;
                    case 1: seg.Base1 = b; break;
                    case 2: seg.Base2 = b; break;
                    default: seg.Base3 = b; break;
                }
                count++;
            }
            lanes[l] = count - 1;
        }
        seg.Mask1Low = Mask(lanes, 1, 0);
        seg.Mask1High = Mask(lanes, 1, 8);
        seg.Mask2Low = Mask(lanes, 2, 0);
        seg.Mask2High = Mask(lanes, 2, 8);
        seg.Mask3High = Mask(lanes, 3, 8);
        return count;
    }

    /// <summary>The blend mask of lanes [from, from+8) that belong to run <paramref name="k"/>.</summary>
    private static Vector256<float> Mask(int* lanes, int k, int from) => Vector256.Create(
        Sel(lanes[from] == k), Sel(lanes[from + 1] == k), Sel(lanes[from + 2] == k), Sel(lanes[from + 3] == k),
        Sel(lanes[from + 4] == k), Sel(lanes[from + 5] == k), Sel(lanes[from + 6] == k), Sel(lanes[from + 7] == k));

    /// <summary>A blend mask lane: all bits set (take the new value) or zero.</summary>
    private static float Sel(bool take) => take ? BitConverter.Int32BitsToSingle(-1) : 0f;

    /// <summary>
    /// <c>c[r, j] = min(relu?((c[r, j] + bias[r]) + res[r, j]), max)</c> over a full tile (no bias: + 0; no residual: none;
    /// NaN stays NaN). The residual tile has C's layout (same leading dimension).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Epilogue(float* c, nint ldc, int rows, int cols, float* bias, float* res, bool relu, float max)
    {
        bool clamp = max < float.PositiveInfinity;
        var mv = Vector256.Create(max);
        for (int r = 0; r < rows; r++)
        {
            float* row = c + r * ldc;
            float* rr = res is null ? null : res + r * ldc;
            float b = bias is null ? 0f : bias[r];
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                // The 32-wide AVX-512 tile in two full vectors (the same lane-wise operations as below).
                var bv = Vector512.Create(b);
                var mv512 = Vector512.Create(max);
                for (; j <= cols - 16; j += 16)
                {
                    var v = Vector512.Load(row + j) + bv;
                    if (rr is not null) v += Vector512.Load(rr + j);
                    if (relu) v = Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<float>.Zero), Vector512<float>.Zero, v);
                    if (clamp) v = Vector512.ConditionalSelect(Vector512.GreaterThan(v, mv512), mv512, v);
                    v.Store(row + j);
                }
            }
            if (Vector256.IsHardwareAccelerated)
            {
                var bv = Vector256.Create(b);
                for (; j <= cols - 8; j += 8)
                {
                    var v = Vector256.Load(row + j) + bv;
                    if (rr is not null) v += Vector256.Load(rr + j);
                    if (relu) v = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), Vector256<float>.Zero, v);
                    if (clamp) v = Vector256.ConditionalSelect(Vector256.GreaterThan(v, mv), mv, v);
                    v.Store(row + j);
                }
            }
            for (; j < cols; j++)
            {
                float v = row[j] + b;
                if (rr is not null) v += rr[j];
                if (relu && v < 0f) v = 0f;
                row[j] = v > max ? max : v;
            }
        }
    }

    /// <summary>
    /// Writes the valid rows × cols corner of a computed tile: add to C or overwrite, then bias, the residual and ReLU when
    /// given (in <see cref="Epilogue"/>'s order).
    /// </summary>
    /// <remarks>Vectorised per <see cref="EdgeStore.Mode"/> (the same lane-wise operations as the scalar loop, so the same
    /// bits): the 7x7 maps' 17-column edge tiles spent as long in the scalar loop as in their multiply-adds.</remarks>
    internal static void StoreEdge(float* tile, int ldt, float* c, nint ldc, int rows, int cols, bool accumulate, float* bias, float* res, bool relu, float max)
    {
        var mode = EdgeStore.Mode;
        if (mode == EdgeStoreMode.Masked512)
        {
            EdgeStore.Masked512(tile, ldt, c, ldc, rows, cols, accumulate, bias, res, relu, max);
            return;
        }
        bool clamp = max < float.PositiveInfinity;
        for (int r = 0; r < rows; r++)
        {
            float* dst = c + r * ldc;
            float* src = tile + r * ldt;
            float* rr = res is null ? null : res + r * ldc;
            float b = bias is null ? 0f : bias[r];
            int j = 0;
            if (mode == EdgeStoreMode.Vector256)
            {
                var bv = Vector256.Create(b);
                var mv = Vector256.Create(max);
                for (; j <= cols - 8; j += 8)
                {
                    var v = (accumulate ? Vector256.Load(dst + j) + Vector256.Load(src + j) : Vector256.Load(src + j)) + bv;
                    if (rr is not null) v += Vector256.Load(rr + j);
                    if (relu) v = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), Vector256<float>.Zero, v);
                    if (clamp) v = Vector256.ConditionalSelect(Vector256.GreaterThan(v, mv), mv, v);
                    v.Store(dst + j);
                }
                if (j < cols)
                {
                    // The last 1-7 columns under a lane mask (masked-off lanes are neither read nor written).
                    var m = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(cols - j)).AsSingle();
                    var v = (accumulate ? Avx.MaskLoad(dst + j, m) + Avx.MaskLoad(src + j, m) : Avx.MaskLoad(src + j, m)) + bv;
                    if (rr is not null) v += Avx.MaskLoad(rr + j, m);
                    if (relu) v = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), Vector256<float>.Zero, v);
                    if (clamp) v = Vector256.ConditionalSelect(Vector256.GreaterThan(v, mv), mv, v);
                    Avx.MaskStore(dst + j, m, v);
                    j = cols;
                }
            }
            for (; j < cols; j++)
            {
                float v = (accumulate ? dst[j] + src[j] : src[j]) + b;
                if (rr is not null) v += rr[j];
                if (relu && v < 0f) v = 0f;
                dst[j] = v > max ? max : v;
            }
        }
    }
}
