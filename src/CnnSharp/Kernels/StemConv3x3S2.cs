using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Kernels;

/// <summary>
/// Forward of a 3×3 convolution at stride 2 with padding 1 over few input channels (MobileNet-v2's RGB stem,
/// 3 → 32 at 224 → 112) on NCHW, with a bias and clamp epilogue: <c>y = clamp(conv(x, w) + b, min, max)</c>.
/// </summary>
/// <remarks>
/// <para>Why: on the implicit GEMM such a stem has K = C·9 = 27 taps per output; the packing driver gathers a strided
/// column matrix of 27 × OutH·OutW floats (1.35 MB at 112 × 112, more than L2) and the microkernel's k loop is too short
/// to hide its tile loads and stores: 0.35-0.9 ms at batch 1 on 2 threads against ONNX Runtime's ~0.3 ms.</para>
/// <para>Method: a strip of output rows at a time, each input channel's rows are split into even and odd rows and
/// columns (<see cref="DepthwiseConv3x3.CopyStride2"/>'s layout, pitch OutW), so every tap of every output in the
/// strip is one contiguous run at a fixed offset, and outputs are vectors along the flattened strip (no discarded
/// columns; a vector may straddle rows). A tap left of column 0 reads the previous row's last odd column instead of
/// the padding; its value is cleared with a bit mask before the multiply-add (exact: the sum sees +0 as from a zero
/// pad). Register tile: 8 output channels × 2 vectors (16 accumulators) with 512-bit vectors, 4 × 2 otherwise (16 registers
/// without AVX-512); each loaded input vector serves every channel of the tile.</para>
/// <para>Sum order, fixed for every output: one fused multiply-add chain from 0 over the taps in (c, ky, kx) order,
/// then + b, then the clamp; units are (image, strip) pairs, so results do not depend on the thread count.</para>
/// </remarks>
internal static unsafe class StemConv3x3S2
{
    /// <summary>The most input channels this kernel takes (beyond that the GEMM's k loop is long enough).</summary>
    public const int MaxChannels = 4;

    /// <summary>The output channel count must be a multiple of this (the widest register tile's channels).</summary>
    private const int ChannelTile = 8;

    /// <summary>Strip height target: the strip's phase planes of all input channels in about this many floats (L1).</summary>
    private const int StripFloats = 12 * 1024;

    /// <summary>
    /// Whether <paramref name="g"/> is a convolution this kernel computes: one group, 1 to <see cref="MaxChannels"/>
    /// input channels, a multiple of 8 output channels, a 3×3 kernel at stride (2, 2) with padding 1 on every side, no dilation.
    /// </summary>
    public static bool Applies(in Conv2dGeometry g) =>
        g.Groups == 1 && g.C >= 1 && g.C <= MaxChannels && g.K % ChannelTile == 0 && g.K > 0 && g.KH == 3 && g.KW == 3
        && g.StrideH == 2 && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1
        && g.PadTop == 1 && g.PadLeft == 1 && g.PadBottom == 1 && g.PadRight == 1 && g.OutH > 0 && g.OutW > 0;

    /// <summary>Whether inference plans' <c>Conv2dOp</c> uses this kernel where it applies (default true); process-wide,
    /// for the benchmarks' A/B (<c>onnx-plan-ab --switch stem-direct</c>) and tests.</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>Whether the register tile's three kx taps per input row are written out instead of looped (default true;
    /// the same bits). A run-time switch for A/B benchmarks (<c>onnx-plan-ab --switch stem-unroll</c>) and tests.</summary>
    internal static bool UnrolledTaps { get; set; } = true;

    [ThreadStatic] private static Job? t_job;

