using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Kernels;

/// <summary>
/// Direct convolution, forward and backward, for depthwise and narrow grouped convolutions (few input channels per group,
/// e.g. MobileNet's and ShuffleNet's 3x3/5x5 depthwise layers, with any channel multiplier) on NCHW, vectorised across
/// output pixels, with bias, an optional residual and a clamp applied as the forward results are stored.
/// </summary>
/// <remarks>
/// <para>Formula (as <see cref="Conv2dKernels.Forward"/>), then the epilogue:
/// <c>y[n,k,oh,ow] = min(max((Σ_{c,i,j} x[n, g·Cg + c, oh·sH − pT + i·dH, ow·sW − pL + j·dW]·w[k,c,i,j] + b[k]) + r[n,k,oh,ow], lo), hi)</c>,
/// zero outside the input, with r the optional residual and [lo, hi] the clamp (±∞: none; NaN stays NaN). Any stride,
/// dilation and padding.</para>
/// <para>Why not the GEMM: a depthwise group is a 1 × (KH·KW) by (KH·KW) × P product, a single row, so the GEMM's
/// register tile (8 or 6 rows) is almost all waste, and every group pays the packing of a column matrix it uses once.
/// Depthwise convolution is memory-bound (KH·KW multiply-adds per value read), so the layout choice is about traffic:
/// the kernel stays on NCHW planes (no layout conversion pass over the tensor, which would cost as much as the
/// convolution) and vectorises along the flattened pixels of one channel, each input value read from memory once per
/// output channel of its group and each output written once.</para>
/// <para>Method: each input channel of a group is copied once into a zero-padded buffer split into stride phases:
/// phase (a, b) holds the padded pixels (sH·r + a, sW·c + b) as a plane of Hh × Wh with Hh = ⌈Hn/sH⌉, Wh = ⌈Wn/sW⌉
/// (Hn × Wn: the padded extent the windows read). Tap (i, j) of output (oh, ow) then reads phase
/// ((i·dH) mod sH, (j·dW) mod sW) at row oh + ⌊i·dH/sH⌋, column ow + ⌊j·dW/sW⌋; over the output pixels flattened as
/// q = oh·Wh + ow, every tap is one contiguous run at a fixed offset, so the inner loop is
/// <c>acc[q..q+4V) += w_t · buf[off_t + q ..]</c> with vector loads only, at any stride and for planes narrower than a
/// vector (7×7 stages fill whole vectors). Columns ow ≥ OutW of the flattened product are computed and discarded when
/// the results are copied out with the epilogue. Stride-2 columns are deinterleaved with AVX-512/AVX2 permutes. The
/// output is processed in strips of rows (<see cref="DefaultStripFloats"/>), the buffer holding only the padded rows a
/// strip reads, so copy, taps and epilogue work in L1.</para>
/// <para>Backward-data is the transposed convolution run on the same machinery (<see cref="Transposed"/>): a stride-1
/// convolution of dy, zero-upsampled by the stride as it is copied into the buffer (no upsampled tensor is built), with
/// the flipped, group-transposed weights, accumulated into dx in the epilogue. At stride s, (s²−1)/s² of its
/// multiply-adds hit inserted zeros; MobileNet-v2 has 4 such layers of 17. Backward-weight reuses the padded input
/// buffer: over one strip, <c>dw[k,t] += Σ_q dy'[q]·buf[off_t + q]</c>, with dy' the strip's output gradient laid out at
/// row pitch Wh and zeros in the discarded columns: a dot product of two contiguous L1-resident runs per tap.</para>
/// <para>Threads: forward and backward-data cut the (image, group) pairs into contiguous ranges claimed by
/// <see cref="WorkerPool.RunDynamic"/>; every output value is computed by one unit in a fixed order, so results do not
/// depend on the thread count. Backward-weight cuts the batch into <see cref="WeightGradChunks"/> fixed image chunks
/// (whatever the thread count), each (chunk, group) unit summing into a private gradient; the chunks are added in
/// order at the end, so the weight gradient has the same bits for any thread count.</para>
/// </remarks>
internal static unsafe class GroupedConv2d
{
    /// <summary>Below this many multiply-adds (a few microseconds) a convolution stays on the calling thread.</summary>
    internal const long ParallelThresholdMacs = 1L << 20;

    /// <summary>Input channels per group up to which the direct kernel beats the per-group GEMM.</summary>
    internal const int MaxDirectChannelsPerGroup = 8;

    /// <summary>
    /// Output floats per row strip (about 8 KB): a strip's padded input rows and sums stay in L1 between the copy, the
    /// taps and the epilogue, instead of whole planes making three round trips through L2.
    /// </summary>
    internal const int DefaultStripFloats = 2048;

