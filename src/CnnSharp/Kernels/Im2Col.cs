using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels;

/// <summary>
/// im2col and its adjoint col2im for one image and one channel group: the lowering that turns a convolution into a GEMM.
/// </summary>
/// <remarks>
/// <para>The column matrix has <c>Cg·KH·KW</c> rows (one per weight tap, in the weight's own (c, i, j) order) and
/// <c>P = OutH·OutW</c> columns (one per output pixel):</para>
/// <para><c>col[(c·KH + i)·KW + j, oh·OutW + ow] = x[c, oh·sH − pT + i·dH, ow·sW − pL + j·dW]</c>, or 0 where that
/// position falls into the padding.</para>
/// <para>So the forward convolution of group g is <c>y_g (Kg×P) = W_g (Kg×CgKK) · col (CgKK×P)</c>. For each tap and
/// output row the valid output columns form one interval <c>[owLo, owHi)</c>, computed once per tap, so the inner loops
/// have no bounds tests: a contiguous copy when <c>sW = 1</c>, a strided gather otherwise, and zero fills for the padding.</para>
/// </remarks>
internal static unsafe class Im2Col
{
    /// <summary>Fills <paramref name="col"/> (shape (Cg·KH·KW, OutH·OutW)) from <paramref name="image"/> (shape (Cg, H, W)).</summary>
    /// <param name="image">One image's channels of one group, shape (Cg, H, W).</param>
    /// <param name="col">Destination, shape (Cg·KH·KW, OutH·OutW); fully overwritten.</param>
    /// <param name="g">The convolution geometry (Cg = <see cref="Conv2dGeometry.CPerGroup"/>).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(ReadOnlySpan<float> image, Span<float> col, in Conv2dGeometry g)
    {
        int outW = g.OutW, p = g.OutH * g.OutW, plane = g.H * g.W, sW = g.StrideW;
        if (image.Length < g.CPerGroup * plane || col.Length < g.CPerGroup * g.KH * g.KW * p)
            throw new ArgumentException("Im2Col: spans are shorter than the geometry needs");
        fixed (float* pImage = image, pCol = col)
        {
            float* dst = pCol;
            for (int c = 0; c < g.CPerGroup; c++)
            {
                float* channel = pImage + (nint)c * plane;
                for (int i = 0; i < g.KH; i++)
                {
                    for (int j = 0; j < g.KW; j++)
                    {
                        int iw0 = j * g.DilationW - g.PadLeft; // input column read by output column 0
                        var (owLo, owHi) = ValidRange(iw0, sW, g.W, outW);
                        for (int oh = 0; oh < g.OutH; oh++, dst += outW)
                        {
                            int ih = oh * g.StrideH - g.PadTop + i * g.DilationH;
                            if ((uint)ih >= (uint)g.H || owLo >= owHi)
                            {
                                Zero(dst, outW);
                                continue;
                            }
                            // [0, owLo) and [owHi, outW) read padding; [owLo, owHi) read the input row.
                            Zero(dst, owLo);
                            Zero(dst + owHi, outW - owHi);
                            float* src = channel + (nint)ih * g.W + iw0;
                            if (sW == 1) Copy(src + owLo, dst + owLo, owHi - owLo);
                            else for (int ow = owLo; ow < owHi; ow++) dst[ow] = src[(nint)ow * sW];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// col2im, the adjoint of <see cref="Forward"/>: adds every column entry back onto the input position it was copied
    /// from (<c>image[c, ih, iw] += col[...]</c>; entries that came from padding are dropped).
    /// </summary>
    /// <param name="col">Gradient of the column matrix, shape (Cg·KH·KW, OutH·OutW).</param>
    /// <param name="image">One image's channels of one group, shape (Cg, H, W); accumulated into.</param>
    /// <param name="g">The convolution geometry.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardAccumulate(ReadOnlySpan<float> col, Span<float> image, in Conv2dGeometry g)
    {
        int outW = g.OutW, p = g.OutH * g.OutW, plane = g.H * g.W, sW = g.StrideW;
        if (image.Length < g.CPerGroup * plane || col.Length < g.CPerGroup * g.KH * g.KW * p)
            throw new ArgumentException("Im2Col: spans are shorter than the geometry needs");
        fixed (float* pImage = image, pCol = col)
        {
            float* src = pCol;
            for (int c = 0; c < g.CPerGroup; c++)
            {
                float* channel = pImage + (nint)c * plane;
                for (int i = 0; i < g.KH; i++)
                {
                    for (int j = 0; j < g.KW; j++)
                    {
                        int iw0 = j * g.DilationW - g.PadLeft;
                        var (owLo, owHi) = ValidRange(iw0, sW, g.W, outW);
                        for (int oh = 0; oh < g.OutH; oh++, src += outW)
                        {
                            int ih = oh * g.StrideH - g.PadTop + i * g.DilationH;
                            if ((uint)ih >= (uint)g.H || owLo >= owHi) continue;
                            float* dst = channel + (nint)ih * g.W + iw0;
                            if (sW == 1) AddTo(src + owLo, dst + owLo, owHi - owLo);
                            else for (int ow = owLo; ow < owHi; ow++) dst[(nint)ow * sW] += src[ow];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The output columns <c>[lo, hi)</c> whose input column <c>ow·stride + iw0</c> lies in <c>[0, width)</c>, clipped to
    /// <c>[0, outW)</c>; empty (lo ≥ hi) when none does.
    /// </summary>
    internal static (int Lo, int Hi) ValidRange(int iw0, int stride, int width, int outW)
    {
        int lo = iw0 >= 0 ? 0 : (-iw0 + stride - 1) / stride;
        int last = width - 1 - iw0; // ow·stride ≤ last
        int hi = last < 0 ? 0 : last / stride + 1;
        lo = Math.Min(lo, outW);
        hi = Math.Clamp(hi, lo, outW);
        return (lo, hi);
    }

    // Rows here are short (often 7-28 floats), so these inline loops beat a call to a general memcpy/memset.
    // 8-lane vectors where the hardware has them; the scalar loops are the equivalent code.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* src, float* dst, int count)
    {
        if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            // Whole vectors, then one last vector ending exactly at count (it may overlap the previous one, which
            // rewrites a few equal values): no scalar tail.
            int k = 0;
            for (; k <= count - 8; k += 8) Vector256.Store(Vector256.Load(src + k), dst + k);
            if (k < count) Vector256.Store(Vector256.Load(src + count - 8), dst + count - 8);
            return;
        }
        for (int k = 0; k < count; k++) dst[k] = src[k];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTo(float* src, float* dst, int count)
    {
        int k = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; k <= count - 8; k += 8) Vector256.Store(Vector256.Load(dst + k) + Vector256.Load(src + k), dst + k);
        for (; k < count; k++) dst[k] += src[k];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(float* dst, int count)
    {
        if (Vector256.IsHardwareAccelerated && count >= 8)
        {
            int k = 0;
            for (; k <= count - 8; k += 8) Vector256.Store(Vector256<float>.Zero, dst + k);
            if (k < count) Vector256.Store(Vector256<float>.Zero, dst + count - 8);
            return;
        }
        for (int k = 0; k < count; k++) dst[k] = 0f;
    }
}
