using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels;

/// <summary>
/// 2x2 average pooling with stride 2, no padding and no dilation (LeNet's subsampling): per plane,
/// <c>y[oh, ow] = ((x[2oh, 2ow] + x[2oh+1, 2ow]) + (x[2oh, 2ow+1] + x[2oh+1, 2ow+1])) · 0.25</c>, an odd last row or
/// column of the input unread (floor mode); backward <c>dx[2oh+i, 2ow+j] += dy[oh, ow] · 0.25</c>.
/// </summary>
/// <remarks>
/// Each output row adds its two input rows with vectors at the requested <see cref="IsaLevel"/> (lane-wise adds, so
/// every level gives the same bits), then adds neighbouring column pairs. ×0.25 is exact, so the result equals the sum
/// divided by 4 (the eager kernel adds the taps in row-major order instead: the two agree within one rounding of a
/// 4-term sum). Planes are independent: any split over threads gives the same bits.
/// </remarks>
internal static class AvgPool2x2Kernels
{
    /// <summary>Widest input row handled (the row buffer lives on the stack).</summary>
    public const int MaxWidth = 4096;

    /// <summary>Whether <paramref name="g"/> is 2x2, stride 2, unpadded, undilated, floor-mode pooling of rows up to <see cref="MaxWidth"/>.</summary>
    public static bool Supports(in Pool2dGeometry g) =>
        g is { KH: 2, KW: 2, StrideH: 2, StrideW: 2, PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0, DilationH: 1, DilationW: 1 }
        && g.OutH == g.H / 2 && g.OutW == g.W / 2 && g.W <= MaxWidth;

    /// <summary>Forward over planes [<paramref name="p0"/>, <paramref name="p1"/>) of (planes, <paramref name="h"/>, <paramref name="w"/>) input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(IsaLevel level, ReadOnlySpan<float> x, Span<float> y, int h, int w, int p0, int p1)
    {
        int oh = h / 2, ow = w / 2, inPlane = h * w, outPlane = oh * ow;
        Span<float> row = stackalloc float[2 * ow];
        for (int p = p0; p < p1; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                int top = p * inPlane + 2 * i * w;
                AddRows(level, x.Slice(top, 2 * ow), x.Slice(top + w, 2 * ow), row);
                var yr = y.Slice(p * outPlane + i * ow, ow);
                for (int j = 0; j < yr.Length; j++) yr[j] = (row[2 * j] + row[2 * j + 1]) * 0.25f;
            }
        }
    }

    /// <summary>Backward over planes [<paramref name="p0"/>, <paramref name="p1"/>): accumulates into <paramref name="dx"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(IsaLevel level, ReadOnlySpan<float> dy, Span<float> dx, int h, int w, int p0, int p1)
    {
        int oh = h / 2, ow = w / 2, inPlane = h * w, outPlane = oh * ow;
        Span<float> row = stackalloc float[2 * ow];
        for (int p = p0; p < p1; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                var g = dy.Slice(p * outPlane + i * ow, ow);
                for (int j = 0; j < g.Length; j++) row[2 * j] = row[2 * j + 1] = g[j] * 0.25f;
                var top = dx.Slice(p * inPlane + 2 * i * w, 2 * ow);
                var bottom = dx.Slice(p * inPlane + (2 * i + 1) * w, 2 * ow);
                AddRows(level, top, row, top);
                AddRows(level, bottom, row, bottom);
            }
        }
    }

    // d[i] = a[i] + b[i] (d may be a): the widest vectors the level allows, then narrower, then scalar.
    private static void AddRows(IsaLevel level, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d)
    {
        ref float ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b), rd = ref MemoryMarshal.GetReference(d);
        int n = d.Length, i = 0;
        if (level >= IsaLevel.V512)
            for (; i <= n - 16; i += 16)
                (Vector512.LoadUnsafe(ref ra, (nuint)i) + Vector512.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        if (level >= IsaLevel.V256)
            for (; i <= n - 8; i += 8)
                (Vector256.LoadUnsafe(ref ra, (nuint)i) + Vector256.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        if (level >= IsaLevel.V128)
            for (; i <= n - 4; i += 4)
                (Vector128.LoadUnsafe(ref ra, (nuint)i) + Vector128.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) d[i] = a[i] + b[i];
    }
}
