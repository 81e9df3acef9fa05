using System.Runtime.CompilerServices;

namespace CnnSharp.Kernels;

/// <summary>
/// Forward 1x1 (pointwise) convolution, stride 1, no padding, one group, as a plain GEMM per image:
/// <c>y[n] (K × P) = W (K × C) · x[n] (C × P)</c> with P = H·W, the weights packed once (<see cref="PackedConvWeights"/>
/// of a 1x1 kernel) and the activations read in place as the B matrix: no im2col, no packing of B.
/// </summary>
/// <remarks>
/// <para>Formula: <c>y[n,k,p] = min(relu?((Σ_c w[k,c]·x[n,c,p] + b[k]) + r[n,k,p]), max)</c>, the same order as
/// <see cref="ConvGemm"/>'s epilogue (bias, then the residual, then the ReLU, then the upper clamp; NaN stays NaN).</para>
/// <para>Loops: for each NC-pixel block, for each KC-channel slice (the weights' slices), for each MC-row block of the
/// packed weights, for each NR-wide column panel of the image (rows c at stride P, read straight from x by the strided
/// micro-kernels (<see cref="Gemm.StridedMicroKernel"/>)), for each MR-tall weight panel: one micro-kernel call writing
/// (first slice) or adding to (later slices) the output tile in place; the epilogue runs on the tile after the last
/// slice, while it is in L1. A last panel narrower than NR is copied zero-padded into a small packed panel and runs
/// the ordinary packed micro-kernel into a scratch tile, as do the rows past K; at V512 a last panel of 1-4 columns
/// instead reads B in place on ymm column accumulators, four A panels at a time (<see cref="Gemm.ThinEdgeV512"/>).</para>
/// <para>Threads: the same units as <see cref="ConvGemm"/> (whole images for a batch of a few images per thread,
/// otherwise pixel ranges times output-channel ranges of each image), claimed through
/// <see cref="WorkerPool.RunDynamic"/>. The KC slicing is fixed by the packed weights, so every output value is
/// summed in the same order whatever the split: results are bit-identical for any thread count.</para>
/// </remarks>
internal static unsafe class PointwiseConv
{
    /// <summary>Whether <paramref name="g"/> is a convolution this kernel computes (1x1, stride 1, no padding, one group).</summary>
    public static bool Takes(in Conv2dGeometry g) =>
        g.KH == 1 && g.KW == 1 && g.StrideH == 1 && g.StrideW == 1 && g.Groups == 1 &&
        g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0 && g.OutH == g.H && g.OutW == g.W;

    /// <summary>Pitch in floats of a plane of <paramref name="pixels"/> copied for <see cref="Block"/>: a multiple of 16
    /// floats (64 bytes), with <see cref="OddLinePitch"/> an odd number of 64-byte lines. Why: the GEMMs read B rows at
    /// this pitch; at a 7x7 map's 49 every other vector load would split a cache line (in place, reading B at pitch 49
    /// measured 1.4x slower than packing it). An even count of lines (a 7x7 map's 64 floats: 4 lines) puts the rows of a
    /// panel in a quarter of L1's 64 sets (every row's column panel at the same offset modulo 4 KB, less a factor), so the
    /// 160-320 rows a KC slice reads evict each other; an odd count (80 floats: 5 lines) spreads them over all 64 sets.</summary>
    internal static nint AlignedPitch(int pixels)
    {
        nint lines = ((nint)pixels + 15) >> 4;
        if (OddLinePitch && (lines & 1) == 0) lines++;
        return lines << 4;
    }

    /// <summary>
    /// Whether <see cref="AlignedPitch"/> rounds up to an odd number of cache lines (default true). MobileNet-v2's 7x7
    /// tail at batch 1, one thread's half of each 1x1 conv with weights from L3: pitch 64 → 80 took the 160 → 960
    /// expansion from 68% to 88% of the FMA peak, the 960 → 160 projection from 62% to 85% (docs/performance.md, stop 19).
    /// A run-time switch for A/B benchmarks (<c>onnx-plan-ab --switch odd-pitch</c>); outputs do not depend on it.
    /// </summary>
    internal static bool OddLinePitch { get; set; } = true;

