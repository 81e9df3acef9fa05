using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Kernels;

/// <summary>
/// Forward of the depthwise 3×3 convolution with padding 1 at stride 1 or 2 (MobileNet's and ShuffleNet's depthwise
/// layers) on NCHW, with the bias/residual/clamp epilogue of <see cref="GroupedConv2d.Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, in Conv2dGeometry, float, float)"/>.
/// </summary>
/// <remarks>
/// <para>Why a dedicated kernel: the generic grouped kernel computes padded rows of pitch Wh = OutW + 2 and then copies
/// the results out in a second pass; for MobileNet's narrow planes (14 and 7 wide) that second pass, the per-row
/// copies and the discarded columns run on scalar code below one AVX-512 vector and cost more than the taps.</para>
/// <para>Method: the output plane is flattened at its own pitch OutW (no discarded columns), so a vector of outputs can
/// straddle rows and is stored straight to y with the epilogue. The input rows a strip of output rows reads are copied
/// once into a buffer laid out at the same pitch: at stride 1 the rows as they are (one contiguous copy) with a zero
/// row for the padding above or below; at stride 2 each row split into even and odd columns (<see cref="GroupedConv2d.Deinterleave"/>)
/// and the rows into even and odd padded rows, so every tap is again one contiguous run at a fixed offset. A tap that
/// would read the left (or, at stride 1, the right) padding column reads instead the neighbouring row's last (first)
/// value; the sums of those taps are cleared with a bit mask at the first (last) column, which is exact (no 0·∞).
/// Per output vector: 9 loads, 9 multiply-adds with the weights held in registers, two masks, the epilogue.</para>
/// <para>Sum order, fixed for every output: ((c0 + c1 + c2) + (l0 + l1 + l2)·[ow ≠ 0]) + (r0 + r1 + r2)·[right tap inside],
/// taps of one column summed top to bottom. Units are (image, channel) planes as in <see cref="GroupedConv2d"/>, so
/// results do not depend on the thread count or the strip height.</para>
/// </remarks>
internal static unsafe class DepthwiseConv3x3
{
    /// <summary>Whether <paramref name="g"/> is a depthwise 3×3 convolution this kernel computes: one input and one output
    /// channel per group, no dilation, padding 1 on every side, stride (1, 1) or (2, 2).</summary>
    public static bool Applies(in Conv2dGeometry g) =>
        g.Groups == g.C && g.K == g.C && g.KH == 3 && g.KW == 3 && g.DilationH == 1 && g.DilationW == 1 &&
        g.PadTop == 1 && g.PadLeft == 1 && g.PadBottom == 1 && g.PadRight == 1 &&
        ((g.StrideH == 1 && g.StrideW == 1) || (g.StrideH == 2 && g.StrideW == 2)) && g.OutH > 0 && g.OutW > 0;

    /// <summary>
    /// Whether the public <see cref="GroupedConv2d"/> forward uses this kernel (default true); process-wide, for the
    /// benchmarks' whole-model A/B only.
    /// </summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>
    /// Whether <see cref="ForwardPrepared"/> runs its taps from two pointers per tap row with <c>vmaxps</c> / <c>vminps</c>
    /// clamps on V512 (default true; the same bits). A run-time switch for A/B benchmarks (<c>onnx-plan-ab --switch dw-row-taps</c>).
    /// </summary>
    internal static bool RowTaps { get; set; } = true;

    /// <summary>Work units aimed at per thread (as <see cref="GroupedConv2d"/>).</summary>
    private const int UnitsPerThread = 8;

    [ThreadStatic] private static Job? t_job;

