using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels;

// The register-blocked micro-kernels of Gemm: each multiplies one packed MR x kc micro-panel of A
// (a[p*MR + r]) by one packed kc x NR micro-panel of B (b[p*NR + j]) and writes the MR x NR tile to
// c[r*ldc + j], adding to what is there when accumulate is true. The tile lives in named locals so the JIT
// keeps every accumulator in a register for the whole k loop (arrays or spans would spill).
// Each tile has one body (TileMxN) that reads row p of B at b + p*ldb: the packed kernels pass ldb = NR (a constant the
// JIT folds after inlining), the strided kernels of PointwiseConv pass the image's plane size, reading B in place.
// Vector512/Vector256.FusedMultiplyAdd compile to vfmadd231ps where the hardware has it; elsewhere they
// fall back to software, which is slow but exact, so tests can run every path on any CPU.
internal static unsafe partial class Gemm
{
    /// <summary>
    /// The micro-kernel of <paramref name="level"/> and its register tile (MR rows of C from MR-tall packed A panels, NR
    /// columns from NR-wide packed B panels), for drivers that pack their own operands (the packed convolution).
    /// </summary>
    internal static delegate*<int, float*, float*, float*, nint, bool, void> MicroKernel(IsaLevel level, out int mr, out int nr)
    {
        switch (level)
        {
            case IsaLevel.V512:
                (mr, nr) = (8, 32);
                return &Kernel8x32V512;
            case IsaLevel.V256:
                (mr, nr) = (6, 16);
                return &Kernel6x16V256;
            default:
                (mr, nr) = (4, 4);
                return &Kernel4x4Scalar;
        }
    }

    /// <summary>
    /// The micro-kernel of <paramref name="level"/> with B read in place (row p of the panel at <c>b + p·ldb</c>), same
    /// tile and accumulation order as <see cref="MicroKernel"/>'s; for <see cref="PointwiseConv"/>.
    /// </summary>
    internal static delegate*<int, float*, float*, nint, float*, nint, bool, void> StridedMicroKernel(IsaLevel level) => level switch
    {
        IsaLevel.V512 => &StridedKernel8x32V512,
        IsaLevel.V256 => &StridedKernel6x16V256,
        _ => &StridedKernel4x4Scalar,
    };

    /// <summary>
    /// 8x32 tile with Vector512 (16 lanes): 16 zmm accumulators <c>cR0</c>, <c>cR1</c> hold C[r, 0..15] and C[r, 16..31].
    /// Per k-step: load the two B vectors, broadcast each of the 8 A values, 16 FMAs. Scalar equivalent:
    /// <c>for p, r, j: acc[r, j] += a[p*8 + r] * b[p*32 + j]</c>; then <c>c[r*ldc + j] = (accumulate ? c : 0) + acc</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x32V512(int kc, float* a, float* b, float* c, nint ldc, bool accumulate) => Tile8x32V512(kc, a, b, 32, c, ldc, accumulate);

    /// <summary>As <see cref="Kernel8x32V512"/> with row p of B at <c>b + p·ldb</c> (B read in place).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StridedKernel8x32V512(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate) => Tile8x32V512(kc, a, b, ldb, c, ldc, accumulate);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8x32V512(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate) =>
        Tile8x32V512(kc, a, b, ldb, c, ldc, accumulate, null);

