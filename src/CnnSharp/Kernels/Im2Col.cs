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
internal static class Im2Col
{
    /// <summary>Fills <paramref name="col"/> (shape (Cg·KH·KW, OutH·OutW)) from <paramref name="image"/> (shape (Cg, H, W)).</summary>
    /// <param name="image">One image's channels of one group, shape (Cg, H, W).</param>
    /// <param name="col">Destination, shape (Cg·KH·KW, OutH·OutW); fully overwritten.</param>
    /// <param name="g">The convolution geometry (Cg = <see cref="Conv2dGeometry.CPerGroup"/>).</param>
    public static void Forward(ReadOnlySpan<float> image, Span<float> col, in Conv2dGeometry g)
    {
        int outW = g.OutW, p = g.OutH * g.OutW, plane = g.H * g.W;
        for (int c = 0; c < g.CPerGroup; c++)
        {
            var channel = image.Slice(c * plane, plane);
            for (int i = 0; i < g.KH; i++)
            {
                for (int j = 0; j < g.KW; j++)
                {
                    var dst = col.Slice(((c * g.KH + i) * g.KW + j) * p, p);
                    int iw0 = j * g.DilationW - g.PadLeft; // input column of output column 0
                    var (owLo, owHi) = ValidRange(iw0, g.StrideW, g.W, outW);
                    for (int oh = 0; oh < g.OutH; oh++)
                    {
                        var row = dst.Slice(oh * outW, outW);
                        int ih = oh * g.StrideH - g.PadTop + i * g.DilationH;
                        if ((uint)ih >= (uint)g.H || owLo >= owHi)
                        {
                            row.Clear();
                            continue;
                        }
                        row[..owLo].Clear();
                        row[owHi..].Clear();
                        var src = channel.Slice(ih * g.W, g.W);
                        if (g.StrideW == 1)
                        {
                            src.Slice(iw0 + owLo, owHi - owLo).CopyTo(row[owLo..owHi]);
                        }
                        else
                        {
                            for (int ow = owLo; ow < owHi; ow++) row[ow] = src[ow * g.StrideW + iw0];
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
    public static void BackwardAccumulate(ReadOnlySpan<float> col, Span<float> image, in Conv2dGeometry g)
    {
        int outW = g.OutW, p = g.OutH * g.OutW, plane = g.H * g.W;
        for (int c = 0; c < g.CPerGroup; c++)
        {
            var channel = image.Slice(c * plane, plane);
            for (int i = 0; i < g.KH; i++)
            {
                for (int j = 0; j < g.KW; j++)
                {
                    var srcTap = col.Slice(((c * g.KH + i) * g.KW + j) * p, p);
                    int iw0 = j * g.DilationW - g.PadLeft;
                    var (owLo, owHi) = ValidRange(iw0, g.StrideW, g.W, outW);
                    if (owLo >= owHi) continue;
                    for (int oh = 0; oh < g.OutH; oh++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + i * g.DilationH;
                        if ((uint)ih >= (uint)g.H) continue;
                        var row = srcTap.Slice(oh * outW, outW);
                        var dst = channel.Slice(ih * g.W, g.W);
                        if (g.StrideW == 1)
                        {
                            var d = dst.Slice(iw0 + owLo, owHi - owLo);
                            System.Numerics.Tensors.TensorPrimitives.Add(d, row[owLo..owHi], d);
                        }
                        else
                        {
                            for (int ow = owLo; ow < owHi; ow++) dst[ow * g.StrideW + iw0] += row[ow];
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
}
