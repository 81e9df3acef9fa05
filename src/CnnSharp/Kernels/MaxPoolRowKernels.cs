using System.Runtime.CompilerServices;

namespace CnnSharp.Kernels;

/// <summary>
/// Max pooling of height-1 planes (a 1-D max pool: <c>MaxPool1d(k)</c> on (N, C, L) viewed as (N, C, 1, L)) with
/// non-overlapping windows (stride = kernel), no padding or dilation, with the argmax kept for backward: one plane per
/// call, a straight loop instead of the general kernel's per-output window bookkeeping.
/// </summary>
/// <remarks>
/// <c>y[o] = max(x[k·o], …, x[k·o + k − 1])</c> for o &lt; OutW (floor mode: a last partial window is dropped). PyTorch's
/// rule, as <see cref="Pool2dKernels.MaxForward(ReadOnlySpan{float}, Span{float}, Span{int}, in Pool2dGeometry)"/>: the
/// first maximum on ties, and a NaN wins over any number (the last NaN when there are several); <c>argmax</c> holds the
/// plane-relative index of the chosen element, as <see cref="Pool2dKernels.MaxBackward"/> expects.
/// </remarks>
internal static class MaxPoolRowKernels
{
    /// <summary>Whether <paramref name="g"/> is the height-1, stride = kernel, unpadded floor-mode case this kernel computes.</summary>
    public static bool Supports(in Pool2dGeometry g) =>
        g.H == 1 && g.KH == 1 && g.OutH == 1 && g.KW >= 2 && g.StrideW == g.KW && g.DilationW == 1
        && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0 && g.OutW == g.W / g.KW;

    /// <summary>Pools one row of <paramref name="x"/> into <paramref name="y"/> (OutW values) and their argmax indices.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPlane(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int kernel)
    {
        int outW = y.Length;
        if (kernel == 2)
        {
            for (int o = 0; o < outW; o++)
            {
                float a = x[2 * o], b = x[2 * o + 1];
                // b wins only when larger (ties keep the first) or NaN (the last NaN wins).
                bool take = b > a || float.IsNaN(b);
                y[o] = take ? b : a;
                argmax[o] = 2 * o + (take ? 1 : 0);
            }
            return;
        }
        for (int o = 0; o < outW; o++)
        {
            int start = o * kernel, best = start;
            float value = x[start];
            for (int i = start + 1; i < start + kernel; i++)
            {
                float v = x[i];
                bool take = v > value || float.IsNaN(v);
                best = take ? i : best;
                value = take ? v : value;
            }
            y[o] = value;
            argmax[o] = best;
        }
    }
}