    /// <summary>Copies <paramref name="channels"/> planes of <paramref name="pixels"/> floats, stored back to back at
    /// <paramref name="src"/>, to <paramref name="dst"/> at <paramref name="pitch"/> floats apart.</summary>
    internal static void CopyToPitch(float* src, int channels, int pixels, float* dst, nint pitch)
    {
        for (int c = 0; c < channels; c++)
            new ReadOnlySpan<float>(src + (nint)c * pixels, pixels).CopyTo(new Span<float>(dst + c * pitch, pixels));
    }

    /// <summary>Rows [m0, m1) of part <paramref name="part"/> of <paramref name="parts"/> of <paramref name="k"/> output
    /// rows, split in whole MR-row panels of weights packed at <paramref name="level"/> (an empty range when there are more
    /// parts than panels).</summary>
    internal static (int M0, int M1) PanelRows(IsaLevel level, int k, int part, int parts)
    {
        _ = Gemm.MicroKernel(level, out int mr, out _);
        int panels = (k + mr - 1) / mr;
        int p0 = (int)((long)panels * part / parts), p1 = (int)((long)panels * (part + 1) / parts);
        return (p0 * mr, Math.Min(p1 * mr, k));
    }

    /// <summary>
    /// Whether reading B in place beats <see cref="ConvGemm"/>'s packing for these weights: only with at most two MR-row
    /// panels of output channels. Packing a 1x1 convolution's B is a plain vector copy, paid once per B block and shared
    /// by every row panel; with more than two panels it costs less than the strided reads save (measured on
    /// MobileNet-v2's and ShuffleNet-v2's 1x1 layers, docs/performance-onnx.md: 32 → 16 channels 0.65x the packing path's
    /// time, the layers with 24 to 1280 output channels 0.91-1.34x, whole models 1.01-1.04x).
    /// </summary>
    public static bool Prefers(PackedConvWeights weights) => weights.RowsPadded <= 2 * weights.MR;

    /// <summary>Forward with the process's thread count (see the class remarks).</summary>
    /// <param name="input">x, shape (N, C, H, W).</param>
    /// <param name="weights">The packed 1x1 weights (K, C, 1, 1); must match <paramref name="g"/>.</param>
    /// <param name="bias">b, shape (K), or empty.</param>
    /// <param name="residual">r, shape (N, K, H, W), or empty for none; may not overlap y.</param>
    /// <param name="output">y, shape (N, K, H, W); fully overwritten; may not overlap x.</param>
    /// <param name="g">The validated geometry (<see cref="Takes"/> must hold).</param>
    /// <param name="relu">Clamp at zero (after the residual).</param>
    /// <param name="max">Upper clamp after the ReLU (ReLU6: 6), +∞ for none.</param>
    public static void Forward(ReadOnlySpan<float> input, PackedConvWeights weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual,
        Span<float> output, in Conv2dGeometry g, bool relu, float max = float.PositiveInfinity) =>
        Forward(input, weights, bias, residual, output, g, relu, max, Parallelism.MaxThreads, ConvGemm.ParallelThresholdMacs);

