using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace CnnSharp.Kernels;

/// <summary>
/// Single-precision matrix multiplication <c>C = op(A)·op(B)</c> or <c>C += op(A)·op(B)</c> on row-major operands, where
/// op(X) is X or Xᵀ: the engine under convolution (im2col) and linear layers.
/// </summary>
/// <remarks>
/// <para>Layouts (all row-major with explicit leading dimensions, i.e. row strides):</para>
/// <list type="bullet">
/// <item>op(A) is M×K: <c>A[i*lda + p]</c> without transpose, <c>A[p*lda + i]</c> with <c>transA</c> (A stored K×M).</item>
/// <item>op(B) is K×N: <c>B[p*ldb + j]</c> without transpose, <c>B[j*ldb + p]</c> with <c>transB</c> (B stored N×K).</item>
/// <item>C is M×N: <c>C[i*ldc + j] (+)= Σ_p op(A)[i,p]·op(B)[p,j]</c>.</item>
/// </list>
/// <para>Algorithm (Goto/BLIS): loop over NC-wide column panels of B and KC-deep slices of K; pack the KC×NC panel of
/// op(B) into NR-wide micro-panels (k-major, zero-padded); for each MC-tall row block pack the MC×KC block of op(A) into
/// MR-tall micro-panels; then an MR×NR register-blocked micro-kernel (Gemm.Microkernel.cs: 8×32 with Vector512, 6×16
/// with Vector256, 4×4 scalar; chosen by <see cref="Isa.Level"/>) multiplies one
/// A micro-panel by one B micro-panel, holding the C tile in registers for the whole KC loop. The B micro-panel stays in
/// L1 across the row tiles, the packed A block in L2, the B panel in L3. Edge tiles are computed into a scratch tile and
/// only their valid part is written. When <c>accumulate</c> is false, C is never read (it may hold garbage or NaN).
/// Transposed operands are packed through 8×8 AVX register transposes where the CPU has AVX.</para>
/// <para>Large problems are split over threads along the longer of M and N (in whole micro-tiles, static contiguous
/// chunks, each with its own packing buffers); each thread writes a disjoint part of C, so the result does not depend on
/// the thread count.</para>
/// </remarks>
internal static unsafe partial class Gemm
{
    /// <summary>Below this many multiply-adds a GEMM stays on the calling thread (a parallel region costs ~5-10 µs).</summary>
    private const long ParallelThresholdMacs = 1L << 20;

    /// <summary><c>C (+)= op(A)·op(B)</c> at the process's <see cref="Isa.Level"/>; see the class remarks for the layouts.</summary>
    /// <param name="transA">Whether A is stored K×M (use its transpose).</param>
    /// <param name="transB">Whether B is stored N×K (use its transpose).</param>
    /// <param name="m">Rows of C and op(A).</param>
    /// <param name="n">Columns of C and op(B).</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="a">A's elements, row stride <paramref name="lda"/>.</param>
    /// <param name="lda">Row stride of A as stored (≥ K, or ≥ M when transposed).</param>
    /// <param name="b">B's elements, row stride <paramref name="ldb"/>.</param>
    /// <param name="ldb">Row stride of B as stored (≥ N, or ≥ K when transposed).</param>
    /// <param name="c">C's elements, row stride <paramref name="ldc"/> ≥ N.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="accumulate">Add into C (true) or overwrite it (false).</param>
    /// <param name="parallel">Allow splitting a large product over <see cref="Parallelism.MaxThreads"/> threads.</param>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, bool parallel = true) =>
        Multiply(Isa.Level, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel);