    /// <summary>
    /// y = clamp((conv(x, w) + b) + r) for a geometry <see cref="Applies"/> accepts; operands already validated by the caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Forward(float* x, float* w, float* bias, float* residual, float* y, in Conv2dGeometry g, float min, float max,
        IsaLevel level, int threads, long parallelThresholdMacs, int stripFloats)
    {
        var job = t_job ??= new Job();
        int items = g.N * g.C;
        bool parallel = threads > 1 && g.Macs >= parallelThresholdMacs && items > 1;
        int units = parallel ? Math.Min(items, threads * UnitsPerThread) : 1;
        job.Bind(x, w, bias, residual, y, g, min, max, level, stripFloats, items, units);
        if (units == 1) job.RunUnit(0, 0);
        else WorkerPool.Shared.RunDynamic(threads, units, job.RunUnitAction);
    }

    [ThreadStatic] private static Job? t_rowsJob;

    /// <summary>
    /// Output rows [rowFrom, rowTo) of channels [0, g.C) of one image of <paramref name="g"/> (N ignored), on the calling
    /// thread: channel c's input plane at <c>x + c·xPlane</c> (only the input rows the output rows read are touched:
    /// rows max(rowFrom·s − 1, 0) .. min((rowTo − 1)·s + 1, H − 1)), its output plane at <c>y + c·yPlane</c>; no residual.
    /// Each output is summed exactly as by <see cref="Forward"/> (the sum order does not depend on the strip).
    /// </summary>
    internal static void ForwardRows(float* x, nint xPlane, float* w, float* bias, float* y, nint yPlane, in Conv2dGeometry g,
        int rowFrom, int rowTo, float min, float max, IsaLevel level)
    {
        var job = t_rowsJob ??= new Job();
        job.Bind(x, w, bias, null, y, g, min, max, level, (rowTo - rowFrom) * g.OutW, g.C, 1);
        switch (level)
        {
            case IsaLevel.V512: job.RunPlanes<Vector512<float>, V512Ops>(0, g.C, rowFrom, rowTo, x, xPlane, y, yPlane); break;
            case IsaLevel.V256: job.RunPlanes<Vector256<float>, V256Ops>(0, g.C, rowFrom, rowTo, x, xPlane, y, yPlane); break;
            case IsaLevel.V128: job.RunPlanes<Vector128<float>, V128Ops>(0, g.C, rowFrom, rowTo, x, xPlane, y, yPlane); break;
            default: job.RunPlanes<float, ScalarOps>(0, g.C, rowFrom, rowTo, x, xPlane, y, yPlane); break;
        }
    }

    /// <summary>
    /// Whether <see cref="ForwardPrepared"/> takes <paramref name="g"/>: a geometry <see cref="Applies"/> accepts, at stride 2
    /// with an even H and W (no padding row or column below or right of the input, so the phase layout holds only input values).
    /// </summary>
    internal static bool PreparedApplies(in Conv2dGeometry g) => Applies(g) && (g.StrideH == 1 || ((g.H & 1) == 0 && (g.W & 1) == 0));

    /// <summary>
    /// Offset in floats, in a band of <paramref name="rows"/> output rows laid out for <see cref="ForwardPrepared"/> at stride 2,
    /// of padded row <paramref name="pr"/> (0 .. 2·rows; input row 2·rowFrom − 1 + pr)'s even (<paramref name="odd"/> false)
    /// or odd columns: the even columns of the even padded rows (rows + 1 of them), then their odd columns, then the even
    /// and the odd columns of the odd padded rows (rows each), each run at pitch <paramref name="ow"/>: (2·rows + 1)·2·ow
    /// floats in all, the input rows' own count of floats when W = 2·ow.
    /// </summary>
    internal static nint PhaseOffset(int pr, bool odd, int rows, int ow)
    {
        nint evenRows = (nint)(rows + 1) * ow;
        nint at = (pr & 1) == 0 ? (odd ? evenRows : 0) : 2 * evenRows + (odd ? (nint)rows * ow : 0);
        return at + (nint)(pr >> 1) * ow;
    }

    /// <summary>
    /// Output rows [rowFrom, rowTo) of channels [0, g.C) of one image from input rows already laid out the way the taps
    /// read them (so nothing is copied): channel c's band at <c>x + c·xPlane</c>, at stride 1 the input rows rowFrom − 1 ..
    /// rowTo at pitch W (zero rows for the padding above and below the input), at stride 2 the phase layout of
    /// <see cref="PhaseOffset"/> (<see cref="PreparedApplies"/> must hold). The float before each band and 2·W + 16 after it
    /// must be readable (their values do not matter). Output plane c at <c>y + c·yPlane</c>, rows from rowFrom at pitch
    /// OutW; with <paramref name="fullVectors"/> the band's last vector is stored whole (up to the next multiple of the
    /// vector width after (rowTo − rowFrom)·OutW floats, which y must have room for). The same bits as <see cref="ForwardRows"/>.
    /// </summary>
    internal static void ForwardPrepared(float* x, nint xPlane, float* w, float* bias, float* y, nint yPlane, in Conv2dGeometry g,
        int rowFrom, int rowTo, float min, float max, IsaLevel level, bool fullVectors)
    {
        var job = t_rowsJob ??= new Job();
        job.Bind(x, w, bias, null, y, g, min, max, level, (rowTo - rowFrom) * g.OutW, g.C, 1);
        switch (level)
        {
            case IsaLevel.V512: job.RunPrepared<Vector512<float>, V512Ops>(rowFrom, rowTo, x, xPlane, y, yPlane, fullVectors); break;
            case IsaLevel.V256: job.RunPrepared<Vector256<float>, V256Ops>(rowFrom, rowTo, x, xPlane, y, yPlane, fullVectors); break;
            case IsaLevel.V128: job.RunPrepared<Vector128<float>, V128Ops>(rowFrom, rowTo, x, xPlane, y, yPlane, fullVectors); break;
            default: job.RunPrepared<float, ScalarOps>(rowFrom, rowTo, x, xPlane, y, yPlane, fullVectors); break;
        }
    }

    /// <summary>
    /// Offset in floats of pixel (0, 0) within a plane laid out for <see cref="ForwardPadded"/>: one float, then the zero
    /// row above the plane (W floats), then the plane's rows, then the zero row below.
    /// </summary>
    internal static int PaddedOffset(int w) => 1 + w;

    /// <summary>Floats per plane for <see cref="ForwardPadded"/> on an h × w map: the layout (<see cref="PaddedOffset"/>)
    /// plus what the taps' vector loads read past it (up to 2·w + 2 + h·w rounded up to 16 lanes).</summary>
    internal static int PaddedFloats(int h, int w) => Math.Max(1 + (h + 2) * w, 2 * w + 2 + (h * w + 15) / 16 * 16);

    /// <summary>
    /// Zeroes the padding of <paramref name="planes"/> planes laid out for <see cref="ForwardPadded"/> at
    /// <paramref name="pitch"/> floats apart: everything of each plane but its h·w pixels at <see cref="PaddedOffset"/>.
    /// </summary>
    internal static void ClearPadding(float* x, int planes, nint pitch, int h, int w)
    {
        int at = PaddedOffset(w), end = at + h * w;
        for (int c = 0; c < planes; c++)
        {
            float* p = x + c * pitch;
            new Span<float>(p, at).Clear();
            new Span<float>(p + end, (int)(pitch - end)).Clear();
        }
    }

    /// <summary>
    /// All output rows of channels [0, g.C) of one image at stride 1 (N ignored) from whole planes already in
    /// <see cref="ForwardPrepared"/>'s stride-1 layout (<see cref="PaddedOffset"/>: the zero rows above and below in
    /// place, <see cref="ClearPadding"/>), so nothing is copied: channel c's plane at <c>x + c·xPlane</c>
    /// (xPlane ≥ <see cref="PaddedFloats"/>), its output at <c>y + c·yPlane</c>, each plane's last vector stored whole when
    /// yPlane has room for it (a multiple of 16 floats past OutH·OutW). The same bits as <see cref="ForwardRows"/>. Why:
    /// for a 7x7 map the per-channel copy (a 49-float move and two 7-float clears) was a fifth of the depthwise conv's
    /// time in <see cref="ExpandDepthwise.ForwardByChannels"/>.
    /// </summary>
    internal static void ForwardPadded(float* x, nint xPlane, float* w, float* bias, float* y, nint yPlane, in Conv2dGeometry g,
        float min, float max, IsaLevel level)
    {
        if (g.StrideH != 1 || xPlane < PaddedFloats(g.H, g.W)) throw new ArgumentException($"DepthwiseConv3x3: {g} at plane pitch {xPlane} is not a padded stride-1 layout", nameof(g));
        // ForwardPrepared's band starts at row −1, one float into the plane.
        ForwardPrepared(x + 1, xPlane, w, bias, y, yPlane, g, 0, g.OutH, min, max, level, fullVectors: yPlane >= (g.OutH * g.OutW + 15) / 16 * 16);
    }

    /// <summary>
    /// The stride-2 strip layout (also <see cref="StemConv3x3S2"/>'s): padded rows 2·oh0 .. 2·(oh0 + rows) of one
    /// h × w plane (input row = padded row − 1) split by row parity into phase planes, each row split into its even
    /// (at E) and odd (at O) columns, at pitch <paramref name="ow"/>: E of the even rows at buffer + 1, O of the even rows
    /// at + <paramref name="planeStride"/>, E and O of the odd rows at + 2 and + 3 plane strides (zero rows outside the
    /// input; the odd column right of an odd-width row is zero).
    /// </summary>
    internal static void CopyStride2(float* x, int h, int w, int ow, int planeStride, int oh0, int rows, float* buffer)
    {
        if (w <= 32 && GroupedConv2d.MaskedDeinterleave && Avx512F.IsSupported)
        {
            CopyStride2Narrow(x, h, w, ow, planeStride, oh0, rows, buffer);
            return;
        }
        int ps = planeStride;
        for (int pr = 0; pr <= 2 * rows; pr++)
        {
            int ih = 2 * oh0 + pr - 1;
            float* even = buffer + 1 + (pr & 1) * 2 * ps + (nint)(pr >> 1) * ow;
            float* odd = even + ps;
            if ((uint)ih >= (uint)h)
            {
                new Span<float>(even, ow).Clear();
                new Span<float>(odd, ow).Clear();
                continue;
            }
            GroupedConv2d.Deinterleave(x + (nint)ih * w, w, even, odd);
            // W odd: the last output's right tap is the padding column.
            if ((w & 1) != 0) odd[ow - 1] = 0f;
        }
    }

    /// <summary>
    /// <see cref="CopyStride2"/> for rows of at most 32 floats (MobileNet-v2's 28- and 14-wide maps): each row in two masked
    /// loads and two permutes, the masks made once per strip; the same values (zero rows and the odd-width padding
    /// column as +0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyStride2Narrow(float* x, int h, int w, int ow, int ps, int oh0, int rows, float* buffer)
    {
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var evenIndex = lane + lane;
        var oddIndex = evenIndex + Vector512<int>.One;
        var low = Vector512.LessThan(lane, Vector512.Create(w)).AsSingle();
        var high = Vector512.LessThan(lane, Vector512.Create(w - 16)).AsSingle();
        // ow = ceil(w / 2) values per phase row; for odd w the last odd one is src[w], a masked-off (zero) lane.
        var store = Vector512.LessThan(lane, Vector512.Create(ow)).AsSingle();
        for (int pr = 0; pr <= 2 * rows; pr++)
        {
            int ih = 2 * oh0 + pr - 1;
            float* even = buffer + 1 + (pr & 1) * 2 * ps + (nint)(pr >> 1) * ow;
            Vector512<float> e = default, o = default;
            if ((uint)ih < (uint)h)
            {
                float* src = x + (nint)ih * w;
                var a = Avx512F.MaskLoad(src, low, Vector512<float>.Zero);
                var b = Avx512F.MaskLoad(src + 16, high, Vector512<float>.Zero);
                e = Avx512F.PermuteVar16x32x2(a, evenIndex, b);
                o = Avx512F.PermuteVar16x32x2(a, oddIndex, b);
            }
            Avx512F.MaskStore(even, store, e);
            Avx512F.MaskStore(even + ps, store, o);
        }
    }

    /// <summary>One call's operands, shared by its units; one per calling thread, rebound by every call.</summary>
    private sealed class Job
    {
        private Conv2dGeometry _g;
        private float* _x, _w, _bias, _residual, _y;
        private float _min, _max;
        private IsaLevel _level;
        private int _items, _units, _stripRows, _planeStride, _bufferLength;

        public readonly Action<int, int> RunUnitAction;

        public Job() => RunUnitAction = RunUnit;

        public void Bind(float* x, float* w, float* bias, float* residual, float* y, in Conv2dGeometry g, float min, float max,
            IsaLevel level, int stripFloats, int items, int units)
        {
            _x = x;
            _w = w;
            _bias = bias;
            _residual = residual;
            _y = y;
            (_g, _min, _max, _level, _items, _units) = (g, min, max, level, items, units);
            _stripRows = Math.Clamp(stripFloats / g.OutW, 1, g.OutH);
            // Slack: one float before each plane (the masked read left of column 0) and a vector plus the taps' reach after it.
            int slack = 16 + 4;
            if (g.StrideH == 1)
            {
                _planeStride = (_stripRows + 2) * g.W + slack;
                _bufferLength = _planeStride;
            }
            else
            {
                _planeStride = (_stripRows + 1) * g.OutW + slack;
                _bufferLength = 4 * _planeStride;
            }
        }

        /// <summary>Unit u: the (image, channel) planes [u·items/units, (u+1)·items/units).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void RunUnit(int u, int thread)
        {
            switch (_level)
            {
                case IsaLevel.V512: Run<Vector512<float>, V512Ops>(u); break;
                case IsaLevel.V256: Run<Vector256<float>, V256Ops>(u); break;
                case IsaLevel.V128: Run<Vector128<float>, V128Ops>(u); break;
                default: Run<float, ScalarOps>(u); break;
            }
        }

        private void Run<TV, TOps>(int u) where TV : struct where TOps : IVecOps<TV>
        {
            int from = (int)((long)_items * u / _units), to = (int)((long)_items * (u + 1) / _units);
            RunPlanes<TV, TOps>(from, to, 0, _g.OutH, _x, (nint)_g.H * _g.W, _y, (nint)_g.OutH * _g.OutW);
        }

        /// <summary>
        /// Output rows [rowFrom, rowTo) of the (image, channel) planes [from, to): plane i's input at
        /// <c>x + i·xPlane</c> (only the input rows those output rows read are touched, so x may point before a buffer
        /// that holds just them), its output at <c>y + i·yPlane</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal void RunPlanes<TV, TOps>(int from, int to, int rowFrom, int rowTo, float* xBase, nint xPlane, float* yBase, nint yPlane)
            where TV : struct where TOps : IVecOps<TV>
        {
            var g = _g;
            int ow = g.OutW, lanes = TOps.Lanes, stripSpan = _stripRows * ow;
            float* buffer = Scratch.Get(Scratch.Slot.GroupedInput, _bufferLength);
            // Column masks over one strip (strips start at row boundaries): all bits set, or zero where a tap is outside.
            int maskLength = stripSpan + lanes;
            float* masks = Scratch.Get(Scratch.Slot.GroupedOutput, 2 * maskLength);
            float* maskLeft = masks, maskRight = masks + maskLength;
            float ones = BitConverter.Int32BitsToSingle(-1);
            bool stride2 = g.StrideH == 2;
            for (int q = 0; q < maskLength; q++)
            {
                int col = q % ow;
                maskLeft[q] = col == 0 ? 0f : ones;
                maskRight[q] = !stride2 && col == ow - 1 ? 0f : ones;
            }
            // Tap offsets from the buffer, for output q of the strip.
            int* off = stackalloc int[9];
            if (!stride2)
            {
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) off[i * 3 + j] = i * g.W + j;
            }
            else
            {
                int ps = _planeStride;
                int e0 = 1, o0 = 1 + ps, e1 = 1 + 2 * ps, o1 = 1 + 3 * ps;
                (off[0], off[1], off[2]) = (o0 - 1, e0, o0);
                (off[3], off[4], off[5]) = (o1 - 1, e1, o1);
                (off[6], off[7], off[8]) = (o0 + ow - 1, e0 + ow, o0 + ow);
            }
            for (int item = from; item < to; item++)
            {
                int c = item % g.C;
                float* x = xBase + item * xPlane;
                float* w = _w + (nint)c * 9;
                nint at = item * yPlane;
                float b = _bias is null ? 0f : _bias[c];
                for (int oh0 = rowFrom; oh0 < rowTo; oh0 += _stripRows)
                {
                    int rows = Math.Min(_stripRows, rowTo - oh0);
                    if (stride2) CopyStride2(x, oh0, rows, buffer);
                    else CopyStride1(x, oh0, rows, buffer);
                    nint strip = at + (nint)oh0 * ow;
                    Taps<TV, TOps>(buffer, off, w, maskLeft, maskRight, rows * ow, b, _residual is null ? null : _residual + strip, yBase + strip);
                }
            }
        }

        // Column masks of RunPrepared, kept between calls: made for output width _maskOw and stride _maskStride2.
        private float[]? _masks;
        private int _maskOw, _maskLength;
        private bool _maskStride2;

        /// <summary>The left and right column masks (as <see cref="RunPlanes"/> makes them) over at least
        /// <paramref name="length"/> floats each, remade only when the output width, stride or length changes.</summary>
        private float* Masks(int ow, bool stride2, int length)
        {
            // Both masks 64-byte aligned (the taps load them at multiples of the vector width: no cache-line splits).
            length = (length + 15) & ~15;
            if (_masks is null || _maskOw != ow || _maskStride2 != stride2 || _maskLength < length)
            {
                if (_masks is null || _masks.Length < 2 * length + 16) _masks = GC.AllocateUninitializedArray<float>(2 * length + 16, pinned: true);
                float* m = Aligned(_masks);
                float ones = BitConverter.Int32BitsToSingle(-1);
                for (int q = 0, col = 0; q < length; q++)
                {
                    m[q] = col == 0 ? 0f : ones;
                    m[length + q] = !stride2 && col == ow - 1 ? 0f : ones;
                    if (++col == ow) col = 0;
                }
                (_maskOw, _maskStride2, _maskLength) = (ow, stride2, length);
            }
            return Aligned(_masks);

            static float* Aligned(float[] a) => (float*)(((nint)Unsafe.AsPointer(ref a[0]) + 63) & ~(nint)63);
        }

        /// <summary><see cref="ForwardPrepared"/>'s body: the taps straight from each channel's prepared band.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal void RunPrepared<TV, TOps>(int rowFrom, int rowTo, float* xBase, nint xPlane, float* yBase, nint yPlane, bool fullVectors)
            where TV : struct where TOps : IVecOps<TV>
        {
            var g = _g;
            int ow = g.OutW, lanes = TOps.Lanes, rows = rowTo - rowFrom, span = rows * ow;
            bool stride2 = g.StrideH == 2;
            float* maskLeft = Masks(ow, stride2, span + lanes), maskRight = maskLeft + _maskLength;
            // Tap offsets from the float before the band (as RunPlanes's from its strip buffer).
            int* off = stackalloc int[9];
            if (!stride2)
            {
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) off[i * 3 + j] = i * g.W + j;
            }
            else
            {
                int e0 = 1 + (int)PhaseOffset(0, false, rows, ow), o0 = 1 + (int)PhaseOffset(0, true, rows, ow);
                int e1 = 1 + (int)PhaseOffset(1, false, rows, ow), o1 = 1 + (int)PhaseOffset(1, true, rows, ow);
                (off[0], off[1], off[2]) = (o0 - 1, e0, o0);
                (off[3], off[4], off[5]) = (o1 - 1, e1, o1);
                (off[6], off[7], off[8]) = (o0 + ow - 1, e0 + ow, o0 + ow);
            }
            int taps = fullVectors ? (span + lanes - 1) / lanes * lanes : span;
            nint at = (nint)rowFrom * ow;
            for (int c = 0; c < g.C; c++)
            {
                float b = _bias is null ? 0f : _bias[c];
                if (RowTaps && stride2) TapsByRow<TV, TOps>(xBase + c * xPlane - 1, off, _w + (nint)c * 9, maskLeft, maskRight, taps, b, yBase + c * yPlane + at, true);
                else if (RowTaps) TapsByRow<TV, TOps>(xBase + c * xPlane - 1, off, _w + (nint)c * 9, maskLeft, maskRight, taps, b, yBase + c * yPlane + at, false);
                else Taps<TV, TOps>(xBase + c * xPlane - 1, off, _w + (nint)c * 9, maskLeft, maskRight, taps, b, null, yBase + c * yPlane + at);
            }
        }

        /// <summary>
        /// <see cref="Taps"/> without a residual, its nine tap pointers as one per tap row at stride 1 (left, centre and right
        /// at +0, +1, +2) and two at stride 2 (the odd columns' for left and right at +0 and +1, the even columns' for the
        /// centre), so the loop keeps its pointers in registers; on V512 the clamps are <c>vmaxps</c> / <c>vminps</c>
        /// (<c>max(lo, v)</c> is <c>lo &gt; v ? lo : v</c>, the select it replaces). The same sums in the same order, so the
        /// same bits. Inlined with <paramref name="stride2"/> constant.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void TapsByRow<TV, TOps>(float* buffer, int* off, float* w, float* maskLeft, float* maskRight, int span, float b, float* y, bool stride2)
            where TV : struct where TOps : IVecOps<TV>
        {
            int lanes = TOps.Lanes;
            TV w0 = TOps.Broadcast(w), w1 = TOps.Broadcast(w + 1), w2 = TOps.Broadcast(w + 2);
            TV w3 = TOps.Broadcast(w + 3), w4 = TOps.Broadcast(w + 4), w5 = TOps.Broadcast(w + 5);
            TV w6 = TOps.Broadcast(w + 6), w7 = TOps.Broadcast(w + 7), w8 = TOps.Broadcast(w + 8);
            // Tap row i: left at l_i, right at l_i + 1 (stride 2) or + 2 (stride 1), centre at c_i (stride 2) or l_i + 1.
            float* l0 = buffer + off[0], c0 = buffer + off[1];
            float* l1 = buffer + off[3], c1 = buffer + off[4];
            float* l2 = buffer + off[6], c2 = buffer + off[7];
            int r = stride2 ? 1 : 2;
            bool clampLow = !float.IsNegativeInfinity(_min), clampHigh = !float.IsPositiveInfinity(_max);
            TV bv = TOps.Splat(b), lo = TOps.Splat(_min), hi = TOps.Splat(_max);
            float* tail = stackalloc float[16];
            for (int q = 0; q < span; q += lanes)
            {
                TV left = TOps.Mul(TOps.Load(l0 + q), w0);
                TV mid = TOps.Mul(TOps.Load(stride2 ? c0 + q : l0 + q + 1), w1);
                TV right = TOps.Mul(TOps.Load(l0 + q + r), w2);
                left = TOps.Fma(TOps.Load(l1 + q), w3, left);
                mid = TOps.Fma(TOps.Load(stride2 ? c1 + q : l1 + q + 1), w4, mid);
                right = TOps.Fma(TOps.Load(l1 + q + r), w5, right);
                left = TOps.Fma(TOps.Load(l2 + q), w6, left);
                mid = TOps.Fma(TOps.Load(stride2 ? c2 + q : l2 + q + 1), w7, mid);
                right = TOps.Fma(TOps.Load(l2 + q + r), w8, right);
                TV acc = TOps.Add(TOps.Add(mid, TOps.And(left, TOps.Load(maskLeft + q))), TOps.And(right, TOps.Load(maskRight + q)));
                Finish<TV, TOps>(acc, q, span, bv, lo, hi, clampLow, clampHigh, b, null, y, tail, minMax: true);
            }
        }

        /// <summary>
        /// Outputs [q, q + lanes) of a strip (those below <paramref name="span"/>) from the taps' sum: y = clamp((acc + b) + r).
        /// With <paramref name="minMax"/> on V512 the clamps are <c>vmaxps</c> / <c>vminps</c> with the bound first
        /// (<c>lo &gt; v ? lo : v</c>, <c>hi &lt; v ? hi : v</c>: the selects' bits, NaN passing through).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Finish<TV, TOps>(TV acc, int q, int span, TV bv, TV lo, TV hi, bool clampLow, bool clampHigh, float b, float* r, float* y,
            float* tail, bool minMax)
            where TV : struct where TOps : IVecOps<TV>
        {
            if (q + TOps.Lanes <= span)
            {
                TV v = TOps.Add(acc, bv);
                if (r is not null) v = TOps.Add(v, TOps.Load(r + q));
                if (minMax && typeof(TV) == typeof(Vector512<float>) && Avx512F.IsSupported)
                {
                    var v5 = Unsafe.As<TV, Vector512<float>>(ref v);
                    if (clampLow) v5 = Avx512F.Max(Unsafe.As<TV, Vector512<float>>(ref lo), v5);
                    if (clampHigh) v5 = Avx512F.Min(Unsafe.As<TV, Vector512<float>>(ref hi), v5);
                    v5.Store(y + q);
                    return;
                }
                // Select keeps v where the comparison is false, so NaN passes through both clamps.
                if (clampLow) v = TOps.Select(TOps.Greater(lo, v), lo, v);
                if (clampHigh) v = TOps.Select(TOps.Greater(v, hi), hi, v);
                TOps.Store(y + q, v);
                return;
            }
            TOps.Store(tail, acc);
            for (int i = 0; i < span - q; i++)
            {
                float v = tail[i] + b;
                if (r is not null) v += r[q + i];
                if (_min > v) v = _min;
                if (v > _max) v = _max;
                y[q + i] = v;
            }
        }

        /// <summary>Input rows oh0 − 1 .. oh0 + rows at pitch W from buffer + 1 (zero rows outside the input).</summary>
        private void CopyStride1(float* x, int oh0, int rows, float* buffer)
        {
            int w = _g.W, h = _g.H;
            int first = oh0 - 1, last = oh0 + rows + 1; // [first, last)
            int lo = Math.Max(first, 0), hi = Math.Min(last, h);
            float* dst = buffer + 1;
            if (lo > first) new Span<float>(dst, (lo - first) * w).Clear();
            new ReadOnlySpan<float>(x + (nint)lo * w, (hi - lo) * w).CopyTo(new Span<float>(dst + (nint)(lo - first) * w, (hi - lo) * w));
            if (hi < last) new Span<float>(dst + (nint)(hi - first) * w, (last - hi) * w).Clear();
        }

        private void CopyStride2(float* x, int oh0, int rows, float* buffer) =>
            DepthwiseConv3x3.CopyStride2(x, _g.H, _g.W, _g.OutW, _planeStride, oh0, rows, buffer);

        /// <summary>Outputs [0, span) of a strip: y = clamp((Σ taps + b) + r), vectors along the flattened plane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Taps<TV, TOps>(float* buffer, int* off, float* w, float* maskLeft, float* maskRight, int span, float b, float* r, float* y)
            where TV : struct where TOps : IVecOps<TV>
        {
            int lanes = TOps.Lanes;
            TV w0 = TOps.Broadcast(w), w1 = TOps.Broadcast(w + 1), w2 = TOps.Broadcast(w + 2);
            TV w3 = TOps.Broadcast(w + 3), w4 = TOps.Broadcast(w + 4), w5 = TOps.Broadcast(w + 5);
            TV w6 = TOps.Broadcast(w + 6), w7 = TOps.Broadcast(w + 7), w8 = TOps.Broadcast(w + 8);
            float* p0 = buffer + off[0], p1 = buffer + off[1], p2 = buffer + off[2];
            float* p3 = buffer + off[3], p4 = buffer + off[4], p5 = buffer + off[5];
            float* p6 = buffer + off[6], p7 = buffer + off[7], p8 = buffer + off[8];
            bool clampLow = !float.IsNegativeInfinity(_min), clampHigh = !float.IsPositiveInfinity(_max);
            TV bv = TOps.Splat(b), lo = TOps.Splat(_min), hi = TOps.Splat(_max);
            float* tail = stackalloc float[16];
            for (int q = 0; q < span; q += lanes)
            {
                TV left = TOps.Mul(TOps.Load(p0 + q), w0);
                TV mid = TOps.Mul(TOps.Load(p1 + q), w1);
                TV right = TOps.Mul(TOps.Load(p2 + q), w2);
                left = TOps.Fma(TOps.Load(p3 + q), w3, left);
                mid = TOps.Fma(TOps.Load(p4 + q), w4, mid);
                right = TOps.Fma(TOps.Load(p5 + q), w5, right);
                left = TOps.Fma(TOps.Load(p6 + q), w6, left);
                mid = TOps.Fma(TOps.Load(p7 + q), w7, mid);
                right = TOps.Fma(TOps.Load(p8 + q), w8, right);
                TV acc = TOps.Add(TOps.Add(mid, TOps.And(left, TOps.Load(maskLeft + q))), TOps.And(right, TOps.Load(maskRight + q)));
                Finish<TV, TOps>(acc, q, span, bv, lo, hi, clampLow, clampHigh, b, r, y, tail, minMax: false);
            }
        }
    }
}