    /// <summary>As the other overload, with the thread count and the parallel threshold given (tests and benchmarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Forward(ReadOnlySpan<float> input, PackedConvWeights weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual,
        Span<float> output, in Conv2dGeometry g, bool relu, float max, int threads, long parallelThresholdMacs)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (!Takes(g)) throw new ArgumentException($"PointwiseConv: {g} is not a 1x1 stride-1 unpadded single-group convolution", nameof(g));
        if (!weights.Matches(g, weights.Level))
            throw new ArgumentException($"PointwiseConv: packed weights ({weights.K}, {weights.CPerGroup}, {weights.KH}, {weights.KW}) groups {weights.Groups} do not match the geometry {g}", nameof(weights));
        ConvOperands.CheckForward("PointwiseConv", input, bias, residual, output, g);
        if (g.N == 0) return;

        bool parallel = threads > 1 && g.Macs >= parallelThresholdMacs;
        var split = parallel ? ConvGemm.Split(g, weights.Blocking, weights.RowsPadded, threads, Math.Min(ConvGemm.MinUnitMacs, parallelThresholdMacs)) : default;
        // A shared column matrix is what ConvGemm packs for deep layers; here B is never packed, so split the rows only.
        int pixelParts = !parallel ? 1 : split.SharedColumns ? 1 : split.PixelParts, rowParts = !parallel ? 1 : split.RowParts;
        var work = Work.For(g, weights, pixelParts, rowParts, relu, max);
        fixed (float* px = input, pb = bias, pr = residual, py = output)
        {
            work.Bind(px, bias.IsEmpty ? null : pb, residual.IsEmpty ? null : pr, py);
            int units = g.N * pixelParts * rowParts;
            if (!parallel || units == 1)
            {
                for (int u = 0; u < units; u++) work.Run(u);
            }
            else
            {
                WorkerPool.Shared.RunDynamic(threads, units, work.RunUnitBody);
            }
        }
        weights.KeepAlive();
    }

    /// <summary>
    /// One block of one image: output rows (channels) [m0, m1) by pixels [q0, q1) of
    /// <c>y (K × P) = min(relu?(W · x + b + r), max)</c>, where row c of x starts at <c>x + c·ldx</c> and row k of y (and
    /// of r) at <c>y + k·ldy</c>: the whole plane (ld = H·W) for <see cref="Forward(ReadOnlySpan{float}, PackedConvWeights, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, in Conv2dGeometry, bool, float)"/>,
    /// or a band of rows of the plane written to a smaller buffer (<see cref="ExpandDepthwise"/>). m0 must be a multiple
    /// of MR and q0 of NR; the sum order (KC slices of the packed weights, then the epilogue) does not depend on the
    /// block, so any partition of the output gives the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Block(PackedConvWeights weights, float* x, nint ldx, float* y, nint ldy, float* res, float* bias,
        int q0, int q1, int m0, int m1, bool relu, float max)
    {
        if (q0 >= q1 || m0 >= m1) return;
        var blk = weights.Blocking;
        var packed = Gemm.MicroKernel(weights.Level, out int mr, out int nr);
        var strided = Gemm.StridedMicroKernel(weights.Level);
        var fused = Gemm.StridedEpilogueKernel(weights.Level);
        int c = weights.CPerGroup, rowsPadded = weights.RowsPadded;
        // The tile scratch holds up to four A panels' tiles for the thin edges (Gemm.ThinEdgeV512).
        float* edgeB = Scratch.Get(Scratch.Slot.GemmPackB, (nint)blk.KC * nr + 4 * mr * nr);
        float* tile = edgeB + (nint)blk.KC * nr;
        bool thinKernel = nr == 32 && mr == 8 && Gemm.ThinEdges;
        bool epilogue = bias is not null || relu || res is not null || max < float.PositiveInfinity;
        var tileEpilogue = new Gemm.TileEpilogue { Relu = relu, Max = max };
        for (int jc = q0; jc < q1; jc += blk.NC)
        {
            int nc = Math.Min(blk.NC, q1 - jc);
            int edgeCols = nc % nr, fullEnd = jc + nc - edgeCols;
            // A 17-column edge of the 8x32 tile is read in place (its 16-vector and one column lie inside the row), where B
            // rows are an odd number of cache lines apart (AlignedPitch): at an even count the in-place reads thrash L1's
            // sets and measured slower than the packed copy.
            bool inPlaceEdge = edgeCols == 17 && nr == 32 && mr == 8 && (ldx & 31) == 16 && Gemm.StridedEdges && Gemm.NarrowEdges;
            // A last panel of 1-4 columns reads B in place, four A panels at a time (no packing).
            bool thin = thinKernel && edgeCols > 0 && edgeCols <= Gemm.ThinEdgeMaxCols;
            for (int pc = 0; pc < c; pc += blk.KC)
            {
                int kc = Math.Min(blk.KC, c - pc);
                bool first = pc == 0, last = pc + kc == c;
                float* xSlice = x + pc * ldx;
                float* wSlice = weights.Pointer + (nint)pc * rowsPadded;
                if (edgeCols > 0 && !inPlaceEdge && !thin) PackEdge(xSlice, ldx, fullEnd, edgeCols, kc, nr, edgeB);
                for (int ic = m0; ic < m1; ic += blk.MC)
                {
                    int icEnd = Math.Min(ic + blk.MC, m1);
                    for (int jr = jc; jr < jc + nc; jr += nr)
                    {
                        bool full = jr < fullEnd;
                        int cols = full ? nr : edgeCols;
                        if (!full && thin)
                        {
                            ThinEdge(wSlice, kc, xSlice + jr, ldx, tile, y + jr, ldy, res is null ? null : res + jr, bias, ic, icEnd, mr, nr, cols,
                                first, last, relu, max);
                            continue;
                        }
                        for (int ir = ic; ir < icEnd; ir += mr)
                        {
                            int rows = Math.Min(mr, icEnd - ir);
                            float* aPanel = wSlice + (nint)ir * kc;
                            nint at = ir * ldy + jr;
                            float* bRow = bias is null ? null : bias + ir;
                            float* rTile = res is null ? null : res + at;
                            if (full && rows == mr && first && last && epilogue && fused != null)
                            {
                                // One KC slice: the tile is final after its k loop, so the epilogue runs in registers.
                                tileEpilogue.Bias = bRow;
                                tileEpilogue.Residual = rTile;
                                fused(kc, aPanel, xSlice + jr, ldx, y + at, ldy, &tileEpilogue);
                            }
                            else if (full && rows == mr)
                            {
                                strided(kc, aPanel, xSlice + jr, ldx, y + at, ldy, !first);
                                if (last && epilogue) ConvGemm.Epilogue(y + at, ldy, mr, nr, bRow, rTile, relu, max);
                            }
                            else
                            {
                                if (full) strided(kc, aPanel, xSlice + jr, ldx, tile, nr, false);
                                else if (inPlaceEdge) Gemm.StridedEdgeTileV512(kc, aPanel, xSlice + jr, ldx, tile);
                                else if (!(nr == 32 && mr == 8 && Gemm.EdgeTileV512(kc, aPanel, edgeB, tile, cols))) packed(kc, aPanel, edgeB, tile, nr, false);
                                ConvGemm.StoreEdge(tile, nr, y + at, ldy, rows, cols, !first, last ? bRow : null, last ? rTile : null,
                                    last && relu, last ? max : float.PositiveInfinity);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The thin last panel (1-4 columns at <paramref name="b"/>, read in place) of rows [ic, icEnd) for one KC slice:
    /// <see cref="Gemm.ThinEdgeV512"/> on up to four A panels at a time into <paramref name="tile"/>, then each panel's
    /// tile stored as the other edge tiles are (<see cref="ConvGemm.StoreEdge"/>, with the epilogue after the last slice).
    /// </summary>
    private static void ThinEdge(float* wSlice, int kc, float* b, nint ldb, float* tile, float* y, nint ldy, float* res, float* bias,
        int ic, int icEnd, int mr, int nr, int cols, bool first, bool last, bool relu, float max)
    {
        for (int ir = ic; ir < icEnd; ir += 4 * mr)
        {
            int panels = Math.Min(4, (icEnd - ir + mr - 1) / mr);
            Gemm.ThinEdgeV512(kc, wSlice + (nint)ir * kc, b, ldb, tile, panels, cols);
            for (int i = 0; i < panels; i++)
            {
                int r0 = ir + i * mr, rows = Math.Min(mr, icEnd - r0);
                nint at = r0 * ldy;
                ConvGemm.StoreEdge(tile + i * mr * nr, nr, y + at, ldy, rows, cols, !first, last && bias is not null ? bias + r0 : null,
                    last && res is not null ? res + at : null, last && relu, last ? max : float.PositiveInfinity);
            }
        }
    }

    /// <summary>
    /// Copies the last, narrower than NR, column panel of a KC slice (columns [from, from + cols) of kc rows at stride
    /// <paramref name="ld"/>) into a packed kc × NR panel, zero beyond <paramref name="cols"/>.
    /// </summary>
    private static void PackEdge(float* src, nint ld, int from, int cols, int kc, int nr, float* dst)
    {
        for (int r = 0; r < kc; r++)
        {
            float* s = src + r * ld + from;
            float* d = dst + (nint)r * nr;
            int j = 0;
            for (; j < cols; j++) d[j] = s[j];
            for (; j < nr; j++) d[j] = 0f;
        }
    }

    /// <summary>One call's constants and operand addresses (pinned by the caller for the call), shared by its units.</summary>
    /// <remarks>One per thread, reused by every call on it (as ConvGemm's): a call allocates nothing.</remarks>
    private sealed class Work(Conv2dGeometry g, PackedConvWeights weights, int jParts, int mParts, bool relu, float max)
    {
        [ThreadStatic] private static Work? t_cached;
        private Action<int, int>? _runUnit;

        /// <summary>This thread's work object, set up for one call.</summary>
        public static Work For(in Conv2dGeometry g, PackedConvWeights weights, int jParts, int mParts, bool relu, float max)
        {
            if (t_cached is not { } work) return t_cached = new Work(g, weights, jParts, mParts, relu, max);
            work.Reset(g, weights, jParts, mParts, relu, max);
            return work;
        }

        private void Reset(in Conv2dGeometry geometry, PackedConvWeights packed, int pixelParts, int rowParts, bool clampAtZero, float upper)
        {
            (g, weights, jParts, mParts, relu, max) = (geometry, packed, pixelParts, rowParts, clampAtZero, upper);
        }

        /// <summary><see cref="RunUnit"/> as a delegate, made once.</summary>
        public Action<int, int> RunUnitBody => _runUnit ??= RunUnit;

        private float* _x, _bias, _residual, _y;

        public void Bind(float* x, float* bias, float* residual, float* y)
        {
            _x = x;
            _bias = bias;
            _residual = residual;
            _y = y;
        }

        /// <summary>The <see cref="WorkerPool.RunDynamic"/> body.</summary>
        public void RunUnit(int u, int thread) => Run(u);

        /// <summary>Unit u = (image, pixel part, row part), row part fastest.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int u)
        {
            _ = Gemm.MicroKernel(weights.Level, out int mr, out int nr);
            int mPart = u % mParts, jPart = u / mParts % jParts, n = u / (mParts * jParts);
            int p = g.H * g.W, rowsPadded = weights.RowsPadded;
            int panels = (p + nr - 1) / nr, mPanels = rowsPadded / mr;
            int q0 = (int)((long)panels * jPart / jParts) * nr, q1 = Math.Min((int)((long)panels * (jPart + 1) / jParts) * nr, p);
            int m0 = (int)((long)mPanels * mPart / mParts) * mr, m1 = Math.Min((int)((long)mPanels * (mPart + 1) / mParts) * mr, g.K);
            Block(weights, _x + (nint)n * g.C * p, p, _y + (nint)n * g.K * p, p, _residual is null ? null : _residual + (nint)n * g.K * p,
                _bias, q0, q1, m0, m1, relu, max);
        }
    }
}