    /// <summary>As the other overload, with an explicit SIMD <paramref name="level"/> (tests run every path this way).</summary>
    internal static void Multiply(IsaLevel level, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, bool parallel = true)
    {
        // The micro-kernels read and write through raw pointers, so the extents are checked here, once, in O(1).
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"Gemm: negative size m={m}, n={n}, k={k}");
        if (m == 0 || n == 0) return;
        CheckExtent(a.Length, transA ? k : m, transA ? m : k, lda, nameof(a));
        CheckExtent(b.Length, transB ? n : k, transB ? k : n, ldb, nameof(b));
        CheckExtent(c.Length, m, n, ldc, nameof(c));
        if (k == 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }
        fixed (float* pa = a, pb = b, pc = c)
        {
            var op = new Operands(pa, lda, transA, pb, ldb, transB, pc, ldc);
            int threads = parallel ? Parallelism.MaxThreads : 1;
            if (threads > 1 && (long)m * n * k >= ParallelThresholdMacs)
                MultiplyParallel(level, threads, m, n, k, op, accumulate);
            else
                MultiplySequential(level, m, n, k, op, accumulate);
        }
    }

    private static void CheckExtent(int length, int rows, int cols, int ld, string name)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols || (long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"Gemm: operand {name} holds {length} values, too few for {rows}x{cols} with row stride {ld}", name);
    }

    /// <summary>The three operands as pinned pointers with their strides and transpose flags.</summary>
    private readonly struct Operands(float* a, int lda, bool transA, float* b, int ldb, bool transB, float* c, int ldc)
    {
        public readonly float* A = a, B = b, C = c;
        public readonly int Lda = lda, Ldb = ldb, Ldc = ldc;
        public readonly bool TransA = transA, TransB = transB;

        /// <summary>The sub-problem starting at row <paramref name="i0"/> and column <paramref name="j0"/> of C.</summary>
        public Operands Offset(int i0, int j0) => new(
            A + (TransA ? i0 : (nint)i0 * Lda), Lda, TransA,
            B + (TransB ? (nint)j0 * Ldb : j0), Ldb, TransB,
            C + (nint)i0 * Ldc + j0, Ldc);
    }

    /// <summary>Register tile (MR×NR) and cache blocks (MC, KC, NC) of one SIMD level; MC is a multiple of MR, NC of NR.</summary>
    private readonly record struct Blocking(int MR, int NR, int MC, int KC, int NC);

    private static Blocking BlockingFor(IsaLevel level) => level switch
    {
        // 8x32: 16 zmm accumulators, 2 B loads + 8 broadcasts per 16 FMAs; M = 16/32/64 channel counts tile exactly.
        // KC 192: the 24 KB B micro-panel stays in L1 while A micro-panels stream from the 96 KB A block in L2.
        IsaLevel.V512 => new Blocking(8, 32, 96, 192, 2048),
        // 6x16: 12 ymm accumulators + 2 B vectors + 1 broadcast fill the 16 ymm registers of AVX2.
        IsaLevel.V256 => new Blocking(6, 16, 96, 256, 1024),
        _ => new Blocking(4, 4, 64, 128, 256),
    };

    private static void MultiplyParallel(IsaLevel level, int threads, int m, int n, int k, Operands op, bool accumulate)
    {
        var blk = BlockingFor(level);
        bool splitM = (long)m * blk.NR >= (long)n * blk.MR; // the dimension with more micro-tiles
        int unit = splitM ? blk.MR : blk.NR;
        int tiles = ((splitM ? m : n) + unit - 1) / unit;
        if (tiles < 2)
        {
            MultiplySequential(level, m, n, k, op, accumulate);
            return;
        }
        var job = ParallelJob.Current;
        (job.Level, job.M, job.N, job.K, job.Op, job.Accumulate, job.SplitM, job.Unit) = (level, m, n, k, op, accumulate, splitM, unit);
        Parallelism.For(tiles, job.Tiles);
    }

    /// <summary>
    /// One parallel product's operands for the tile bodies, one per thread and reused (a product never starts another
    /// parallel product on its own thread), the body a delegate made once: a parallel product allocates nothing.
    /// </summary>
    private sealed class ParallelJob
    {
        [ThreadStatic] private static ParallelJob? t_current;
        public IsaLevel Level;
        public int M, N, K, Unit;
        public Operands Op;
        public bool Accumulate, SplitM;

        private ParallelJob() => Tiles = (t0, t1) =>
        {
            int start = t0 * Unit, end = Math.Min(t1 * Unit, SplitM ? M : N);
            if (SplitM) MultiplySequential(Level, end - start, N, K, Op.Offset(start, 0), Accumulate);
            else MultiplySequential(Level, M, end - start, K, Op.Offset(0, start), Accumulate);
        };

        /// <summary>This thread's job.</summary>
        public static ParallelJob Current => t_current ??= new ParallelJob();

        /// <summary>The product over tiles [t0, t1).</summary>
        public Action<int, int> Tiles { get; }
    }

    /// <summary>The five-loop blocked product on the calling thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplySequential(IsaLevel level, int m, int n, int k, Operands op, bool accumulate)
    {
        var blk = BlockingFor(level);
        delegate*<int, float*, float*, float*, nint, bool, void> kernel = level switch
        {
            IsaLevel.V512 => &Kernel8x32V512,
            IsaLevel.V256 => &Kernel6x16V256,
            _ => &Kernel4x4Scalar,
        };
        int kcMax = Math.Min(blk.KC, k);
        int mcMax = Math.Min(blk.MC, RoundUp(m, blk.MR));
        int ncMax = Math.Min(blk.NC, RoundUp(n, blk.NR));
        float* packA = Scratch.Get(Scratch.Slot.GemmPackA, (nint)mcMax * kcMax);
        float* packB = Scratch.Get(Scratch.Slot.GemmPackB, (nint)kcMax * ncMax);
        float* tile = stackalloc float[blk.MR * blk.NR];

        for (int jc = 0; jc < n; jc += blk.NC)
        {
            int nc = Math.Min(blk.NC, n - jc);
            for (int pc = 0; pc < k; pc += blk.KC)
            {
                int kc = Math.Min(blk.KC, k - pc);
                PackB(op, pc, jc, kc, nc, blk.NR, packB);
                bool acc = accumulate || pc > 0; // later K slices always add to the partial sums already in C
                for (int ic = 0; ic < m; ic += blk.MC)
                {
                    int mc = Math.Min(blk.MC, m - ic);
                    PackA(op, ic, pc, mc, kc, blk.MR, packA);
                    float* cBlock = op.C + (nint)ic * op.Ldc + jc;
                    for (int jr = 0; jr < nc; jr += blk.NR)
                    {
                        int nr = Math.Min(blk.NR, nc - jr);
                        float* bPanel = packB + (nint)jr * kc;
                        for (int ir = 0; ir < mc; ir += blk.MR)
                        {
                            int mr = Math.Min(blk.MR, mc - ir);
                            float* aPanel = packA + (nint)ir * kc;
                            float* cTile = cBlock + (nint)ir * op.Ldc + jr;
                            if (mr == blk.MR && nr == blk.NR)
                            {
                                kernel(kc, aPanel, bPanel, cTile, op.Ldc, acc);
                            }
                            else
                            {
                                // Edge tile: the packed panels are zero-padded, so compute the full tile aside and
                                // write back only the mr x nr valid corner.
                                kernel(kc, aPanel, bPanel, tile, blk.NR, false);
                                for (int r = 0; r < mr; r++)
                                {
                                    float* dst = cTile + (nint)r * op.Ldc;
                                    float* src = tile + r * blk.NR;
                                    if (acc) for (int j = 0; j < nr; j++) dst[j] += src[j];
                                    else for (int j = 0; j < nr; j++) dst[j] = src[j];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// 8x8 transpose: <c>dst[k*dstStride + i] = src[i*srcStride + k]</c> for i, k &lt; 8, in registers (AVX): unpack pairs of
    /// rows, shuffle pairs of pairs, then swap 128-bit halves; each output row is one input column.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride),
            r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride),
            r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride),
            r6 = Avx.LoadVector256(src + 6 * srcStride), r7 = Avx.LoadVector256(src + 7 * srcStride);
        // t = interleaved pairs: unpacklo(r0, r1) = [r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]].
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // u = columns of four rows per 128-bit lane: u0 = [r0..r3 at 0 | r0..r3 at 4], u1 at 1|5, u2 at 2|6, u3 at 3|7.
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE),
            u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Join the low (columns 0-3) or high (columns 4-7) lanes of rows 0-3 and rows 4-7.
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Packs rows [ic, ic+mc) x columns [pc, pc+kc) of op(A) into MR-tall micro-panels:
    /// <c>dst[(i/MR)*MR*kc + p*MR + i%MR] = op(A)[ic+i, pc+p]</c>, rows past mc zero-filled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(in Operands op, int ic, int pc, int mc, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* panel = dst + (nint)ir * kc;
            if (op.TransA)
            {
                // A stored K x M: each k-step's MR values are contiguous.
                float* src = op.A + (nint)pc * op.Lda + ic + ir;
                for (int p = 0; p < kc; p++, src += op.Lda)
                {
                    float* d = panel + p * mr;
                    int r = 0;
                    for (; r < rows; r++) d[r] = src[r];
                    for (; r < mr; r++) d[r] = 0f;
                }
            }
            else
            {
                // A stored M x K: the panel is the transpose of an MR x kc block. Full 8-row panels go through 8x8
                // register transposes; other panels walk each row and scatter with stride MR.
                float* srcBlock = op.A + (nint)(ic + ir) * op.Lda + pc;
                int p0 = 0;
                if (rows == 8 && mr == 8 && Avx.IsSupported)
                    for (; p0 <= kc - 8; p0 += 8) Transpose8x8(srcBlock + p0, op.Lda, panel + p0 * 8, 8);
                for (int r = 0; r < rows; r++)
                {
                    float* src = srcBlock + (nint)r * op.Lda;
                    float* d = panel + r;
                    for (int p = p0; p < kc; p++) d[p * mr] = src[p];
                }
                for (int r = rows; r < mr; r++)
                    for (int p = 0; p < kc; p++) panel[p * mr + r] = 0f;
            }
        }
    }

    /// <summary>
    /// Packs rows [pc, pc+kc) x columns [jc, jc+nc) of op(B) into NR-wide micro-panels:
    /// <c>dst[(j/NR)*NR*kc + p*NR + j%NR] = op(B)[pc+p, jc+j]</c>, columns past nc zero-filled.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(in Operands op, int pc, int jc, int kc, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* panel = dst + (nint)jr * kc;
            if (op.TransB)
            {
                // B stored N x K: the panel is the transpose of an NR x kc block. Groups of 8 stored rows go through
                // 8x8 register transposes; the rest walk each stored row and scatter with stride NR.
                float* srcBlock = op.B + (nint)(jc + jr) * op.Ldb + pc;
                int j0 = 0;
                if (Avx.IsSupported && kc >= 8)
                {
                    for (; j0 <= cols - 8; j0 += 8)
                    {
                        float* rows8 = srcBlock + (nint)j0 * op.Ldb;
                        int p = 0;
                        for (; p <= kc - 8; p += 8) Transpose8x8(rows8 + p, op.Ldb, panel + p * nr + j0, nr);
                        for (; p < kc; p++)
                            for (int j = 0; j < 8; j++) panel[p * nr + j0 + j] = rows8[(nint)j * op.Ldb + p];
                    }
                }
                for (int j = j0; j < cols; j++)
                {
                    float* src = srcBlock + (nint)j * op.Ldb;
                    float* d = panel + j;
                    for (int p = 0; p < kc; p++) d[p * nr] = src[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) panel[p * nr + j] = 0f;
            }
            else
            {
                // B stored K x N: each k-step's NR values are contiguous (a plain copy).
                float* src = op.B + (nint)pc * op.Ldb + jc + jr;
                if (cols == nr && nr % 8 == 0 && Vector256.IsHardwareAccelerated)
                {
                    // Full panel: NR/8 vector copies per k-step (NR is 16 or 32 on the vector paths).
                    for (int p = 0; p < kc; p++, src += op.Ldb)
                    {
                        float* d = panel + p * nr;
                        for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(src + j), d + j);
                    }
                    continue;
                }
                for (int p = 0; p < kc; p++, src += op.Ldb)
                {
                    float* d = panel + p * nr;
                    int j = 0;
                    for (; j < cols; j++) d[j] = src[j];
                    for (; j < nr; j++) d[j] = 0f;
                }
            }
        }
    }
}
