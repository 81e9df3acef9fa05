using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels;

// Narrow last panels for the 8x32 Vector512 tile. An image of 7x7 = 49 pixels is one full 32-wide panel and a 17-wide
// one, 14x14 = 196 is six and a 4-wide one: run through the full kernel, the last panel costs as much as a full one
// (16 FMAs per k-step for 8-17 useful columns, 1.3x the work the 7x7 layers need). These kernels compute only what the
// edge needs, each output value by the same chain of fused multiply-adds in the same k order as the full tile
// (acc = fma(a[p·8 + r], b[p·ldb + j], acc) from zero), so the bits are those of the full kernel.
internal static unsafe partial class Gemm
{
    /// <summary>Whether the V512 drivers run narrow last panels through <see cref="EdgeTileV512"/>; false only in A/B measurements.</summary>
    internal static bool NarrowEdges { get; set; } = true;

    /// <summary>
    /// Columns [0, <paramref name="cols"/>) of the 8x32 Vector512 tile into <paramref name="tile"/> (row r at
    /// <c>tile + r·32</c>, overwritten), from the packed 8-row A panel and the packed 32-wide B panel
    /// (<c>b[p·32 + j]</c>), with exactly the bits of <see cref="MicroKernel"/>'s 8x32 kernel. Columns at and past
    /// <paramref name="cols"/> may be left unwritten. Returns false (writing nothing) when only the full kernel fits
    /// (18 or more columns) or <see cref="NarrowEdges"/> is off.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool EdgeTileV512(int kc, float* a, float* b, float* tile, int cols)
    {
        if (!NarrowEdges || cols > 17) return false;
        if (cols == 17) Tile8x17V512(kc, a, b, tile);
        else Tile8x16V512(kc, a, b, tile);
        return true;
    }

    /// <summary>
    /// Whether <see cref="PointwiseConv"/> runs a 17-column last panel (a 7x7 map's 49 = 32 + 17 pixels) through
    /// <see cref="StridedEdgeTileV512"/>, reading B in place, instead of first copying it zero-padded into a packed panel
    /// (default true; false only in A/B measurements: <c>onnx-plan-ab --switch strided-edge</c>).
    /// </summary>
    internal static bool StridedEdges { get; set; } = true;

    /// <summary>
    /// <see cref="EdgeTileV512"/>'s 17-column tile with B read in place (row p of the panel at <c>b + p·ldb</c>): the same
    /// values and fused multiply-adds in the same order, so the same bits, without packing the panel. Why: a 1x1 conv on a
    /// 7x7 map copied its 17-column edge (17 values and 15 zeros per input channel and KC slice, scalar) for every call; for
    /// the 960 → 160 projections at batch 1 that copy cost about as much as a sixth of the multiply-adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void StridedEdgeTileV512(int kc, float* a, float* b, nint ldb, float* tile) => Tile8x16PlusV512(kc, a, b, ldb, tile, column: true);

    /// <summary>The left half of the 8x32 tile: 8 zmm accumulators, one B vector and 8 broadcasts per k-step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8x16V512(int kc, float* a, float* b, float* tile) => Tile8x16PlusV512(kc, a, b, 32, tile, column: false);

    /// <summary>
    /// 16 columns as <see cref="Tile8x16V512"/> plus column 16, whose 8 rows are one ymm accumulator (the A panel's k-step
    /// is 8 contiguous floats, one per row, times the broadcast B value): the 7x7 maps' 49 = 32 + 17 pixels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile8x17V512(int kc, float* a, float* b, float* tile) => Tile8x16PlusV512(kc, a, b, 32, tile, column: true);

    /// <summary>The body of both narrow tiles; <paramref name="column"/> is a constant after inlining.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8x16PlusV512(int kc, float* a, float* b, nint ldb, float* tile, bool column)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector256<float> col = default;
        for (int p = 0; p < kc; p++, a += 8, b += ldb)
        {
            Vector512<float> b0 = Vector512.Load(b);
            if (column) col = Vector256.FusedMultiplyAdd(Vector256.Load(a), Vector256.Create(b[16]), col);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
        }
        c0.Store(tile);
        c1.Store(tile + 32);
        c2.Store(tile + 64);
        c3.Store(tile + 96);
        c4.Store(tile + 128);
        c5.Store(tile + 160);
        c6.Store(tile + 192);
        c7.Store(tile + 224);
        if (column)
        {
            for (int r = 0; r < 8; r++) tile[r * 32 + 16] = col.GetElement(r);
        }
    }
}
