using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels;

// Last panels of 1-4 columns for the 8x32 Vector512 tile, B read in place. A 7-row band of a 14x14 map is 98 = 3 x 32 + 2
// pixels and a whole 14x14 map 196 = 6 x 32 + 4: through the 16-wide narrow tile such an edge costs 8 FMAs per k-step
// and A panel for 2-4 useful columns (half the work of a full 32-column panel), plus packing kc x 32 floats of B.
// Here one ymm accumulator holds one column of one 8-row A panel (the A panel's k-step is 8 contiguous floats, times the
// broadcast B value), and four A panels run together so that 8-16 independent chains cover the FMA latency. Each output
// value is the same chain of fused multiply-adds in the same k order as in the full tile (acc = fma(a[p·8 + r],
// b[p·ldb + j], acc) from zero), so the bits are those of the full kernel.
internal static unsafe partial class Gemm
{
    /// <summary>Whether <see cref="PointwiseConv"/> runs last panels of 1-4 columns through <see cref="ThinEdgeV512"/>
    /// (default true); a switch for A/B benchmarks (<c>onnx-plan-ab --switch thin-edge</c>).</summary>
    internal static bool ThinEdges { get; set; } = true;

    /// <summary>The most columns <see cref="ThinEdgeV512"/> takes.</summary>
    internal const int ThinEdgeMaxCols = 4;

    /// <summary>
    /// Columns [0, <paramref name="cols"/>) (1-4) of <paramref name="panels"/> (1-4) consecutive 8-row A panels (panel i
    /// at <c>a + i·8·kc</c>) times B read in place (row p at <c>b + p·ldb</c>; only its first <paramref name="cols"/>
    /// columns are read) into <paramref name="tile"/>: row r of panel i at <c>tile + (i·8 + r)·32</c> (overwritten;
    /// columns at and past <paramref name="cols"/> are left unwritten). The bits of <see cref="MicroKernel"/>'s 8x32 kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ThinEdgeV512(int kc, float* a, float* b, nint ldb, float* tile, int panels, int cols)
    {
        if (panels == 4)
        {
            switch (cols)
            {
                case 1: Thin(kc, a, b, ldb, tile, four: true, cols: 1); break;
                case 2: Thin(kc, a, b, ldb, tile, four: true, cols: 2); break;
                case 3: Thin(kc, a, b, ldb, tile, four: true, cols: 3); break;
                default: Thin(kc, a, b, ldb, tile, four: true, cols: 4); break;
            }
            return;
        }
        for (int i = 0; i < panels; i++, a += 8 * kc, tile += 8 * 32)
        {
            switch (cols)
            {
                case 1: Thin(kc, a, b, ldb, tile, four: false, cols: 1); break;
                case 2: Thin(kc, a, b, ldb, tile, four: false, cols: 2); break;
                case 3: Thin(kc, a, b, ldb, tile, four: false, cols: 3); break;
                default: Thin(kc, a, b, ldb, tile, four: false, cols: 4); break;
            }
        }
    }

    /// <summary>The body: one or four A panels by <paramref name="cols"/> columns, both constants after inlining (the
    /// accumulators of absent panels and columns are dead code).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Thin(int kc, float* a, float* b, nint ldb, float* tile, bool four, int cols)
    {
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
        nint step = 8 * (nint)kc;
        for (int p = 0; p < kc; p++, a += 8, b += ldb)
        {
            Vector256<float> b0 = Vector256.Create(b[0]), b1 = default, b2 = default, b3 = default;
            if (cols > 1) b1 = Vector256.Create(b[1]);
            if (cols > 2) b2 = Vector256.Create(b[2]);
            if (cols > 3) b3 = Vector256.Create(b[3]);
            var a0 = Vector256.Load(a);
            c00 = Vector256.FusedMultiplyAdd(a0, b0, c00);
            if (cols > 1) c01 = Vector256.FusedMultiplyAdd(a0, b1, c01);
            if (cols > 2) c02 = Vector256.FusedMultiplyAdd(a0, b2, c02);
            if (cols > 3) c03 = Vector256.FusedMultiplyAdd(a0, b3, c03);
            if (!four) continue;
            var a1 = Vector256.Load(a + step);
            c10 = Vector256.FusedMultiplyAdd(a1, b0, c10);
            if (cols > 1) c11 = Vector256.FusedMultiplyAdd(a1, b1, c11);
            if (cols > 2) c12 = Vector256.FusedMultiplyAdd(a1, b2, c12);
            if (cols > 3) c13 = Vector256.FusedMultiplyAdd(a1, b3, c13);
            var a2 = Vector256.Load(a + 2 * step);
            c20 = Vector256.FusedMultiplyAdd(a2, b0, c20);
            if (cols > 1) c21 = Vector256.FusedMultiplyAdd(a2, b1, c21);
            if (cols > 2) c22 = Vector256.FusedMultiplyAdd(a2, b2, c22);
            if (cols > 3) c23 = Vector256.FusedMultiplyAdd(a2, b3, c23);
            var a3 = Vector256.Load(a + 3 * step);
            c30 = Vector256.FusedMultiplyAdd(a3, b0, c30);
            if (cols > 1) c31 = Vector256.FusedMultiplyAdd(a3, b1, c31);
            if (cols > 2) c32 = Vector256.FusedMultiplyAdd(a3, b2, c32);
            if (cols > 3) c33 = Vector256.FusedMultiplyAdd(a3, b3, c33);
        }
        StorePanel(tile, c00, c01, c02, c03, cols);
        if (!four) return;
        StorePanel(tile + 256, c10, c11, c12, c13, cols);
        StorePanel(tile + 512, c20, c21, c22, c23, cols);
        StorePanel(tile + 768, c30, c31, c32, c33, cols);
    }

    /// <summary>Column j of one panel's 8 rows (lane r: row r) to <c>tile[r·32 + j]</c>, for j below <paramref name="cols"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePanel(float* tile, Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3, int cols)
    {
        for (int r = 0; r < 8; r++)
        {
            float* row = tile + r * 32;
            row[0] = c0.GetElement(r);
            if (cols > 1) row[1] = c1.GetElement(r);
            if (cols > 2) row[2] = c2.GetElement(r);
            if (cols > 3) row[3] = c3.GetElement(r);
        }
    }
}
