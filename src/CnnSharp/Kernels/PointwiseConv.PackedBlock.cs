using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels;

// PointwiseConv.Block with B packed: for the 1x1 GEMMs inside ExpandDepthwise's bands, whose B (x's rows, or the band's
// depthwise output) has many row panels of weights to serve.
internal static unsafe partial class PointwiseConv
{
    /// <summary>
    /// <see cref="Block"/> with each KC slice of B (kc rows by the block's pixels) first copied into NR-wide packed
    /// panels (<c>b[p·NR + j]</c>, the last zero-padded), then multiplied by the ordinary packed micro-kernel. Same
    /// arguments, same tiles, same KC slices and the same chain of fused multiply-adds per output value as
    /// <see cref="Block"/> (the packed and strided kernels share one tile body), so the same bits.
    /// </summary>
    /// <remarks>Why: read in place, every k-step of the strided kernel loads two vectors from a different row of B (a
    /// different page for a 56x56 plane, a cache-line split for pitches that are not a multiple of 16 floats, as 14x14's
    /// 196 and 7x7's 49), once per MR-row panel of weights; the expansion of MobileNet-v2's blocks has 12-120 such
    /// panels, the projection 2-40. Packed, B is read strided once per slice and then contiguously from L1.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackedBlock(PackedConvWeights weights, float* x, nint ldx, float* y, nint ldy, float* res, float* bias,
        int q0, int q1, int m0, int m1, bool relu, float max)
    {
        if (q0 >= q1 || m0 >= m1) return;
        var blk = weights.Blocking;
        var packed = Gemm.MicroKernel(weights.Level, out int mr, out int nr);
        int c = weights.CPerGroup, rowsPadded = weights.RowsPadded;
        int kcMax = Math.Min(blk.KC, c), ncMax = Math.Min(blk.NC, (q1 - q0 + nr - 1) / nr * nr);
        float* bPack = Scratch.Get(Scratch.Slot.GemmPackB, (nint)kcMax * ncMax + mr * nr);
        float* tile = bPack + (nint)kcMax * ncMax;
        bool epilogue = bias is not null || relu || res is not null || max < float.PositiveInfinity;
        for (int jc = q0; jc < q1; jc += blk.NC)
        {
            int nc = Math.Min(blk.NC, q1 - jc);
            int edgeCols = nc % nr, fullEnd = jc + nc - edgeCols;
            for (int pc = 0; pc < c; pc += blk.KC)
            {
                int kc = Math.Min(blk.KC, c - pc);
                bool first = pc == 0, last = pc + kc == c;
                float* wSlice = weights.Pointer + (nint)pc * rowsPadded;
                PackSlice(x + pc * ldx + jc, ldx, nc, kc, nr, bPack);
                for (int ic = m0; ic < m1; ic += blk.MC)
                {
                    int icEnd = Math.Min(ic + blk.MC, m1);
                    for (int jr = jc; jr < jc + nc; jr += nr)
                    {
                        bool full = jr < fullEnd;
                        int cols = full ? nr : edgeCols;
                        float* bPanel = bPack + (nint)(jr - jc) * kc;
                        for (int ir = ic; ir < icEnd; ir += mr)
                        {
                            int rows = Math.Min(mr, icEnd - ir);
                            float* aPanel = wSlice + (nint)ir * kc;
                            nint at = ir * ldy + jr;
                            float* bRow = bias is null ? null : bias + ir;
                            float* rTile = res is null ? null : res + at;
                            if (full && rows == mr)
                            {
                                packed(kc, aPanel, bPanel, y + at, ldy, !first);
                                if (last && epilogue) ConvGemm.Epilogue(y + at, ldy, mr, nr, bRow, rTile, relu, max);
                            }
                            else
                            {
                                if (full || !(nr == 32 && mr == 8 && Gemm.EdgeTileV512(kc, aPanel, bPanel, tile, cols))) packed(kc, aPanel, bPanel, tile, nr, false);
                                StoreEdge(tile, nr, y + at, ldy, rows, cols, !first, last ? bRow : null, last ? rTile : null,
                                    last && relu, last ? max : float.PositiveInfinity);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Copies kc rows of <paramref name="cols"/> columns (row r at <c>src + r·ld</c>) into NR-wide panels, panel j at
    /// <c>dst + j·kc·NR</c> with row r at offset r·NR; the last panel zero beyond the columns.
    /// </summary>
    private static void PackSlice(float* src, nint ld, int cols, int kc, int nr, float* dst)
    {
        int full = cols / nr, edge = cols - full * nr;
        nint panel = (nint)kc * nr;
        for (int r = 0; r < kc; r++)
        {
            float* s = src + r * ld;
            float* d = dst + (nint)r * nr;
            if (nr == 32 && Vector512.IsHardwareAccelerated)
            {
                for (int j = 0; j < full; j++, s += 32, d += panel)
                {
                    Vector512.Load(s).Store(d);
                    Vector512.Load(s + 16).Store(d + 16);
                }
            }
            else if (nr == 16 && Vector256.IsHardwareAccelerated)
            {
                for (int j = 0; j < full; j++, s += 16, d += panel)
                {
                    Vector256.Load(s).Store(d);
                    Vector256.Load(s + 8).Store(d + 8);
                }
            }
            else
            {
                for (int j = 0; j < full; j++, s += nr, d += panel)
                    for (int i = 0; i < nr; i++) d[i] = s[i];
            }
            if (edge > 0)
            {
                int i = 0;
                for (; i < edge; i++) d[i] = s[i];
                for (; i < nr; i++) d[i] = 0f;
            }
        }
    }
}
