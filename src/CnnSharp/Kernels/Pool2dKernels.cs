using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnSharp.Kernels;

/// <summary>
/// 2-D window pooling over NCHW planes: max (with argmax for backward), average (PyTorch's divisor rules) and Lp.
/// </summary>
/// <remarks>
/// Layout: input (N*C planes, H, W), output (N*C planes, OutH, OutW), both contiguous row-major; every plane is independent,
/// so work is split over planes. For output (oh, ow) the window's taps are input rows <c>h = oh*sH - padTop + m*dH</c>
/// (m &lt; KH) and columns <c>w = ow*sW - padLeft + k*dW</c> (k &lt; KW); taps outside the input are padding.
/// Max treats padding as absent (-inf), average and Lp as zeros. Backward kernels accumulate (<c>+=</c>) into gradInput.
/// </remarks>
internal static unsafe class Pool2dKernels
{
    // Below this many input elements per chunk, threading costs more than it saves.
    private const int MinElementsPerChunk = 16384;

    internal static int PlanesPerChunk(int planeElements) => Math.Max(1, MinElementsPerChunk / Math.Max(1, planeElements));

    /// <summary>A per-plane body: <paramref name="source"/> and <paramref name="destination"/> are plane p of each buffer.</summary>
    internal delegate void PlaneBody(ReadOnlySpan<float> source, Span<float> destination);

    /// <summary>
    /// Runs <paramref name="body"/> on plane p of <paramref name="source"/> (planes of <paramref name="sourcePlane"/> elements)
    /// and plane p of <paramref name="destination"/> (<paramref name="destinationPlane"/> elements) for every p &lt;
    /// <paramref name="planes"/>, planes split across threads in chunks of at least <see cref="MinElementsPerChunk"/> input elements.
    /// </summary>
    internal static void ForEachPlane(ReadOnlySpan<float> source, int sourcePlane, Span<float> destination, int destinationPlane,
        int planes, int inputPlane, PlaneBody body)
    {
        fixed (float* ps = source, pd = destination)
        {
            float* s = ps, d = pd;
            Parallelism.For(planes, (start, end) =>
            {
                for (int p = start; p < end; p++)
                    body(new ReadOnlySpan<float>(s + (long)p * sourcePlane, sourcePlane), new Span<float>(d + (long)p * destinationPlane, destinationPlane));
            }, PlanesPerChunk(inputPlane));
        }
    }

    /// <summary>
    /// <c>out[p, oh, ow] = max over in-range taps of in[p, h, w]</c>; <c>argmax[p, oh, ow] = h*W + w</c> of the first maximum
    /// in row-major tap order (PyTorch's tie rule); with NaN taps the output is NaN and the argmax the last NaN, as in PyTorch;
    /// -1 if the window has no in-range tap (then out = -inf). Pass an empty <paramref name="argmax"/> when the indices are
    /// not needed (inference): planes without NaN then take the vectorised path (<see cref="MaxForwardPlaneVector"/>).
    /// </summary>
    public static void MaxForward(ReadOnlySpan<float> input, Span<float> output, Span<int> argmax, in Pool2dGeometry g) =>
        MaxForward(Isa.Level, input, output, argmax, g);