    /// <summary>The 8x32 Vector512 tile; with <paramref name="epilogue"/> (not null: then <paramref name="accumulate"/> is
    /// false) the tile gets ConvGemm's epilogue in registers before its one store (<see cref="StoreEpilogue512"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8x32V512(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate, TileEpilogue* epilogue)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            Vector512<float> ar;
            ar = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(ar, b0, c00); c01 = Vector512.FusedMultiplyAdd(ar, b1, c01);
            ar = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(ar, b0, c10); c11 = Vector512.FusedMultiplyAdd(ar, b1, c11);
            ar = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(ar, b0, c20); c21 = Vector512.FusedMultiplyAdd(ar, b1, c21);
            ar = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(ar, b0, c30); c31 = Vector512.FusedMultiplyAdd(ar, b1, c31);
            ar = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(ar, b0, c40); c41 = Vector512.FusedMultiplyAdd(ar, b1, c41);
            ar = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(ar, b0, c50); c51 = Vector512.FusedMultiplyAdd(ar, b1, c51);
            ar = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(ar, b0, c60); c61 = Vector512.FusedMultiplyAdd(ar, b1, c61);
            ar = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(ar, b0, c70); c71 = Vector512.FusedMultiplyAdd(ar, b1, c71);
            a += 8;
            b += ldb;
        }
        if (epilogue is not null)
        {
            StoreEpilogue512x8(c, ldc, epilogue, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71);
            return;
        }
        Store512(c + 0 * ldc, c00, c01, accumulate);
        Store512(c + 1 * ldc, c10, c11, accumulate);
        Store512(c + 2 * ldc, c20, c21, accumulate);
        Store512(c + 3 * ldc, c30, c31, accumulate);
        Store512(c + 4 * ldc, c40, c41, accumulate);
        Store512(c + 5 * ldc, c50, c51, accumulate);
        Store512(c + 6 * ldc, c60, c61, accumulate);
        Store512(c + 7 * ldc, c70, c71, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector512.Load(c);
            v1 += Vector512.Load(c + 16);
        }
        v0.Store(c);
        v1.Store(c + 16);
    }

    /// <summary>
    /// 6x16 tile with Vector256 (8 lanes): 12 ymm accumulators <c>cR0</c>, <c>cR1</c> hold C[r, 0..7] and C[r, 8..15];
    /// with the two B vectors and one broadcast that is 15 of AVX2's 16 registers. Scalar equivalent as for 8x32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16V256(int kc, float* a, float* b, float* c, nint ldc, bool accumulate) => Tile6x16V256(kc, a, b, 16, c, ldc, accumulate);

    /// <summary>As <see cref="Kernel6x16V256"/> with row p of B at <c>b + p·ldb</c> (B read in place).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StridedKernel6x16V256(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate) => Tile6x16V256(kc, a, b, ldb, c, ldc, accumulate);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile6x16V256(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            Vector256<float> ar;
            ar = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(ar, b0, c00); c01 = Vector256.FusedMultiplyAdd(ar, b1, c01);
            ar = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(ar, b0, c10); c11 = Vector256.FusedMultiplyAdd(ar, b1, c11);
            ar = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(ar, b0, c20); c21 = Vector256.FusedMultiplyAdd(ar, b1, c21);
            ar = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(ar, b0, c30); c31 = Vector256.FusedMultiplyAdd(ar, b1, c31);
            ar = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(ar, b0, c40); c41 = Vector256.FusedMultiplyAdd(ar, b1, c41);
            ar = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(ar, b0, c50); c51 = Vector256.FusedMultiplyAdd(ar, b1, c51);
            a += 6;
            b += ldb;
        }
        Store256(c + 0 * ldc, c00, c01, accumulate);
        Store256(c + 1 * ldc, c10, c11, accumulate);
        Store256(c + 2 * ldc, c20, c21, accumulate);
        Store256(c + 3 * ldc, c30, c31, accumulate);
        Store256(c + 4 * ldc, c40, c41, accumulate);
        Store256(c + 5 * ldc, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> v0, Vector256<float> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector256.Load(c);
            v1 += Vector256.Load(c + 8);
        }
        v0.Store(c);
        v1.Store(c + 8);
    }

    /// <summary>4x4 tile in 16 scalar locals: the portable fallback, and the plainest statement of what the tile computes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4x4Scalar(int kc, float* a, float* b, float* c, nint ldc, bool accumulate) => Tile4x4Scalar(kc, a, b, 4, c, ldc, accumulate);

    /// <summary>As <see cref="Kernel4x4Scalar"/> with row p of B at <c>b + p·ldb</c> (B read in place).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StridedKernel4x4Scalar(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate) => Tile4x4Scalar(kc, a, b, ldb, c, ldc, accumulate);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x4Scalar(int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool accumulate)
    {
        float c00 = 0f, c01 = 0f, c02 = 0f, c03 = 0f, c10 = 0f, c11 = 0f, c12 = 0f, c13 = 0f, c20 = 0f, c21 = 0f, c22 = 0f, c23 = 0f, c30 = 0f, c31 = 0f, c32 = 0f, c33 = 0f;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float ar;
            ar = a[0]; c00 += ar * b0; c01 += ar * b1; c02 += ar * b2; c03 += ar * b3;
            ar = a[1]; c10 += ar * b0; c11 += ar * b1; c12 += ar * b2; c13 += ar * b3;
            ar = a[2]; c20 += ar * b0; c21 += ar * b1; c22 += ar * b2; c23 += ar * b3;
            ar = a[3]; c30 += ar * b0; c31 += ar * b1; c32 += ar * b2; c33 += ar * b3;
            a += 4;
            b += ldb;
        }
        StoreScalar(c + 0 * ldc, c00, c01, c02, c03, accumulate);
        StoreScalar(c + 1 * ldc, c10, c11, c12, c13, accumulate);
        StoreScalar(c + 2 * ldc, c20, c21, c22, c23, accumulate);
        StoreScalar(c + 3 * ldc, c30, c31, c32, c33, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreScalar(float* c, float v0, float v1, float v2, float v3, bool accumulate)
    {
        if (accumulate)
        {
            c[0] += v0; c[1] += v1; c[2] += v2; c[3] += v3;
        }
        else
        {
            c[0] = v0; c[1] = v1; c[2] = v2; c[3] = v3;
        }
    }
}
