using System.Diagnostics;
using System.Numerics.Tensors;

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

    /// <summary>
    /// <c>out[p, oh, ow] = max over in-range taps of in[p, h, w]</c>; <c>argmax[p, oh, ow] = h*W + w</c> of the first maximum
    /// in row-major tap order (PyTorch's tie rule); with NaN taps the output is NaN and the argmax the last NaN, as in PyTorch;
    /// -1 if the window has no in-range tap (then out = -inf).
    /// </summary>
    public static void MaxForward(ReadOnlySpan<float> input, Span<float> output, Span<int> argmax, in Pool2dGeometry g)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(input.Length == planes * inPlane && output.Length == planes * outPlane && argmax.Length == output.Length);
        var geo = g;
        fixed (float* pIn = input, pOut = output)
        fixed (int* pArg = argmax)
        {
            float* xp = pIn, yp = pOut;
            int* ap = pArg;
            Parallelism.For(planes, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    MaxForwardPlane(new ReadOnlySpan<float>(xp + (long)p * inPlane, inPlane),
                        new Span<float>(yp + (long)p * outPlane, outPlane), new Span<int>(ap + (long)p * outPlane, outPlane), geo);
                }
            }, PlanesPerChunk(inPlane));
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
                arg[oh * outW + ow] = bestIndex;
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
        fixed (float* pIn = input, pOut = output)
        {
            float* xp = pIn, yp = pOut;
            Parallelism.For(planes, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var x = new ReadOnlySpan<float>(xp + (long)p * inPlane, inPlane);
                    var y = new Span<float>(yp + (long)p * outPlane, outPlane);
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
                }
            }, PlanesPerChunk(inPlane));
        }
    }

    /// <summary><c>gradInput[p, h, w] += gradOutput[p, oh, ow] / divisor</c> for every in-range tap of every window (see <see cref="AvgForward"/>).</summary>
    public static void AvgBackward(ReadOnlySpan<float> gradOutput, Span<float> gradInput, in Pool2dGeometry g, bool countIncludePad, int divisorOverride)
    {
        int inPlane = g.H * g.W, outPlane = g.OutH * g.OutW, planes = g.Planes;
        Debug.Assert(gradOutput.Length == planes * outPlane && gradInput.Length == planes * inPlane);
        var geo = g;
        fixed (float* pGy = gradOutput, pGx = gradInput)
        {
            float* gy = pGy, gx = pGx;
            Parallelism.For(planes, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var gyp = new ReadOnlySpan<float>(gy + (long)p * outPlane, outPlane);
                    var gxp = new Span<float>(gx + (long)p * inPlane, inPlane);
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
                }
            }, PlanesPerChunk(inPlane));
        }
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
        fixed (float* pIn = input, pOut = output)
        {
            float* xp = pIn, yp = pOut;
            Parallelism.For(planes, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var x = new ReadOnlySpan<float>(xp + (long)p * inPlane, inPlane);
                    var y = new Span<float>(yp + (long)p * outPlane, outPlane);
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
                }
            }, PlanesPerChunk(inPlane));
        }
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
