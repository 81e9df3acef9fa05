using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
internal static unsafe class MaxPoolRowKernels
{
    /// <summary>Kernel 2 on 8-float vectors at <see cref="IsaLevel.V256"/> and above (branch-free: the scalar loop's
    /// data-dependent select mispredicts on real activations); false: the scalar loop everywhere. Same bits.</summary>
    internal static bool Vector { get; set; } = true;

    /// <summary>Whether <paramref name="g"/> is the height-1, stride = kernel, unpadded floor-mode case this kernel computes.</summary>
    public static bool Supports(in Pool2dGeometry g) =>
        g.H == 1 && g.KH == 1 && g.OutH == 1 && g.KW >= 2 && g.StrideW == g.KW && g.DilationW == 1
        && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0 && g.OutW == g.W / g.KW;

    /// <summary>Pools one row of <paramref name="x"/> into <paramref name="y"/> (OutW values) and their argmax indices.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardPlane(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int kernel, IsaLevel level)
    {
        int outW = y.Length;
        if (kernel == 2)
        {
            int o = 0;
            if (Vector && level >= IsaLevel.V256 && outW >= 8)
                fixed (float* px = x, py = y)
                fixed (int* pa = argmax)
                    o = PairsVector256(px, py, pa, outW);
            for (; o < outW; o++)
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

    /// <summary>
    /// Kernel 2 for the first multiple of 8 outputs: two loads hold 8 (a, b) pairs; as 64-bit lanes, a shift puts each
    /// b beside its a (low float); compare and select there, then narrowing the 64-bit lanes keeps the low floats, in
    /// order. Returns the outputs done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int PairsVector256(float* x, float* y, int* argmax, int outW)
    {
        var evens = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        var one = Vector256.Create(1u);
        int o = 0;
        for (; o + 8 <= outW; o += 8)
        {
            var v0 = Vector256.Load(x + 2 * o);
            var v1 = Vector256.Load(x + 2 * o + 8);
            var b0 = Vector256.ShiftRightLogical(v0.AsUInt64(), 32).AsSingle();
            var b1 = Vector256.ShiftRightLogical(v1.AsUInt64(), 32).AsSingle();
            // b wins when larger (ties keep a) or NaN (b != b): the scalar rule.
            var t0 = Vector256.GreaterThan(b0, v0) | ~Vector256.Equals(b0, b0);
            var t1 = Vector256.GreaterThan(b1, v1) | ~Vector256.Equals(b1, b1);
            var m0 = Vector256.ConditionalSelect(t0, b0, v0);
            var m1 = Vector256.ConditionalSelect(t1, b1, v1);
            Vector256.Narrow(m0.AsUInt64(), m1.AsUInt64()).AsSingle().Store(y + o);
            var take = Vector256.Narrow(t0.AsUInt64(), t1.AsUInt64()) & one;
            (Vector256.Create(2 * o) + evens + take.AsInt32()).Store(argmax + o);
        }
        return o;
    }
}