    /// <summary>As the other overload, at an explicit SIMD <paramref name="level"/> (tests run every path this way).</summary>
    internal static void MaxForward(IsaLevel level, ReadOnlySpan<float> input, Span<float> output, Span<int> argmax, in Pool2dGeometry g)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        bool indices = !argmax.IsEmpty;
        if (input.Length != (long)planes * inPlane || output.Length != (long)planes * outPlane || (indices && argmax.Length != output.Length))
            throw new ArgumentException($"Pool2dKernels.MaxForward: input {input.Length}, output {output.Length}, argmax {argmax.Length} values do not fit {g}");
        var geo = g;
        bool vector = !indices && level >= IsaLevel.V256;
        fixed (float* pIn = input, pOut = output)
        fixed (int* pArg = argmax)
        {
            float* xp = pIn, yp = pOut;
            int* ap = pArg;
            Parallelism.For(planes, (start, end) =>
            {
                // Row scratch of the vectorised path: one padded row of vertical maxima (see MaxForwardPlaneVector).
                int rowLength = vector ? VectorRowLength(geo) : 0;
                float[]? rowArray = rowLength > 1024 ? new float[rowLength] : null;
                Span<float> row = rowArray ?? stackalloc float[Math.Max(rowLength, 1)];
                for (int p = start; p < end; p++)
                {
                    var x = new ReadOnlySpan<float>(xp + (long)p * inPlane, inPlane);
                    var y = new Span<float>(yp + (long)p * outPlane, outPlane);
                    // NaN is rare; the vectorised maxima do not follow PyTorch's NaN rule, so such planes take the scalar path.
                    if (vector && !TensorPrimitives.IsNaNAny(x)) MaxForwardPlaneVector(x, y, row, geo);
                    else MaxForwardPlane(x, y, indices ? new Span<int>(ap + (long)p * outPlane, outPlane) : default, geo);
                }
            }, PlanesPerChunk(inPlane));
        }
    }

    /// <summary>
    /// Length of the vectorised path's row buffer: the padded width the windows reach, <c>max(padLeft + W,
    /// (OutW-1)*sW + (KW-1)*dW + 1)</c>, plus 16 so a stride-2 vector load of the last full output chunk stays inside.
    /// </summary>
    private static int VectorRowLength(in Pool2dGeometry g) =>
        Math.Max(g.PadLeft + g.W, (g.OutW - 1) * g.StrideW + (g.KW - 1) * g.DilationW + 1) + 16;

    /// <summary>
    /// Separable max pooling of one plane without indices or NaN (the caller checks): for each output row, the maximum
    /// over the window's in-range input rows is taken column by column into <paramref name="row"/> (vectors of 8 along W),
    /// with -inf in the padding columns, so the window maximum along W needs no bounds tests:
    /// <c>y[oh, ow] = max_k row[ow*sW + k*dW]</c>, computed for 8 outputs at once (contiguous loads at stride 1,
    /// even-lane shuffles at stride 2, a per-lane loop otherwise). A window with no in-range tap yields -inf.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxForwardPlaneVector(ReadOnlySpan<float> x, Span<float> y, Span<float> row, in Pool2dGeometry g)
    {
        int w = g.W, h = g.H, outH = g.OutH, outW = g.OutW, kh = g.KH, kw = g.KW;
        int sh = g.StrideH, sw = g.StrideW, dh = g.DilationH, dw = g.DilationW, padTop = g.PadTop, padLeft = g.PadLeft;
        int length = VectorRowLength(g);
        fixed (float* px = x, py = y, pr = row)
        {
            float* r = pr;
            var negInf = Vector256.Create(float.NegativeInfinity);
            // Padding columns stay -inf for the whole plane; only [padLeft, padLeft + W) is rewritten per output row.
            new Span<float>(r, padLeft).Fill(float.NegativeInfinity);
            new Span<float>(r + padLeft + w, length - padLeft - w).Fill(float.NegativeInfinity);
            float* mid = r + padLeft;
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = oh * sh - padTop;
                var (m0, m1) = TapRange(h0, dh, kh, h);
                if (m0 >= m1)
                {
                    new Span<float>(mid, w).Fill(float.NegativeInfinity);
                }
                else
                {
                    float* first = px + (nint)(h0 + m0 * dh) * w;
                    int c = 0;
                    if (m1 - m0 == 1)
                    {
                        new ReadOnlySpan<float>(first, w).CopyTo(new Span<float>(mid, w));
                    }
                    else
                    {
                        for (; c <= w - 8; c += 8)
                        {
                            var v = Vector256.Load(first + c);
                            for (int m = m0 + 1; m < m1; m++) v = Vector256.MaxNative(v, Vector256.Load(px + (nint)(h0 + m * dh) * w + c));
                            v.Store(mid + c);
                        }
                        for (; c < w; c++)
                        {
                            float v = first[c];
                            for (int m = m0 + 1; m < m1; m++) v = Math.Max(v, px[(nint)(h0 + m * dh) * w + c]);
                            mid[c] = v;
                        }
                    }
                }

                float* outRow = py + (nint)oh * outW;
                int ow = 0;
                if (sw == 1)
                {
                    for (; ow <= outW - 8; ow += 8)
                    {
                        var v = negInf;
                        for (int k = 0; k < kw; k++) v = Vector256.MaxNative(v, Vector256.Load(r + ow + k * dw));
                        v.Store(outRow + ow);
                    }
                }
                else if (sw == 2 && Avx2.IsSupported)
                {
                    for (; ow <= outW - 8; ow += 8)
                    {
                        var v = negInf;
                        for (int k = 0; k < kw; k++)
                        {
                            float* b = r + 2 * ow + k * dw;
                            // Even lanes of 16 consecutive values: [a0 a2 b0 b2 | a4 a6 b4 b6], then reorder the 64-bit pairs.
                            var even = Avx.Shuffle(Vector256.Load(b), Vector256.Load(b + 8), 0x88);
                            v = Vector256.MaxNative(v, Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle());
                        }
                        v.Store(outRow + ow);
                    }
                }
                for (; ow < outW; ow++)
                {
                    float v = float.NegativeInfinity;
                    float* b = r + ow * sw;
                    for (int k = 0; k < kw; k++) v = Math.Max(v, b[k * dw]);
                    outRow[ow] = v;
                }
            }
        }
    }

    private static void MaxForwardPlane(ReadOnlySpan<float> x, Span<float> y, Span<int> arg, in Pool2dGeometry g)
    {
        // Geometry in locals: the JIT cannot keep fields of an 'in' struct in registers across the span writes below.
        int w = g.W, h = g.H, outH = g.OutH, outW = g.OutW, kh = g.KH, kw = g.KW;
        int sh = g.StrideH, sw = g.StrideW, dh = g.DilationH, dw = g.DilationW, padTop = g.PadTop, padLeft = g.PadLeft;
        // NaN is rare; a vectorised check per plane lets the hot loop ignore it.
        bool planeHasNaN = TensorPrimitives.IsNaNAny(x);
        for (int oh = 0; oh < outH; oh++)
        {
            int h0 = oh * sh - padTop;
            var (m0, m1) = TapRange(h0, dh, kh, h);
            for (int ow = 0; ow < outW; ow++)
            {
                int w0 = ow * sw - padLeft;
                var (k0, k1) = TapRange(w0, dw, kw, w);
                // PyTorch's rule: start from -inf at the first in-range tap; '>' keeps the first maximum on ties.
                float best = float.NegativeInfinity;
                int bestIndex = m0 < m1 && k0 < k1 ? (h0 + m0 * dh) * w + w0 + k0 * dw : -1;
                for (int m = m0; m < m1; m++)
                {
                    int row = (h0 + m * dh) * w + w0;
                    for (int k = k0; k < k1; k++)
                    {
                        int idx = row + k * dw;
                        float v = x[idx];
                        // Selects rather than an if-block, so the JIT may use conditional moves: the comparison is
                        // unpredictable on real activations. (Vectorising this loop is left to the performance work.)
                        bool take = v > best;
                        bestIndex = take ? idx : bestIndex;
                        best = take ? v : best;
                    }
                }
                // PyTorch lets every NaN replace the current best, so a window with NaN yields NaN at its last NaN tap.
                if (planeHasNaN) bestIndex = LastNaN(x, h0, m0, m1, dh, w0, k0, k1, dw, w, bestIndex);
                y[oh * outW + ow] = bestIndex >= 0 ? x[bestIndex] : float.NegativeInfinity;
                if (!arg.IsEmpty) arg[oh * outW + ow] = bestIndex;
            }
        }
    }

    private static int LastNaN(ReadOnlySpan<float> x, int h0, int m0, int m1, int dh, int w0, int k0, int k1, int dw, int w, int fallback)
    {
        int index = fallback;
        for (int m = m0; m < m1; m++)
        {
            int row = (h0 + m * dh) * w + w0;
            for (int k = k0; k < k1; k++)
                if (float.IsNaN(x[row + k * dw])) index = row + k * dw;
        }
        return index;
    }

    /// <summary><c>gradInput[p, argmax[p, o]] += gradOutput[p, o]</c> for every output o (entries with argmax -1 are skipped).</summary>
    public static void MaxBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> argmax, Span<float> gradInput, in Pool2dGeometry g) =>
        ScatterArgmax(gradOutput, argmax, gradInput, g.Planes, g.H * g.W, g.OutH * g.OutW);

    /// <summary>
    /// Scatters per-plane gradients through plane-relative argmax indices: <c>gradInput[p, argmax[p, o]] += gradOutput[p, o]</c>.
    /// Shared by max pooling and adaptive max pooling.
    /// </summary>
    internal static void ScatterArgmax(ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> argmax, Span<float> gradInput,
        int planes, int inPlane, int outPlane)
    {
        Debug.Assert(gradOutput.Length == planes * outPlane && argmax.Length == gradOutput.Length && gradInput.Length == planes * inPlane);
        fixed (float* pGy = gradOutput, pGx = gradInput)
        fixed (int* pArg = argmax)
        {
            float* gy = pGy, gx = pGx;
            int* ap = pArg;
            Parallelism.For(planes, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var gyp = new ReadOnlySpan<float>(gy + (long)p * outPlane, outPlane);
                    var arg = new ReadOnlySpan<int>(ap + (long)p * outPlane, outPlane);
                    var gxp = new Span<float>(gx + (long)p * inPlane, inPlane);
                    for (int o = 0; o < gyp.Length; o++)
                    {
                        int i = arg[o];
                        if (i >= 0) gxp[i] += gyp[o];
                    }
                }
            }, PlanesPerChunk(inPlane));
        }
    }

    /// <summary>
    /// <c>out[p, oh, ow] = (sum of in-range taps) / divisor</c> with PyTorch's divisor: <paramref name="divisorOverride"/> when
    /// positive; else, with <paramref name="countIncludePad"/>, the window clipped to the padded input
    /// <c>(min(h0+KH, H+padBottom) - h0) * (min(w0+KW, W+padRight) - w0)</c>; else the number of in-range taps.
    /// A window with no in-range tap gives 0. Dilation must be 1.
    /// </summary>
    public static void AvgForward(ReadOnlySpan<float> input, Span<float> output, in Pool2dGeometry g, bool countIncludePad, int divisorOverride)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(input.Length == planes * inPlane && output.Length == planes * outPlane && g.DilationH == 1 && g.DilationW == 1);
        var geo = g;
        ForEachPlane(input, inPlane, output, outPlane, planes, inPlane, (x, y) =>
        {
            for (int oh = 0; oh < geo.OutH; oh++)
            {
                for (int ow = 0; ow < geo.OutW; ow++)
                {
                    var win = AvgWindow(geo, oh, ow, countIncludePad, divisorOverride);
                    float sum = 0f;
                    for (int h = win.H0; h < win.H1; h++)
                        for (int w = win.W0; w < win.W1; w++)
                            sum += x[h * geo.W + w];
                    y[oh * geo.OutW + ow] = win.Divisor == 0 ? 0f : sum / win.Divisor;
                }
            }
        });
    }

    /// <summary><c>gradInput[p, h, w] += gradOutput[p, oh, ow] / divisor</c> for every in-range tap of every window (see <see cref="AvgForward"/>).</summary>
    public static void AvgBackward(ReadOnlySpan<float> gradOutput, Span<float> gradInput, in Pool2dGeometry g, bool countIncludePad, int divisorOverride)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(gradOutput.Length == planes * outPlane && gradInput.Length == planes * inPlane);
        var geo = g;
        ForEachPlane(gradOutput, outPlane, gradInput, inPlane, planes, inPlane, (gyp, gxp) =>
        {
            for (int oh = 0; oh < geo.OutH; oh++)
            {
                for (int ow = 0; ow < geo.OutW; ow++)
                {
                    var win = AvgWindow(geo, oh, ow, countIncludePad, divisorOverride);
                    if (win.Divisor == 0) continue;
                    float share = gyp[oh * geo.OutW + ow] / win.Divisor;
                    for (int h = win.H0; h < win.H1; h++)
                        for (int w = win.W0; w < win.W1; w++)
                            gxp[h * geo.W + w] += share;
                }
            }
        });
    }

    /// <summary>
    /// Lp pooling as PyTorch computes it (<c>avg_pool2d(x^p) * KH*KW</c>, then the 1/p power):
    /// <c>out = (scale * sum of x^p over in-range taps)^(1/p)</c> with <c>scale = KH*KW / divisor</c> and the divisor of
    /// <see cref="AvgForward"/> with countIncludePad. Full windows have scale 1; a ceil-mode window cut by the input's end
    /// is scaled up by kernel area / taps. Sums run in double.
    /// </summary>
    public static void LpForward(ReadOnlySpan<float> input, Span<float> output, in Pool2dGeometry g, double normType)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(input.Length == planes * inPlane && output.Length == planes * outPlane && normType > 0);
        var geo = g;
        ForEachPlane(input, inPlane, output, outPlane, planes, inPlane, (x, y) =>
        {
            for (int oh = 0; oh < geo.OutH; oh++)
            {
                for (int ow = 0; ow < geo.OutW; ow++)
                {
                    var win = AvgWindow(geo, oh, ow, countIncludePad: true, divisorOverride: 0);
                    double sum = 0;
                    for (int h = win.H0; h < win.H1; h++)
                        for (int w = win.W0; w < win.W1; w++)
                            sum += PowP(x[h * geo.W + w], normType);
                    double scaled = win.Divisor == 0 ? 0 : sum * ((double)geo.KH * geo.KW / win.Divisor);
                    y[oh * geo.OutW + ow] = (float)RootP(scaled, normType);
                }
            }
        });
    }

    /// <summary>
    /// <c>gradInput[tap] += gradOutput * scale * x^(p-1) * out^(1-p)</c> (the derivative of <see cref="LpForward"/>);
    /// a window whose output is 0 passes no gradient (the norm is not differentiable there; PyTorch yields NaN for p &gt; 1).
    /// </summary>
    public static void LpBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> gradOutput,
        Span<float> gradInput, in Pool2dGeometry g, double normType)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(input.Length == planes * inPlane && output.Length == planes * outPlane && gradOutput.Length == output.Length && gradInput.Length == input.Length);
        var geo = g;
        fixed (float* pIn = input, pOut = output, pGy = gradOutput, pGx = gradInput)
        {
            float* xp = pIn, yp = pOut, gy = pGy, gx = pGx;
            Parallelism.For(planes, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var x = new ReadOnlySpan<float>(xp + (long)p * inPlane, inPlane);
                    var y = new ReadOnlySpan<float>(yp + (long)p * outPlane, outPlane);
                    var gyp = new ReadOnlySpan<float>(gy + (long)p * outPlane, outPlane);
                    var gxp = new Span<float>(gx + (long)p * inPlane, inPlane);
                    for (int oh = 0; oh < geo.OutH; oh++)
                    {
                        for (int ow = 0; ow < geo.OutW; ow++)
                        {
                            int o = oh * geo.OutW + ow;
                            double yv = y[o];
                            var win = AvgWindow(geo, oh, ow, countIncludePad: true, divisorOverride: 0);
                            if (yv == 0 || win.Divisor == 0) continue;
                            double scale = (double)geo.KH * geo.KW / win.Divisor;
                            // d/dx_i (scale * sum x^p)^(1/p) = scale * x_i^(p-1) * out^(1-p)
                            double factor = gyp[o] * scale * (normType == 2 ? 1.0 / yv : Math.Pow(yv, 1 - normType));
                            for (int h = win.H0; h < win.H1; h++)
                            {
                                for (int w = win.W0; w < win.W1; w++)
                                {
                                    int i = h * geo.W + w;
                                    gxp[i] += (float)(factor * PowPMinus1(x[i], normType));
                                }
                            }
                        }
                    }
                }
            }, PlanesPerChunk(inPlane));
        }
    }

    private static double PowP(double v, double p) => p switch
    {
        1 => v,
        2 => v * v,
        _ => Math.Pow(v, p),
    };

    private static double PowPMinus1(double v, double p) => p switch
    {
        1 => 1,
        2 => v,
        _ => Math.Pow(v, p - 1),
    };

    private static double RootP(double v, double p) => p switch
    {
        1 => v,
        2 => Math.Sqrt(v),
        _ => Math.Pow(v, 1 / p),
    };

    /// <summary>Taps m in [first, end) of a dilated window starting at <paramref name="start"/> that fall inside [0, size).</summary>
    internal static (int First, int End) TapRange(int start, int dilation, int kernel, int size)
    {
        if (dilation == 1) // the common case, without the two integer divisions (they dominated the max-pool time)
        {
            int f = Math.Max(0, -start), e = Math.Min(kernel, size - start);
            return (f, Math.Max(f, e));
        }
        int first = start < 0 ? (-start + dilation - 1) / dilation : 0;
        int end = size - start <= 0 ? 0 : Math.Min(kernel, (size - start + dilation - 1) / dilation);
        return (first, Math.Max(first, end));
    }

    /// <summary>An average-pool window: in-range rows [H0, H1), columns [W0, W1), and its divisor (0 when the window is empty).</summary>
    private readonly record struct Window(int H0, int H1, int W0, int W1, int Divisor);

    // PyTorch's avg_pool2d window (aten/src/ATen/native/cpu/AvgPoolKernel.cpp): the end is clipped to the padded input
    // first, which fixes pool_size, and only then are both ends clipped to the input.
    private static Window AvgWindow(in Pool2dGeometry g, int oh, int ow, bool countIncludePad, int divisorOverride)
    {
        int h0 = oh * g.StrideH - g.PadTop, w0 = ow * g.StrideW - g.PadLeft;
        int h1 = Math.Min(h0 + g.KH, g.H + g.PadBottom), w1 = Math.Min(w0 + g.KW, g.W + g.PadRight);
        int poolSize = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0);
        w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, g.H);
        w1 = Math.Min(w1, g.W);
        if (h0 >= h1 || w0 >= w1) return new Window(0, 0, 0, 0, 0);
        int divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? poolSize : (h1 - h0) * (w1 - w0);
        return new Window(h0, h1, w0, w1, divisor);
    }
}