    /// <summary>
    /// y = clamp(conv(x, w) + b, min, max) for a geometry <see cref="Applies"/> accepts.
    /// </summary>
    /// <param name="x">Input, shape (N, C, H, W).</param>
    /// <param name="w">Weights, shape (K, C, 3, 3).</param>
    /// <param name="bias">Bias, shape (K), or empty for none.</param>
    /// <param name="y">Output, shape (N, K, OutH, OutW); fully overwritten; may not overlap x.</param>
    /// <param name="g">The geometry.</param>
    /// <param name="min">Lower clamp (−∞ for none; 0 for ReLU).</param>
    /// <param name="max">Upper clamp (+∞ for none; 6 for ReLU6). NaN passes through both clamps.</param>
    /// <param name="level">The SIMD path.</param>
    /// <param name="threads">Threads to split the (image, strip) units over.</param>
    /// <param name="stripRows">Output rows per strip (0: chosen from <see cref="StripFloats"/>); tests vary it.</param>
    /// <exception cref="ArgumentException">The geometry is not one this kernel computes, or a span's length does not match it.</exception>
    internal static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, in Conv2dGeometry g,
        float min, float max, IsaLevel level, int threads, int stripRows = 0)
    {
        if (!Applies(g)) throw new ArgumentException($"StemConv3x3S2: geometry {g} is not a 3x3 stride-2 pad-1 conv of 1-{MaxChannels} input channels and a multiple of {ChannelTile} output channels", nameof(g));
        if (x.Length != (long)g.N * g.C * g.H * g.W) throw new ArgumentException($"StemConv3x3S2: input has {x.Length} floats, geometry {g} needs {(long)g.N * g.C * g.H * g.W}", nameof(x));
        if (w.Length != g.K * g.C * 9) throw new ArgumentException($"StemConv3x3S2: weight has {w.Length} floats, geometry {g} needs {g.K * g.C * 9}", nameof(w));
        if (!bias.IsEmpty && bias.Length != g.K) throw new ArgumentException($"StemConv3x3S2: bias has {bias.Length} floats, geometry {g} needs {g.K} or none", nameof(bias));
        if (y.Length != (long)g.N * g.K * g.OutH * g.OutW) throw new ArgumentException($"StemConv3x3S2: output has {y.Length} floats, geometry {g} needs {(long)g.N * g.K * g.OutH * g.OutW}", nameof(y));
        if (g.N == 0) return;
        var job = t_job ??= new Job();
        int rows = stripRows > 0 ? Math.Min(stripRows, g.OutH) : DefaultStripRows(g);
        int strips = (g.OutH + rows - 1) / rows;
        int units = g.N * strips;
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            job.Bind(px, job.Pack(pw, g, level), bias.IsEmpty ? null : pb, py, g, min, max, level, rows, strips);
            if (threads <= 1 || units == 1)
            {
                for (int u = 0; u < units; u++) job.RunUnit(u, 0);
            }
            else WorkerPool.Shared.RunDynamic(threads, units, job.RunUnitAction);
        }
    }

    /// <summary>Output rows per strip by default: the strip's phase planes of all input channels in about
    /// <see cref="StripFloats"/> floats.</summary>
    private static int DefaultStripRows(in Conv2dGeometry g) => Math.Clamp(StripFloats / (4 * g.C * g.OutW), 1, g.OutH);

    /// <summary>The register tile's channel count on <paramref name="level"/> (the packed weights' grouping).</summary>
    private static int TileChannels(IsaLevel level) => level == IsaLevel.V512 ? 8 : 4;

    /// <summary>
    /// The weights (K, C, 3, 3) regrouped for <see cref="ForwardRows"/> on <paramref name="level"/> into
    /// <paramref name="packed"/> (at least K·C·9 floats, pinned by the caller).
    /// </summary>
    internal static void Pack(ReadOnlySpan<float> w, in Conv2dGeometry g, IsaLevel level, Span<float> packed)
    {
        int taps = 9 * g.C, tile = TileChannels(level);
        if (w.Length != g.K * taps || packed.Length < g.K * taps)
            throw new ArgumentException($"StemConv3x3S2: weight has {w.Length} floats and the packed buffer {packed.Length}, geometry {g} needs {g.K * taps}");
        for (int k0 = 0; k0 < g.K; k0 += tile)
            for (int t = 0; t < taps; t++)
                for (int j = 0; j < tile; j++) packed[k0 * taps + t * tile + j] = w[(k0 + j) * taps + t];
    }

    /// <summary>
    /// Output rows [<paramref name="oh0"/>, <paramref name="oh1"/>) of one image, on the calling thread, with the bits of
    /// <see cref="Forward"/>: output (k, oh, ow) goes to <c>y[k·yPlane + (oh − oh0)·OutW + ow]</c> (so a caller can keep a
    /// band of rows of every channel in its own buffer). For a consumer that runs the stem band by band
    /// (<see cref="ExpandDepthwise"/>): the rows are computed in strips of the default height.
    /// </summary>
    /// <param name="x">The image's input planes (C, H, W).</param>
    /// <param name="packed">The weights as <see cref="Pack"/> made them for <paramref name="level"/>.</param>
    /// <param name="bias">Bias (K), or null.</param>
    /// <param name="g">The geometry (<see cref="Applies"/> must hold; N is not read).</param>
    /// <param name="min">Lower clamp (−∞ for none).</param>
    /// <param name="max">Upper clamp (+∞ for none).</param>
    /// <param name="level">The SIMD path.</param>
    /// <param name="oh0">First output row.</param>
    /// <param name="oh1">End of the output rows (at most OutH).</param>
    /// <param name="y">Output row oh0 of channel 0; rows*OutW floats per channel are written, channel planes
    /// <paramref name="yPlane"/> apart.</param>
    /// <param name="yPlane">Floats between channels' rows in <paramref name="y"/>.</param>
    internal static void ForwardRows(float* x, float* packed, float* bias, in Conv2dGeometry g, float min, float max, IsaLevel level,
        int oh0, int oh1, float* y, nint yPlane)
    {
        if (!Applies(g) || oh0 < 0 || oh1 > g.OutH || yPlane < (nint)(oh1 - oh0) * g.OutW)
            throw new ArgumentException($"StemConv3x3S2: rows [{oh0}, {oh1}) at plane stride {yPlane} do not fit geometry {g}", nameof(g));
        int strip = DefaultStripRows(g), ps = PlaneStride(strip, g.OutW);
        for (int r = oh0; r < oh1; r += strip)
        {
            int rows = Math.Min(strip, oh1 - r);
            float* yr = y + (nint)(r - oh0) * g.OutW;
            switch (level)
            {
                case IsaLevel.V512: Strip<Vector512<float>, V512Ops>(x, packed, bias, g, min, max, ps, r, rows, yr, yPlane); break;
                case IsaLevel.V256: Strip<Vector256<float>, V256Ops>(x, packed, bias, g, min, max, ps, r, rows, yr, yPlane); break;
                case IsaLevel.V128: Strip<Vector128<float>, V128Ops>(x, packed, bias, g, min, max, ps, r, rows, yr, yPlane); break;
                default: Strip<float, ScalarOps>(x, packed, bias, g, min, max, ps, r, rows, yr, yPlane); break;
            }
        }
    }

    /// <summary>Floats per phase plane of a strip of <paramref name="stripRows"/> rows: slack after each plane for the masked
    /// read left of column 0 and two vectors past the strip's last output.</summary>
    private static int PlaneStride(int stripRows, int outW) => (stripRows + 1) * outW + 2 * 16 + 4;

    /// <summary>A register tile's output channel count, as a JIT-time constant of the tile method's instantiation.</summary>
    private interface ITileWidth
    {
        static abstract int Channels { get; }
    }

    /// <summary>8 channels x 2 vectors: 16 accumulators, for the 32 registers of AVX-512.</summary>
    private readonly struct Wide : ITileWidth
    {
        public static int Channels => 8;
    }

    /// <summary>4 channels x 2 vectors: 8 accumulators, for 16 vector registers.</summary>
    private readonly struct Narrow : ITileWidth
    {
        public static int Channels => 4;
    }

    /// <summary>The clamp of the epilogue, splatted once per unit.</summary>
    private readonly record struct Epilogue<TV>(TV Lo, TV Hi, bool ClampLow, bool ClampHigh) where TV : struct;

    /// <summary>One call's operands, shared by its units; one per calling thread, rebound by every call.</summary>
    private sealed class Job
    {
        private Conv2dGeometry _g;
        private float* _x, _w, _bias, _y;
        private float _min, _max;
        private IsaLevel _level;
        private int _stripRows, _strips, _planeStride;

        public readonly Action<int, int> RunUnitAction;

        public Job() => RunUnitAction = RunUnit;

        private float[] _packed = [];

        /// <summary>
        /// The weights (K, taps) regrouped per register tile of <see cref="TileChannels"/> channels (<see
        /// cref="StemConv3x3S2.Pack"/>): block k0 / tile holds, for each tap t in (c, ky, kx) order, the tile's channels'
        /// weights side by side (<c>[k0·taps + t·tile + j] = w[(k0 + j)·taps + t]</c>), so the tap loop broadcasts from
        /// constant offsets. Pinned, grown on demand.
        /// </summary>
        public float* Pack(float* w, in Conv2dGeometry g, IsaLevel level)
        {
            int floats = g.K * 9 * g.C;
            if (_packed.Length < floats) _packed = GC.AllocateUninitializedArray<float>(floats, pinned: true);
            StemConv3x3S2.Pack(new ReadOnlySpan<float>(w, floats), g, level, _packed);
            return (float*)Unsafe.AsPointer(ref _packed[0]);
        }

        public void Bind(float* x, float* w, float* bias, float* y, in Conv2dGeometry g, float min, float max, IsaLevel level, int stripRows, int strips)
        {
            _x = x;
            _w = w;
            _bias = bias;
            _y = y;
            (_g, _min, _max, _level, _stripRows, _strips) = (g, min, max, level, stripRows, strips);
            _planeStride = PlaneStride(stripRows, g.OutW);
        }

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

        /// <summary>Unit u: image u / strips, output rows [s·stripRows, min((s + 1)·stripRows, OutH)) with s = u mod strips.</summary>
        private void Run<TV, TOps>(int u) where TV : struct where TOps : IVecOps<TV>
        {
            var g = _g;
            int n = u / _strips, oh0 = u % _strips * _stripRows;
            nint yPlane = (nint)g.OutH * g.OutW;
            Strip<TV, TOps>(_x + (nint)n * g.C * g.H * g.W, _w, _bias, g, _min, _max, _planeStride, oh0, Math.Min(_stripRows, g.OutH - oh0),
                _y + (nint)n * g.K * yPlane + (nint)oh0 * g.OutW, yPlane);
        }
    }

    /// <summary>Output rows [oh0, oh0 + rows) of one image x (C, H, W) into y (row oh0 of channel 0, channels yPlane apart),
    /// through phase planes of ps floats (<see cref="PlaneStride"/> of at least <paramref name="rows"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strip<TV, TOps>(float* x, float* w, float* bias, in Conv2dGeometry g, float min, float max, int ps, int oh0, int rows,
        float* y, nint yPlane) where TV : struct where TOps : IVecOps<TV>
    {
        int ow = g.OutW, lanes = TOps.Lanes;
        int span = rows * ow;
        float* buffer = Scratch.Get(Scratch.Slot.GroupedInput, (nint)4 * ps * g.C + 2 * 16);
        for (int c = 0; c < g.C; c++)
            DepthwiseConv3x3.CopyStride2(x + (nint)c * g.H * g.W, g.H, g.W, ow, ps, oh0, rows, buffer + (nint)4 * ps * c);
        // Left-tap mask over the strip: zero at column 0 (the tap is the padding), all bits set elsewhere.
        int maskLength = span + 2 * lanes;
        float* maskLeft = Scratch.Get(Scratch.Slot.GroupedOutput, maskLength);
        float ones = BitConverter.Int32BitsToSingle(-1);
        for (int q = 0, col = 0; q < maskLength; q++, col = col == ow - 1 ? 0 : col + 1) maskLeft[q] = col == 0 ? 0f : ones;
        // Row offsets per (c, ky): ky 0 and 2 read the even padded rows (2 apart: one row of the phase plane), ky 1 the odd ones.
        int rowsPerTap = 3 * g.C;
        int* rowOff = stackalloc int[3 * MaxChannels];
        for (int c = 0; c < g.C; c++)
        {
            int at = 4 * ps * c + 1;
            (rowOff[3 * c], rowOff[3 * c + 1], rowOff[3 * c + 2]) = (at, at + 2 * ps, at + ow);
        }
        nint ks = 9 * g.C;
        var e = new Epilogue<TV>(TOps.Splat(min), TOps.Splat(max), !float.IsNegativeInfinity(min), !float.IsPositiveInfinity(max));
        float* tail = stackalloc float[2 * 16];
        for (int q = 0; q < span; q += 2 * lanes)
        {
            TV m0 = TOps.Load(maskLeft + q), m1 = TOps.Load(maskLeft + q + lanes);
            if (lanes == 16)
            {
                for (int k0 = 0; k0 < g.K; k0 += 8)
                    Tile<TV, TOps, Wide>(buffer + q, rowOff, rowsPerTap, ps, m0, m1, w + k0 * ks, y + k0 * yPlane + q, yPlane, bias is null ? null : bias + k0, span - q, e, tail);
            }
            else
            {
                for (int k0 = 0; k0 < g.K; k0 += 4)
                    Tile<TV, TOps, Narrow>(buffer + q, rowOff, rowsPerTap, ps, m0, m1, w + k0 * ks, y + k0 * yPlane + q, yPlane, bias is null ? null : bias + k0, span - q, e, tail);
            }
        }
    }

    /// <summary>Outputs [q, q + 2·lanes) of output channels [k0, k0 + TTile.Channels): wk = the packed weights of the tile's
    /// channels ((c, ky, kx, channel) order), yk = y + k0·yPlane + q, bk = bias + k0 (or null). The second half of the
    /// 8-channel tile is compiled away for the 4-channel one (TTile.Channels is a JIT-time constant).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TV, TOps, TTile>(float* row0, int* rowOff, int rowsPerTap, int ps, TV m0, TV m1, float* wk,
        float* yk, nint yPlane, float* bk, int left, in Epilogue<TV> e, float* tail)
        where TV : struct where TOps : IVecOps<TV> where TTile : ITileWidth
    {
        int lanes = TOps.Lanes, J = TTile.Channels;
        bool wide = J == 8;
        TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero, a6 = TOps.Zero, a7 = TOps.Zero;
        TV b0 = TOps.Zero, b1 = TOps.Zero, b2 = TOps.Zero, b3 = TOps.Zero, b4 = TOps.Zero, b5 = TOps.Zero, b6 = TOps.Zero, b7 = TOps.Zero;
        if (UnrolledTaps)
        {
            // The three kx taps written out (the same multiply-adds in the same order as the loop below): the JIT keeps
            // a 3-trip loop with the tap's address and mask choice as branches, whose integer work shares ports 0 and 5
            // with the multiply-adds.
            for (int cr = 0; cr < rowsPerTap; cr++)
            {
                float* row = row0 + rowOff[cr];
                float* wx = wk + cr * 3 * J;
                // kx 0: the odd columns one to the left, masked at column 0; kx 1: the even columns; kx 2: the odd ones.
                Tap<TV, TOps, TTile>(TOps.And(TOps.Load(row + ps - 1), m0), TOps.And(TOps.Load(row + ps - 1 + lanes), m1), wx, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7);
                Tap<TV, TOps, TTile>(TOps.Load(row), TOps.Load(row + lanes), wx + J, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7);
                Tap<TV, TOps, TTile>(TOps.Load(row + ps), TOps.Load(row + ps + lanes), wx + 2 * J, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7);
            }
        }
        else for (int cr = 0; cr < rowsPerTap; cr++)
        {
            float* row = row0 + rowOff[cr];
            float* wt = wk + cr * 3 * J;
            for (int kx = 0; kx < 3; kx++)
            {
                // kx 0: the odd columns one to the left (masked at column 0), kx 1: the even columns, kx 2: the odd ones.
                float* p = row + (kx == 1 ? 0 : ps - 1 + (kx >> 1));
                TV x0 = TOps.Load(p), x1 = TOps.Load(p + lanes);
                if (kx == 0)
                {
                    x0 = TOps.And(x0, m0);
                    x1 = TOps.And(x1, m1);
                }
                Tap<TV, TOps, TTile>(x0, x1, wt + kx * J, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7);
            }
        }
        Store<TV, TOps>(yk + 0 * yPlane, a0, b0, bk is null ? 0f : bk[0], left, e, tail);
        Store<TV, TOps>(yk + 1 * yPlane, a1, b1, bk is null ? 0f : bk[1], left, e, tail);
        Store<TV, TOps>(yk + 2 * yPlane, a2, b2, bk is null ? 0f : bk[2], left, e, tail);
        Store<TV, TOps>(yk + 3 * yPlane, a3, b3, bk is null ? 0f : bk[3], left, e, tail);
        if (!wide) return;
        Store<TV, TOps>(yk + 4 * yPlane, a4, b4, bk is null ? 0f : bk[4], left, e, tail);
        Store<TV, TOps>(yk + 5 * yPlane, a5, b5, bk is null ? 0f : bk[5], left, e, tail);
        Store<TV, TOps>(yk + 6 * yPlane, a6, b6, bk is null ? 0f : bk[6], left, e, tail);
        Store<TV, TOps>(yk + 7 * yPlane, a7, b7, bk is null ? 0f : bk[7], left, e, tail);
    }

    /// <summary>One tap of the tile: input vectors x0 and x1 times each of the tile's channels' weights at wx, into that
    /// channel's two accumulators (a·, b·); the last four are left alone in the 4-channel tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tap<TV, TOps, TTile>(TV x0, TV x1, float* wx, ref TV a0, ref TV a1, ref TV a2, ref TV a3, ref TV a4, ref TV a5,
        ref TV a6, ref TV a7, ref TV b0, ref TV b1, ref TV b2, ref TV b3, ref TV b4, ref TV b5, ref TV b6, ref TV b7)
        where TV : struct where TOps : IVecOps<TV> where TTile : ITileWidth
    {
        TV wv;
        wv = TOps.Broadcast(wx + 0); a0 = TOps.Fma(x0, wv, a0); b0 = TOps.Fma(x1, wv, b0);
        wv = TOps.Broadcast(wx + 1); a1 = TOps.Fma(x0, wv, a1); b1 = TOps.Fma(x1, wv, b1);
        wv = TOps.Broadcast(wx + 2); a2 = TOps.Fma(x0, wv, a2); b2 = TOps.Fma(x1, wv, b2);
        wv = TOps.Broadcast(wx + 3); a3 = TOps.Fma(x0, wv, a3); b3 = TOps.Fma(x1, wv, b3);
        if (TTile.Channels != 8) return;
        wv = TOps.Broadcast(wx + 4); a4 = TOps.Fma(x0, wv, a4); b4 = TOps.Fma(x1, wv, b4);
        wv = TOps.Broadcast(wx + 5); a5 = TOps.Fma(x0, wv, a5); b5 = TOps.Fma(x1, wv, b5);
        wv = TOps.Broadcast(wx + 6); a6 = TOps.Fma(x0, wv, a6); b6 = TOps.Fma(x1, wv, b6);
        wv = TOps.Broadcast(wx + 7); a7 = TOps.Fma(x0, wv, a7); b7 = TOps.Fma(x1, wv, b7);
    }

    /// <summary>Outputs [q, q + 2·lanes) of one channel (clipped to <paramref name="left"/>): (acc + b), clamped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<TV, TOps>(float* y, TV a, TV b, float bias, int left, in Epilogue<TV> e, float* tail)
        where TV : struct where TOps : IVecOps<TV>
    {
        int lanes = TOps.Lanes;
        TV bv = TOps.Splat(bias);
        a = TOps.Add(a, bv);
        b = TOps.Add(b, bv);
        // Select keeps v where the comparison is false, so NaN passes through both clamps.
        if (e.ClampLow) { a = TOps.Select(TOps.Greater(e.Lo, a), e.Lo, a); b = TOps.Select(TOps.Greater(e.Lo, b), e.Lo, b); }
        if (e.ClampHigh) { a = TOps.Select(TOps.Greater(a, e.Hi), e.Hi, a); b = TOps.Select(TOps.Greater(b, e.Hi), e.Hi, b); }
        if (left >= 2 * lanes)
        {
            TOps.Store(y, a);
            TOps.Store(y + lanes, b);
            return;
        }
        TOps.Store(tail, a);
        TOps.Store(tail + lanes, b);
        // A plain loop, not Span.CopyTo: a call here would make the JIT spill the tile's accumulators in the tap loop.
        for (int i = 0; i < left; i++) y[i] = tail[i];
    }
}
