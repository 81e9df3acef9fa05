using System.Runtime.CompilerServices;

namespace CnnSharp.Kernels;

/// <summary>
/// Max pooling with a 2x2 window and stride 2, no padding or dilation (the CNN workhorse), with the argmax kept for
/// backward: one plane per call, a straight loop instead of the general kernel's window bookkeeping.
/// </summary>
/// <remarks>
/// <c>y[oh, ow] = max(x[2oh, 2ow], x[2oh, 2ow+1], x[2oh+1, 2ow], x[2oh+1, 2ow+1])</c> for oh &lt; OutH, ow &lt; OutW (floor
/// mode: a last odd row or column is dropped). PyTorch's rule picks the first maximum in row-major window order, and a
/// NaN wins over any number (the last NaN when there are several); <c>argmax</c> holds the plane-relative index
/// <c>h·W + w</c> of the chosen element, as <see cref="Pool2dKernels.MaxBackward"/> expects.
/// </remarks>
internal static class MaxPool2x2Kernels
{
    /// <summary>Whether <paramref name="g"/> is the 2x2/2 unpadded floor-mode case this kernel computes.</summary>
    public static bool Supports(in Pool2dGeometry g) =>
        g.KH == 2 && g.KW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0
        && g.DilationH == 1 && g.DilationW == 1 && g.OutH == g.H / 2 && g.OutW == g.W / 2;

    /// <summary>Pools one (H, W) plane into (OutH, OutW) values and their argmax indices.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPlane(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int w, int outH, int outW)
    {
        for (int oh = 0; oh < outH; oh++)
        {
            int r0 = 2 * oh * w, r1 = r0 + w, o = oh * outW;
            for (int ow = 0; ow < outW; ow++)
            {
                int i = r0 + 2 * ow, best = i;
                float v = x[i];
                float a = x[i + 1], b = x[r1 + 2 * ow], c = x[r1 + 2 * ow + 1];
                if (a > v || float.IsNaN(a)) { v = a; best = i + 1; }
                if (b > v || float.IsNaN(b)) { v = b; best = r1 + 2 * ow; }
                if (c > v || float.IsNaN(c)) { v = c; best = r1 + 2 * ow + 1; }
                y[o + ow] = v;
                argmax[o + ow] = best;
            }
        }
    }
}