    /// <summary>Fixed image chunks of the weight gradient (see the class remarks): enough to balance up to 8 threads.</summary>
    internal const int WeightGradChunks = 8;

    /// <summary>Work units aimed at per thread, so a late or descheduled thread leaves its share to the others.</summary>
    private const int UnitsPerThread = 8;

    /// <summary>
    /// Whether the ONNX runtime runs this convolution on this kernel rather than the per-group GEMM: grouped, with at
    /// most <see cref="MaxDirectChannelsPerGroup"/> input channels per group (depthwise: one), or with fewer output
    /// channels per group than the GEMM's smallest register tile has rows.
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) => g.Groups > 1 && (g.CPerGroup <= MaxDirectChannelsPerGroup || g.KPerGroup < 4);

    /// <summary>
    /// Whether backward-data runs on this kernel: <see cref="Prefers"/> of the transposed convolution (whose groups have
    /// Kg input and Cg output channels).
    /// </summary>
    public static bool PrefersBackwardInput(in Conv2dGeometry g) =>
        g.Groups > 1 && (g.KPerGroup <= MaxDirectChannelsPerGroup || g.CPerGroup < 4);

    /// <summary>
    /// The geometry of backward-data as a forward convolution: input dy (N, K, OutH, OutW) zero-upsampled by the stride
    /// (see <see cref="Work"/>), stride 1, the same dilation and groups, output (N, C, H, W), padding
    /// <c>(KH−1)·dH − pT</c> above and <c>(KW−1)·dW − pL</c> left (negative: rows or columns cropped).
    /// </summary>
    internal static Conv2dGeometry Transposed(in Conv2dGeometry g) => new()
    {
        N = g.N, C = g.K, H = g.OutH, W = g.OutW, K = g.C, KH = g.KH, KW = g.KW, StrideH = 1, StrideW = 1,
        PadTop = (g.KH - 1) * g.DilationH - g.PadTop, PadLeft = (g.KW - 1) * g.DilationW - g.PadLeft,
        PadBottom = g.H - 1 + g.PadTop - (g.OutH - 1) * g.StrideH, PadRight = g.W - 1 + g.PadLeft - (g.OutW - 1) * g.StrideW,
        DilationH = g.DilationH, DilationW = g.DilationW, Groups = g.Groups, OutH = g.H, OutW = g.W,
    };

    /// <summary>Forward convolution at <see cref="Isa.Level"/> on up to <see cref="Parallelism.MaxThreads"/> threads (see the class remarks).</summary>
    /// <param name="input">x, shape (N, C, H, W).</param>
    /// <param name="weight">w, shape (K, C/G, KH, KW) (not packed).</param>
    /// <param name="bias">b, shape (K), or empty.</param>
    /// <param name="residual">r, shape (N, K, OutH, OutW) like y, or empty; may not overlap y.</param>
    /// <param name="output">y, shape (N, K, OutH, OutW); fully overwritten.</param>
    /// <param name="g">The validated geometry.</param>
    /// <param name="min">Lower clamp (<see cref="float.NegativeInfinity"/>: none; 0: ReLU).</param>
    /// <param name="max">Upper clamp (<see cref="float.PositiveInfinity"/>: none; 6 with min 0: ReLU6).</param>
    public static void Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual,
        Span<float> output, in Conv2dGeometry g, float min, float max) =>
        Forward(input, weight, bias, residual, output, g, min, max, Isa.Level, Parallelism.MaxThreads, ParallelThresholdMacs,
            dedicated3x3: DepthwiseConv3x3.Enabled);

    /// <summary>
    /// As the public overload at an explicit ISA level, thread count and parallel threshold (tests and benchmarks);
    /// <paramref name="dedicated3x3"/> false keeps depthwise 3×3 layers on this class's generic path instead of
    /// <see cref="DepthwiseConv3x3"/> (A/B benchmarks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual,
        Span<float> output, in Conv2dGeometry g, float min, float max, IsaLevel level, int threads, long parallelThresholdMacs,
        int stripFloats = DefaultStripFloats, bool dedicated3x3 = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ConvOperands.CheckForward("GroupedConv2d", input, bias, residual, output, g);
        ConvOperands.Check("GroupedConv2d", weight.Length, (long)g.K * g.CPerGroup * g.KH * g.KW, nameof(weight));
        if (output.IsEmpty) return;
        if (dedicated3x3 && DepthwiseConv3x3.Applies(g))
        {
            fixed (float* px = input, pw = weight, pb = bias, pr = residual, py = output)
                DepthwiseConv3x3.Forward(px, pw, bias.IsEmpty ? null : pb, residual.IsEmpty ? null : pr, py, g, min, max,
                    level, threads, parallelThresholdMacs, stripFloats);
            return;
        }

        var work = GetWork(g, 1, 1, level, min, max, stripFloats);
        int items = g.N * g.Groups;
        bool parallel = threads > 1 && g.Macs >= parallelThresholdMacs && items > 1;
        int units = parallel ? Math.Min(items, threads * UnitsPerThread) : 1;
        fixed (float* px = input, pw = weight, pb = bias, pr = residual, py = output)
        {
            work.Bind(px, pw, bias.IsEmpty ? null : pb, residual.IsEmpty ? null : pr, py, items, units);
            if (units == 1) work.RunUnit(0, 0);
            else WorkerPool.Shared.RunDynamic(threads, units, work.RunUnitAction);
        }
    }

    /// <summary>
    /// Backward-data at <see cref="Isa.Level"/> on up to <see cref="Parallelism.MaxThreads"/> threads:
    /// <c>dx[n,c,ih,iw] += Σ dy[n,k,oh,ow]·w[k,c,i,j]</c> over every (k in c's group, oh, ow, i, j) whose window read (ih, iw).
    /// </summary>
    /// <param name="gradOutput">dy, shape (N, K, OutH, OutW).</param>
    /// <param name="weight">w, shape (K, C/G, KH, KW).</param>
    /// <param name="gradInput">dx, shape (N, C, H, W); accumulated into.</param>
    /// <param name="g">The validated geometry of the forward convolution.</param>
    public static void BackwardInput(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput, in Conv2dGeometry g) =>
        BackwardInput(gradOutput, weight, gradInput, g, Isa.Level, Parallelism.MaxThreads, ParallelThresholdMacs);

    /// <summary>As the public overload at an explicit ISA level, thread count and parallel threshold (tests and benchmarks).</summary>
    internal static void BackwardInput(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, Span<float> gradInput, in Conv2dGeometry g,
        IsaLevel level, int threads, long parallelThresholdMacs, int stripFloats = DefaultStripFloats)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ConvOperands.Check("GroupedConv2d", gradOutput.Length, (long)g.N * g.K * g.OutH * g.OutW, nameof(gradOutput));
        ConvOperands.Check("GroupedConv2d", weight.Length, (long)g.K * g.CPerGroup * g.KH * g.KW, nameof(weight));
        ConvOperands.Check("GroupedConv2d", gradInput.Length, (long)g.N * g.C * g.H * g.W, nameof(gradInput));
        if (gradInput.IsEmpty) return;

        // The transposed convolution's weights: w'[G·Cg + c, kk, i, j] = w[G·Kg + kk, c, KH−1−i, KW−1−j].
        var t = Transposed(g);
        int cg = g.CPerGroup, kg = g.KPerGroup, area = g.KH * g.KW;
        float[] flipped = ArrayPool<float>.Shared.Rent(weight.Length);
        try
        {
            for (int k = 0; k < g.K; k++)
                for (int c = 0; c < cg; c++)
                {
                    int group = k / kg, kk = k % kg;
                    var src = weight.Slice((k * cg + c) * area, area);
                    var dst = flipped.AsSpan(((group * cg + c) * kg + kk) * area, area);
                    for (int i = 0; i < area; i++) dst[i] = src[area - 1 - i];
                }
            var work = GetWork(t, g.StrideH, g.StrideW, level, float.NegativeInfinity, float.PositiveInfinity, stripFloats);
            int items = t.N * t.Groups;
            bool parallel = threads > 1 && t.Macs >= parallelThresholdMacs && items > 1;
            int units = parallel ? Math.Min(items, threads * UnitsPerThread) : 1;
            fixed (float* pdy = gradOutput, pw = flipped, pdx = gradInput)
            {
                // dx is both the residual and the output of the epilogue: y = acc + dx, element by element.
                work.Bind(pdy, pw, null, pdx, pdx, items, units);
                if (units == 1) work.RunUnit(0, 0);
                else WorkerPool.Shared.RunDynamic(threads, units, work.RunUnitAction);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(flipped);
        }
    }

    /// <summary>
    /// Backward-weight at <see cref="Isa.Level"/> on up to <see cref="Parallelism.MaxThreads"/> threads:
    /// <c>dw[k,c,i,j] += Σ_{n,oh,ow} dy[n,k,oh,ow]·x[n, g·Cg + c, oh·sH − pT + i·dH, ow·sW − pL + j·dW]</c>, the same bits
    /// for any thread count (see the class remarks).
    /// </summary>
    /// <param name="input">x, shape (N, C, H, W).</param>
    /// <param name="gradOutput">dy, shape (N, K, OutH, OutW).</param>
    /// <param name="gradWeight">dw, shape (K, C/G, KH, KW); accumulated into.</param>
    /// <param name="g">The validated geometry.</param>
    public static void BackwardWeight(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight, in Conv2dGeometry g) =>
        BackwardWeight(input, gradOutput, gradWeight, g, Isa.Level, Parallelism.MaxThreads, ParallelThresholdMacs);

    /// <summary>As the public overload at an explicit ISA level, thread count and parallel threshold (tests and benchmarks).</summary>
    internal static void BackwardWeight(ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, Span<float> gradWeight, in Conv2dGeometry g,
        IsaLevel level, int threads, long parallelThresholdMacs, int stripFloats = DefaultStripFloats)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ConvOperands.Check("GroupedConv2d", input.Length, (long)g.N * g.C * g.H * g.W, nameof(input));
        ConvOperands.Check("GroupedConv2d", gradOutput.Length, (long)g.N * g.K * g.OutH * g.OutW, nameof(gradOutput));
        int wSize = g.K * g.CPerGroup * g.KH * g.KW;
        ConvOperands.Check("GroupedConv2d", gradWeight.Length, wSize, nameof(gradWeight));
        if (g.N == 0 || gradOutput.IsEmpty) return;

        var work = GetWork(g, 1, 1, level, float.NegativeInfinity, float.PositiveInfinity, stripFloats);
        int chunks = Math.Min(WeightGradChunks, g.N), units = chunks * g.Groups;
        bool parallel = threads > 1 && g.Macs >= parallelThresholdMacs && units > 1;
        float[] partials = ArrayPool<float>.Shared.Rent(chunks * wSize);
        try
        {
            fixed (float* px = input, pdy = gradOutput, pp = partials)
            {
                work.BindWeight(px, pdy, pp, chunks);
                if (!parallel)
                    for (int u = 0; u < units; u++) work.RunWeightUnit(u, 0);
                else WorkerPool.Shared.RunDynamic(threads, units, work.RunWeightUnitAction);
            }
            for (int chunk = 0; chunk < chunks; chunk++)
                TensorPrimitives.Add(gradWeight, partials.AsSpan(chunk * wSize, wSize), gradWeight);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partials);
        }
    }

    /// <summary>Work objects (layouts, tap offsets, delegates) kept per thread, so a steady state of calls allocates nothing.</summary>
    private const int WorkCacheSize = 64;

    [ThreadStatic] private static Work?[]? t_works;
    [ThreadStatic] private static int t_nextWork;

    /// <summary>
    /// This thread's <see cref="Work"/> for the parameters (built on first use, then reused; the least recently built of
    /// <see cref="WorkCacheSize"/> is replaced). Safe because a call binds and runs its work before returning, and a
    /// thread runs one call at a time.
    /// </summary>
    private static Work GetWork(in Conv2dGeometry g, int upH, int upW, IsaLevel level, float min, float max, int stripFloats)
    {
        var works = t_works ??= new Work?[WorkCacheSize];
        foreach (var w in works)
            if (w is not null && w.Matches(g, upH, upW, level, min, max, stripFloats)) return w;
        var fresh = new Work(g, upH, upW, level, min, max, stripFloats);
        works[t_nextWork] = fresh;
        t_nextWork = (t_nextWork + 1) % WorkCacheSize;
        return fresh;
    }

    /// <summary>
    /// One call's geometry, phase layout and operand addresses (pinned by the caller), shared by its units. The input may
    /// be zero-upsampled by (upH, upW): input pixel (r, c) sits at (r·upH, c·upW) of a grid whose other points are zero
    /// (backward-data's transposed convolution; its paddings may then be negative, cropping the upsampled input).
    /// </summary>
    private sealed class Work
    {
        private readonly Conv2dGeometry _g;
        private readonly IsaLevel _level;
        private readonly float _min, _max;
        private readonly int _upH, _upW;
        private readonly int _hh, _wh, _phasePlane, _channelSize, _taps, _block, _span, _bufferLength, _stripRows;
        private readonly int[] _tapOffsets;
        private float* _x, _w, _bias, _residual, _y, _dy, _partials;
        private int _items, _units, _chunks;
        private readonly int _stripFloats;

        /// <summary><see cref="RunUnit"/> and <see cref="RunWeightUnit"/> as delegates, created once.</summary>
        public readonly Action<int, int> RunUnitAction, RunWeightUnitAction;

        public bool Matches(in Conv2dGeometry g, int upH, int upW, IsaLevel level, float min, float max, int stripFloats) =>
            _g == g && _upH == upH && _upW == upW && _level == level && _min.Equals(min) && _max.Equals(max) && _stripFloats == stripFloats;

        public Work(Conv2dGeometry g, int upH, int upW, IsaLevel level, float min, float max, int stripFloats)
        {
            _g = g;
            _upH = upH;
            _upW = upW;
            _stripFloats = stripFloats;
            RunUnitAction = RunUnit;
            RunWeightUnitAction = RunWeightUnit;
            _level = level;
            _min = min;
            _max = max;
            int wn = (g.OutW - 1) * g.StrideW + (g.KW - 1) * g.DilationW + 1;
            _wh = (wn + g.StrideW - 1) / g.StrideW;
            // The output is computed in strips of _stripRows rows; the buffer holds the padded rows one strip reads.
            _stripRows = Math.Clamp(stripFloats / _wh, 1, g.OutH);
            int hn = (_stripRows - 1) * g.StrideH + (g.KH - 1) * g.DilationH + 1;
            _hh = (hn + g.StrideH - 1) / g.StrideH;
            _phasePlane = _hh * _wh;
            _channelSize = g.StrideH * g.StrideW * _phasePlane;
            _taps = g.CPerGroup * g.KH * g.KW;
            _tapOffsets = new int[_taps];
            int maxOffset = 0;
            for (int c = 0, t = 0; c < g.CPerGroup; c++)
                for (int i = 0; i < g.KH; i++)
                    for (int j = 0; j < g.KW; j++, t++)
                    {
                        int di = i * g.DilationH, dj = j * g.DilationW;
                        int phase = (di % g.StrideH) * g.StrideW + dj % g.StrideW;
                        _tapOffsets[t] = c * _channelSize + phase * _phasePlane + di / g.StrideH * _wh + dj / g.StrideW;
                        maxOffset = Math.Max(maxOffset, _tapOffsets[t]);
                    }
            // Four vectors per register block; the flattened output is computed in whole blocks (the excess is discarded),
            // so the buffer extends past the last tap's run by up to a block, zeroed.
            _block = 4 * Isa.Lanes(level);
            _span = (_stripRows * _wh + _block - 1) / _block * _block;
            _bufferLength = Math.Max(g.CPerGroup * _channelSize, maxOffset + _span);
        }

        public void Bind(float* x, float* w, float* bias, float* residual, float* y, int items, int units)
        {
            _x = x;
            _w = w;
            _bias = bias;
            _residual = residual;
            _y = y;
            _items = items;
            _units = units;
        }

        public void BindWeight(float* x, float* dy, float* partials, int chunks)
        {
            _x = x;
            _dy = dy;
            _partials = partials;
            _chunks = chunks;
        }

        /// <summary>
        /// Weight-gradient unit u: image chunk u / G (of <see cref="_chunks"/>), group u mod G, summed over the chunk's images
        /// and strips in order into the chunk's private gradient slice (overwritten).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunWeightUnit(int u, int thread)
        {
            var g = _g;
            int chunk = u / g.Groups, group = u % g.Groups;
            int n0 = (int)((long)g.N * chunk / _chunks), n1 = (int)((long)g.N * (chunk + 1) / _chunks);
            int wSize = g.K * _taps;
            float* dw = _partials + (nint)chunk * wSize + (nint)group * g.KPerGroup * _taps;
            new Span<float>(dw, g.KPerGroup * _taps).Clear();
            float* buffer = Scratch.Get(Scratch.Slot.GroupedInput, _bufferLength);
            float* dyStrip = Scratch.Get(Scratch.Slot.GroupedOutput, _span);
            for (int n = n0; n < n1; n++)
                for (int oh0 = 0; oh0 < g.OutH; oh0 += _stripRows)
                {
                    int rows = Math.Min(_stripRows, g.OutH - oh0);
                    int span = (rows * _wh + _block - 1) / _block * _block;
                    Pad(n, group, oh0, buffer);
                    for (int kk = 0; kk < g.KPerGroup; kk++)
                    {
                        int k = group * g.KPerGroup + kk;
                        // dy' at row pitch Wh, zero in the discarded columns and past the strip, so they add nothing.
                        new Span<float>(dyStrip, span).Clear();
                        float* src = _dy + ((nint)n * g.K + k) * g.OutH * g.OutW + (nint)oh0 * g.OutW;
                        for (int oh = 0; oh < rows; oh++)
                            new ReadOnlySpan<float>(src + (nint)oh * g.OutW, g.OutW).CopyTo(new Span<float>(dyStrip + (nint)oh * _wh, g.OutW));
                        float* dwk = dw + (nint)kk * _taps;
                        switch (_level)
                        {
                            case IsaLevel.V512: WeightTaps<Vector512<float>, V512Ops>(buffer, dyStrip, span, dwk); break;
                            case IsaLevel.V256: WeightTaps<Vector256<float>, V256Ops>(buffer, dyStrip, span, dwk); break;
                            case IsaLevel.V128: WeightTaps<Vector128<float>, V128Ops>(buffer, dyStrip, span, dwk); break;
                            default: WeightTaps<float, ScalarOps>(buffer, dyStrip, span, dwk); break;
                        }
                    }
                }
        }

        /// <summary>
        /// <c>dw[t] += Σ_{q&lt;span} dy[q]·buffer[off_t + q]</c> for every tap, four taps at a time sharing each load of dy;
        /// lanes summed in a fixed order.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void WeightTaps<TV, TOps>(float* buffer, float* dy, int span, float* dw) where TV : struct where TOps : IVecOps<TV>
        {
            int lanes = TOps.Lanes, taps = _taps;
            fixed (int* offsets = _tapOffsets)
            {
                int t = 0;
                for (; t <= taps - 4; t += 4)
                {
                    float* p0 = buffer + offsets[t], p1 = buffer + offsets[t + 1], p2 = buffer + offsets[t + 2], p3 = buffer + offsets[t + 3];
                    TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
                    for (int q = 0; q < span; q += lanes)
                    {
                        TV d = TOps.Load(dy + q);
                        a0 = TOps.Fma(TOps.Load(p0 + q), d, a0);
                        a1 = TOps.Fma(TOps.Load(p1 + q), d, a1);
                        a2 = TOps.Fma(TOps.Load(p2 + q), d, a2);
                        a3 = TOps.Fma(TOps.Load(p3 + q), d, a3);
                    }
                    dw[t] += SumLanes<TV, TOps>(a0);
                    dw[t + 1] += SumLanes<TV, TOps>(a1);
                    dw[t + 2] += SumLanes<TV, TOps>(a2);
                    dw[t + 3] += SumLanes<TV, TOps>(a3);
                }
                for (; t < taps; t++)
                {
                    float* p = buffer + offsets[t];
                    TV a0 = TOps.Zero, a1 = TOps.Zero;
                    // span is a whole number of 4-vector blocks.
                    for (int q = 0; q < span; q += 2 * lanes)
                    {
                        a0 = TOps.Fma(TOps.Load(p + q), TOps.Load(dy + q), a0);
                        a1 = TOps.Fma(TOps.Load(p + q + lanes), TOps.Load(dy + q + lanes), a1);
                    }
                    dw[t] += SumLanes<TV, TOps>(TOps.Add(a0, a1));
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float SumLanes<TV, TOps>(TV v) where TV : struct where TOps : IVecOps<TV>
        {
            float* lanes = stackalloc float[16];
            TOps.Store(lanes, v);
            float s = 0f;
            for (int i = 0; i < TOps.Lanes; i++) s += lanes[i];
            return s;
        }

        /// <summary>Unit u: the (image, group) items [u·items/units, (u+1)·items/units), group fastest.</summary>
        // Hot from the first call (once per group): tiered compilation's first tier would run for many calls.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunUnit(int u, int thread)
        {
            int from = (int)((long)_items * u / _units), to = (int)((long)_items * (u + 1) / _units);
            float* buffer = Scratch.Get(Scratch.Slot.GroupedInput, _bufferLength);
            float* acc = Scratch.Get(Scratch.Slot.GroupedOutput, _span);
            for (int item = from; item < to; item++)
            {
                int n = item / _g.Groups, group = item % _g.Groups;
                for (int oh0 = 0; oh0 < _g.OutH; oh0 += _stripRows)
                {
                    int rows = Math.Min(_stripRows, _g.OutH - oh0);
                    int span = (rows * _wh + _block - 1) / _block * _block;
                    Pad(n, group, oh0, buffer);
                    for (int kk = 0; kk < _g.KPerGroup; kk++)
                    {
                        int k = group * _g.KPerGroup + kk;
                        float* w = _w + (nint)k * _taps;
                        switch (_level)
                        {
                            case IsaLevel.V512: Accumulate<Vector512<float>, V512Ops>(buffer, w, acc, span); break;
                            case IsaLevel.V256: Accumulate<Vector256<float>, V256Ops>(buffer, w, acc, span); break;
                            case IsaLevel.V128: Accumulate<Vector128<float>, V128Ops>(buffer, w, acc, span); break;
                            default: Accumulate<float, ScalarOps>(buffer, w, acc, span); break;
                        }
                        nint at = ((nint)n * _g.K + k) * _g.OutH * _g.OutW + (nint)oh0 * _g.OutW;
                        float b = _bias is null ? 0f : _bias[k];
                        float* r = _residual is null ? null : _residual + at;
                        switch (_level)
                        {
                            case IsaLevel.V512: Store<Vector512<float>, V512Ops>(acc, rows, b, r, _y + at); break;
                            case IsaLevel.V256: Store<Vector256<float>, V256Ops>(acc, rows, b, r, _y + at); break;
                            case IsaLevel.V128: Store<Vector128<float>, V128Ops>(acc, rows, b, r, _y + at); break;
                            default: Store<float, ScalarOps>(acc, rows, b, r, _y + at); break;
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Copies the padded rows that output rows oh0.. read (from padded row sH·oh0 on) of the group's input channels
        /// of image n into the zero-padded, phase-split buffer (upsampling the input when the work says so).
        /// </summary>
        // Hot from the first call (once per group): tiered compilation's first tier would run for many calls.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Pad(int n, int group, int oh0, float* buffer)
        {
            var g = _g;
            new Span<float>(buffer, _bufferLength).Clear();
            int sH = g.StrideH, sW = g.StrideW, uH = _upH, uW = _upW;
            // Input columns [col0, col1) land inside the read extent, at padded column pL + col·uW in [0, Wh·sW).
            int limit = _wh * sW - g.PadLeft;
            if (limit <= 0) return;
            int col0 = g.PadLeft >= 0 ? 0 : (-g.PadLeft + uW - 1) / uW;
            int col1 = Math.Min(g.W, (limit + uW - 1) / uW);
            if (col1 <= col0) return;
            bool contiguous = uW == 1 && col0 == 0;
            // The (upsampled) input row at padded row 0 of the buffer.
            int first = sH * oh0 - g.PadTop;
            int row0 = first <= 0 ? 0 : (first + uH - 1) / uH;
            for (int c = 0; c < g.CPerGroup; c++)
            {
                float* src = _x + ((nint)n * g.C + group * g.CPerGroup + c) * g.H * g.W;
                float* channel = buffer + (nint)c * _channelSize;
                for (int row = row0; row < g.H; row++)
                {
                    int pr = row * uH - first;
                    if (pr >= _hh * sH) break;
                    float* rowBase = channel + (pr % sH) * sW * _phasePlane + (nint)(pr / sH) * _wh;
                    float* s = src + (nint)row * g.W;
                    if (contiguous && sW == 1)
                    {
                        new ReadOnlySpan<float>(s, col1).CopyTo(new Span<float>(rowBase + g.PadLeft, col1));
                    }
                    else if (contiguous && sW == 2)
                    {
                        // Input column c goes to padded column pL + c: phase (pL + c) mod 2, index ⌊(pL + c)/2⌋.
                        int p0 = g.PadLeft & 1;
                        float* even = rowBase + p0 * _phasePlane + g.PadLeft / 2;
                        float* odd = rowBase + (1 - p0) * _phasePlane + (g.PadLeft + 1) / 2;
                        Deinterleave(s, col1, even, odd);
                    }
                    else
                    {
                        for (int col = col0; col < col1; col++)
                        {
                            int pc = g.PadLeft + col * uW;
                            rowBase[(pc % sW) * _phasePlane + pc / sW] = s[col];
                        }
                    }
                }
            }
        }

        /// <summary><c>acc[q] = Σ_t w[t]·buffer[off_t + q]</c> for q in [0, span), four vectors at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Accumulate<TV, TOps>(float* buffer, float* w, float* acc, int span) where TV : struct where TOps : IVecOps<TV>
        {
            int lanes = TOps.Lanes, taps = _taps;
            fixed (int* offsets = _tapOffsets)
            {
                for (int q = 0; q < span; q += _block)
                {
                    TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
                    float* bq = buffer + q;
                    for (int t = 0; t < taps; t++)
                    {
                        TV wt = TOps.Broadcast(w + t);
                        float* p = bq + offsets[t];
                        a0 = TOps.Fma(TOps.Load(p), wt, a0);
                        a1 = TOps.Fma(TOps.Load(p + lanes), wt, a1);
                        a2 = TOps.Fma(TOps.Load(p + 2 * lanes), wt, a2);
                        a3 = TOps.Fma(TOps.Load(p + 3 * lanes), wt, a3);
                    }
                    TOps.Store(acc + q, a0);
                    TOps.Store(acc + q + lanes, a1);
                    TOps.Store(acc + q + 2 * lanes, a2);
                    TOps.Store(acc + q + 3 * lanes, a3);
                }
            }
        }

        /// <summary>Rows [0, rows) of a strip: <c>y[oh, ow] = clamp((acc[oh·Wh + ow] + b) + r[oh, ow])</c> for ow &lt; OutW.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Store<TV, TOps>(float* acc, int rows, float b, float* residual, float* y) where TV : struct where TOps : IVecOps<TV>
        {
            int lanes = TOps.Lanes, width = _g.OutW;
            bool clampLow = !float.IsNegativeInfinity(_min), clampHigh = !float.IsPositiveInfinity(_max);
            TV bv = TOps.Splat(b), lo = TOps.Splat(_min), hi = TOps.Splat(_max);
            for (int oh = 0; oh < rows; oh++)
            {
                float* src = acc + (nint)oh * _wh, dst = y + (nint)oh * width;
                float* r = residual is null ? null : residual + (nint)oh * width;
                int j = 0;
                for (; j <= width - lanes; j += lanes)
                {
                    TV v = TOps.Add(TOps.Load(src + j), bv);
                    if (r is not null) v = TOps.Add(v, TOps.Load(r + j));
                    // Select keeps v where the comparison is false, so NaN passes through both clamps.
                    if (clampLow) v = TOps.Select(TOps.Greater(lo, v), lo, v);
                    if (clampHigh) v = TOps.Select(TOps.Greater(v, hi), hi, v);
                    TOps.Store(dst + j, v);
                }
                for (; j < width; j++)
                {
                    float v = src[j] + b;
                    if (r is not null) v += r[j];
                    if (_min > v) v = _min;
                    if (v > _max) v = _max;
                    dst[j] = v;
                }
            }
        }
    }

    /// <summary>
    /// Whether <see cref="Deinterleave"/> splits the last (or only) fewer than 32 elements with masked AVX-512 loads and
    /// stores instead of 8-wide and scalar steps (default true; the same values). Why: the stride-2 depthwise convs split
    /// every input row, and MobileNet-v2's rows of 14 and 28 floats ran the scalar loop: its 14x14 -> 7x7 depthwise conv
    /// took longer than the stride-1 one at 14x14 with four times the outputs (docs/performance.md, stop 17). A run-time
    /// switch for A/B benchmarks (<c>onnx-plan-ab --switch masked-split</c>).
    /// </summary>
    internal static bool MaskedDeinterleave { get; set; } = true;

    /// <summary>Even elements of <c>src[0..count)</c> to <c>even[0..)</c>, odd ones to <c>odd[0..)</c>.</summary>
    // Hot from the first call (once per group): tiered compilation's first tier would run for many calls.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Deinterleave(float* src, int count, float* even, float* odd)
    {
        int i = 0;
        if (Avx512F.IsSupported)
        {
            var evenIndex = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var oddIndex = evenIndex + Vector512<int>.One;
            for (; i <= count - 32; i += 32)
            {
                var a = Vector512.Load(src + i);
                var b = Vector512.Load(src + i + 16);
                Avx512F.PermuteVar16x32x2(a, evenIndex, b).Store(even + i / 2);
                Avx512F.PermuteVar16x32x2(a, oddIndex, b).Store(odd + i / 2);
            }
            if (i < count && MaskedDeinterleave)
            {
                // The last 1-31 elements: masked loads (no read past src[count - 1]) and masked stores (nothing written past
                // the last even or odd element).
                int rest = count - i;
                var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
                var a = Avx512F.MaskLoad(src + i, Vector512.LessThan(lane, Vector512.Create(rest)).AsSingle(), Vector512<float>.Zero);
                var b = Avx512F.MaskLoad(src + i + 16, Vector512.LessThan(lane, Vector512.Create(rest - 16)).AsSingle(), Vector512<float>.Zero);
                Avx512F.MaskStore(even + i / 2, Vector512.LessThan(lane, Vector512.Create((rest + 1) >> 1)).AsSingle(), Avx512F.PermuteVar16x32x2(a, evenIndex, b));
                Avx512F.MaskStore(odd + i / 2, Vector512.LessThan(lane, Vector512.Create(rest >> 1)).AsSingle(), Avx512F.PermuteVar16x32x2(a, oddIndex, b));
                return;
            }
        }
        if (Avx2.IsSupported)
        {
            for (; i <= count - 16; i += 16)
            {
                var a = Vector256.Load(src + i);
                var b = Vector256.Load(src + i + 8);
                // Within each 128-bit half: [a0 a2 b0 b2 | a4 a6 b4 b6]; then the 64-bit quarters reordered 0, 2, 1, 3.
                var e = Avx.Shuffle(a, b, 0b10_00_10_00);
                var o = Avx.Shuffle(a, b, 0b11_01_11_01);
                Avx2.Permute4x64(e.AsDouble(), 0b11_01_10_00).AsSingle().Store(even + i / 2);
                Avx2.Permute4x64(o.AsDouble(), 0b11_01_10_00).AsSingle().Store(odd + i / 2);
            }
        }
        for (; i < count; i++)
        {
            if ((i & 1) == 0) even[i >> 1] = src[i];
            else odd[i >> 1] = src[i];
        }
    }
}
