using System.Runtime.CompilerServices;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// Register-tiled micro-kernels of the direct convolutions, generic over the vector flavour (the <c>TOps</c> type argument)
/// and over compile-time tile sizes, so the JIT emits one straight-line kernel per (width, tile) with every accumulator
/// in a register. Accumulators are written out as named locals (a* for the first output-channel vector, b* for the
/// second) because arrays or spans of vectors would live in memory; the unused ones are dead code in each instantiation.
/// </summary>
/// <remarks>
/// Blocked layout: an activation with C channels is stored as C/16 planes of H x W pixels, each pixel 16 contiguous
/// channels (oneDNN's nChw16c); a single-channel input is one plane with 1 float per pixel. <c>S</c> is that pixel
/// stride (16 or 1). Output pixels always have stride 16.
/// </remarks>
internal static unsafe class ConvTiles
{
    /// <summary>
    /// Forward tile: <c>R</c> output rows of <c>C</c> consecutive pixels each (R = 1 for the row tiles of wide outputs,
    /// R > 1 for the block tiles of narrow ones) times one output-channel group of <c>G = NV * Lanes</c> channels,
    /// <c>R*C*NV</c> accumulators. For pixel (r, c):
    /// <code>
    /// y[r][c][q] = bias[q] + sum over cb &lt; cinBlocks, kh &lt; k, j &lt; k*S of
    ///              x[cb*xPlane + (r + kh)*xRow + j + c*S] * w[((cb*k + kh)*k*S + j)*G + q]
    /// </code>
    /// The reduction index j walks kw and the input channels of a block together (they are contiguous in a padded
    /// row), so the inner loop is one broadcast per pixel plus NV weight loads per step: per step R*C broadcasts, NV
    /// loads, R*C*NV FMAs. Each pixel's sum runs in the same order whatever the tile shape, so a block tile has the bits
    /// of R row tiles; what it changes is reuse: a weight vector feeds R*C pixels, which a 3-wide or 7-wide row cannot
    /// give (a 3x3 map in row tiles uses 6 of AVX-512's 28 accumulators and streams the weight panel once per row).
    /// Vector 0 of pixel (r, c) is stored at <c>y + r*yRow + c*16</c>, vector 1 at <c>+ yV1</c> (yV1 = Lanes inside a
    /// 16-channel block, the plane stride when the group spans two blocks). Optional epilogue: ReLU, and per-channel
    /// sum and sum of squares added into <paramref name="sum"/>/<paramref name="sumSq"/> (G floats each; null to skip),
    /// one row at a time in row order (so whole-row tiles give the same bits whatever R).
    /// <paramref name="window"/>, when not null, holds per input block cb four ints (kh0, kh1, kw0, kw1): the taps
    /// [kh0, kh1) x [kw0, kw1) the sum runs over for that block, the packed weights being zero outside them (a strided
    /// conv's expanded weight: <see cref="StridedConv2d"/>); null runs every tap. Skipping a zero weight's multiply-add
    /// leaves the sum's bits as they are (finite inputs; the sign of an exact zero aside).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TOps, TV, TR, TC, TNV, TS>(float* x, float* w, float* bias, float* y, nint yV1,
        int cinBlocks, nint xPlane, nint xRow, int k, int* window, float* sum, float* sumSq, bool relu, nint yRow)
        where TOps : struct, IVecOps<TV> where TV : struct where TR : struct, IConst where TC : struct, IConst where TNV : struct, IConst where TS : struct, IConst
    {
        int n = TR.Value * TC.Value;
        TV bv0 = TOps.Load(bias);
        TV bv1 = TNV.Value > 1 ? TOps.Load(bias + TOps.Lanes) : TOps.Zero;
        TV a0 = bv0, a1 = bv0, a2 = bv0, a3 = bv0, a4 = bv0, a5 = bv0, a6 = bv0, a7 = bv0, a8 = bv0, a9 = bv0, a10 = bv0, a11 = bv0, a12 = bv0, a13 = bv0, a14 = bv0, a15 = bv0, a16 = bv0, a17 = bv0, a18 = bv0, a19 = bv0, a20 = bv0, a21 = bv0, a22 = bv0, a23 = bv0, a24 = bv0, a25 = bv0, a26 = bv0, a27 = bv0;
        TV b0 = bv1, b1 = bv1, b2 = bv1, b3 = bv1, b4 = bv1, b5 = bv1, b6 = bv1, b7 = bv1, b8 = bv1, b9 = bv1, b10 = bv1, b11 = bv1, b12 = bv1, b13 = bv1;
        int kS = k * TS.Value;
        nint step = TNV.Value * TOps.Lanes;
        for (int cb = 0; cb < cinBlocks; cb++)
        {
            float* xc = x + cb * xPlane;
            int kh0 = 0, kh1 = k, j0 = 0, j1 = kS;
            if (window != null)
            {
                int* taps = window + 4 * cb;
                (kh0, kh1, j0, j1) = (taps[0], taps[1], taps[2] * TS.Value, taps[3] * TS.Value);
            }
            for (int kh = kh0; kh < kh1; kh++)
            {
                float* xj = xc + kh * xRow + j0;
                float* xEnd = xc + kh * xRow + j1;
                // Packed as [cb][kh][kw·S + channel][G]: the window's first weight of this row.
                float* wp = w + ((nint)(cb * k + kh) * kS + j0) * step;
                for (; xj < xEnd; xj++, wp += step)
                {
                    TV w0 = TOps.Load(wp);
                    TV w1 = TNV.Value > 1 ? TOps.Load(wp + TOps.Lanes) : TOps.Zero;
                    TV xv;
                    if (n > 0) { xv = TOps.Broadcast(xj + (0 / TC.Value) * xRow + (0 % TC.Value) * TS.Value); a0 = TOps.Fma(xv, w0, a0); if (TNV.Value > 1) b0 = TOps.Fma(xv, w1, b0); }
                    if (n > 1) { xv = TOps.Broadcast(xj + (1 / TC.Value) * xRow + (1 % TC.Value) * TS.Value); a1 = TOps.Fma(xv, w0, a1); if (TNV.Value > 1) b1 = TOps.Fma(xv, w1, b1); }
                    if (n > 2) { xv = TOps.Broadcast(xj + (2 / TC.Value) * xRow + (2 % TC.Value) * TS.Value); a2 = TOps.Fma(xv, w0, a2); if (TNV.Value > 1) b2 = TOps.Fma(xv, w1, b2); }
                    if (n > 3) { xv = TOps.Broadcast(xj + (3 / TC.Value) * xRow + (3 % TC.Value) * TS.Value); a3 = TOps.Fma(xv, w0, a3); if (TNV.Value > 1) b3 = TOps.Fma(xv, w1, b3); }
                    if (n > 4) { xv = TOps.Broadcast(xj + (4 / TC.Value) * xRow + (4 % TC.Value) * TS.Value); a4 = TOps.Fma(xv, w0, a4); if (TNV.Value > 1) b4 = TOps.Fma(xv, w1, b4); }
                    if (n > 5) { xv = TOps.Broadcast(xj + (5 / TC.Value) * xRow + (5 % TC.Value) * TS.Value); a5 = TOps.Fma(xv, w0, a5); if (TNV.Value > 1) b5 = TOps.Fma(xv, w1, b5); }
                    if (n > 6) { xv = TOps.Broadcast(xj + (6 / TC.Value) * xRow + (6 % TC.Value) * TS.Value); a6 = TOps.Fma(xv, w0, a6); if (TNV.Value > 1) b6 = TOps.Fma(xv, w1, b6); }
                    if (n > 7) { xv = TOps.Broadcast(xj + (7 / TC.Value) * xRow + (7 % TC.Value) * TS.Value); a7 = TOps.Fma(xv, w0, a7); if (TNV.Value > 1) b7 = TOps.Fma(xv, w1, b7); }
                    if (n > 8) { xv = TOps.Broadcast(xj + (8 / TC.Value) * xRow + (8 % TC.Value) * TS.Value); a8 = TOps.Fma(xv, w0, a8); if (TNV.Value > 1) b8 = TOps.Fma(xv, w1, b8); }
                    if (n > 9) { xv = TOps.Broadcast(xj + (9 / TC.Value) * xRow + (9 % TC.Value) * TS.Value); a9 = TOps.Fma(xv, w0, a9); if (TNV.Value > 1) b9 = TOps.Fma(xv, w1, b9); }
                    if (n > 10) { xv = TOps.Broadcast(xj + (10 / TC.Value) * xRow + (10 % TC.Value) * TS.Value); a10 = TOps.Fma(xv, w0, a10); if (TNV.Value > 1) b10 = TOps.Fma(xv, w1, b10); }
                    if (n > 11) { xv = TOps.Broadcast(xj + (11 / TC.Value) * xRow + (11 % TC.Value) * TS.Value); a11 = TOps.Fma(xv, w0, a11); if (TNV.Value > 1) b11 = TOps.Fma(xv, w1, b11); }
                    if (n > 12) { xv = TOps.Broadcast(xj + (12 / TC.Value) * xRow + (12 % TC.Value) * TS.Value); a12 = TOps.Fma(xv, w0, a12); if (TNV.Value > 1) b12 = TOps.Fma(xv, w1, b12); }
                    if (n > 13) { xv = TOps.Broadcast(xj + (13 / TC.Value) * xRow + (13 % TC.Value) * TS.Value); a13 = TOps.Fma(xv, w0, a13); if (TNV.Value > 1) b13 = TOps.Fma(xv, w1, b13); }
                    if (n > 14) { xv = TOps.Broadcast(xj + (14 / TC.Value) * xRow + (14 % TC.Value) * TS.Value); a14 = TOps.Fma(xv, w0, a14); }
                    if (n > 15) { xv = TOps.Broadcast(xj + (15 / TC.Value) * xRow + (15 % TC.Value) * TS.Value); a15 = TOps.Fma(xv, w0, a15); }
                    if (n > 16) { xv = TOps.Broadcast(xj + (16 / TC.Value) * xRow + (16 % TC.Value) * TS.Value); a16 = TOps.Fma(xv, w0, a16); }
                    if (n > 17) { xv = TOps.Broadcast(xj + (17 / TC.Value) * xRow + (17 % TC.Value) * TS.Value); a17 = TOps.Fma(xv, w0, a17); }
                    if (n > 18) { xv = TOps.Broadcast(xj + (18 / TC.Value) * xRow + (18 % TC.Value) * TS.Value); a18 = TOps.Fma(xv, w0, a18); }
                    if (n > 19) { xv = TOps.Broadcast(xj + (19 / TC.Value) * xRow + (19 % TC.Value) * TS.Value); a19 = TOps.Fma(xv, w0, a19); }
                    if (n > 20) { xv = TOps.Broadcast(xj + (20 / TC.Value) * xRow + (20 % TC.Value) * TS.Value); a20 = TOps.Fma(xv, w0, a20); }
                    if (n > 21) { xv = TOps.Broadcast(xj + (21 / TC.Value) * xRow + (21 % TC.Value) * TS.Value); a21 = TOps.Fma(xv, w0, a21); }
                    if (n > 22) { xv = TOps.Broadcast(xj + (22 / TC.Value) * xRow + (22 % TC.Value) * TS.Value); a22 = TOps.Fma(xv, w0, a22); }
                    if (n > 23) { xv = TOps.Broadcast(xj + (23 / TC.Value) * xRow + (23 % TC.Value) * TS.Value); a23 = TOps.Fma(xv, w0, a23); }
                    if (n > 24) { xv = TOps.Broadcast(xj + (24 / TC.Value) * xRow + (24 % TC.Value) * TS.Value); a24 = TOps.Fma(xv, w0, a24); }
                    if (n > 25) { xv = TOps.Broadcast(xj + (25 / TC.Value) * xRow + (25 % TC.Value) * TS.Value); a25 = TOps.Fma(xv, w0, a25); }
                    if (n > 26) { xv = TOps.Broadcast(xj + (26 / TC.Value) * xRow + (26 % TC.Value) * TS.Value); a26 = TOps.Fma(xv, w0, a26); }
                    if (n > 27) { xv = TOps.Broadcast(xj + (27 / TC.Value) * xRow + (27 % TC.Value) * TS.Value); a27 = TOps.Fma(xv, w0, a27); }
                }
            }
        }
        if (relu)
        {
            TV z = TOps.Zero;
            if (n > 0) { a0 = TOps.Max(a0, z); if (TNV.Value > 1) b0 = TOps.Max(b0, z); }
            if (n > 1) { a1 = TOps.Max(a1, z); if (TNV.Value > 1) b1 = TOps.Max(b1, z); }
            if (n > 2) { a2 = TOps.Max(a2, z); if (TNV.Value > 1) b2 = TOps.Max(b2, z); }
            if (n > 3) { a3 = TOps.Max(a3, z); if (TNV.Value > 1) b3 = TOps.Max(b3, z); }
            if (n > 4) { a4 = TOps.Max(a4, z); if (TNV.Value > 1) b4 = TOps.Max(b4, z); }
            if (n > 5) { a5 = TOps.Max(a5, z); if (TNV.Value > 1) b5 = TOps.Max(b5, z); }
            if (n > 6) { a6 = TOps.Max(a6, z); if (TNV.Value > 1) b6 = TOps.Max(b6, z); }
            if (n > 7) { a7 = TOps.Max(a7, z); if (TNV.Value > 1) b7 = TOps.Max(b7, z); }
            if (n > 8) { a8 = TOps.Max(a8, z); if (TNV.Value > 1) b8 = TOps.Max(b8, z); }
            if (n > 9) { a9 = TOps.Max(a9, z); if (TNV.Value > 1) b9 = TOps.Max(b9, z); }
            if (n > 10) { a10 = TOps.Max(a10, z); if (TNV.Value > 1) b10 = TOps.Max(b10, z); }
            if (n > 11) { a11 = TOps.Max(a11, z); if (TNV.Value > 1) b11 = TOps.Max(b11, z); }
            if (n > 12) { a12 = TOps.Max(a12, z); if (TNV.Value > 1) b12 = TOps.Max(b12, z); }
            if (n > 13) { a13 = TOps.Max(a13, z); if (TNV.Value > 1) b13 = TOps.Max(b13, z); }
            if (n > 14) { a14 = TOps.Max(a14, z); }
            if (n > 15) { a15 = TOps.Max(a15, z); }
            if (n > 16) { a16 = TOps.Max(a16, z); }
            if (n > 17) { a17 = TOps.Max(a17, z); }
            if (n > 18) { a18 = TOps.Max(a18, z); }
            if (n > 19) { a19 = TOps.Max(a19, z); }
            if (n > 20) { a20 = TOps.Max(a20, z); }
            if (n > 21) { a21 = TOps.Max(a21, z); }
            if (n > 22) { a22 = TOps.Max(a22, z); }
            if (n > 23) { a23 = TOps.Max(a23, z); }
            if (n > 24) { a24 = TOps.Max(a24, z); }
            if (n > 25) { a25 = TOps.Max(a25, z); }
            if (n > 26) { a26 = TOps.Max(a26, z); }
            if (n > 27) { a27 = TOps.Max(a27, z); }
        }
        if (n > 0) { TOps.Store(y + (0 / TC.Value) * yRow + (0 % TC.Value) * 16, a0); if (TNV.Value > 1) TOps.Store(y + yV1 + (0 / TC.Value) * yRow + (0 % TC.Value) * 16, b0); }
        if (n > 1) { TOps.Store(y + (1 / TC.Value) * yRow + (1 % TC.Value) * 16, a1); if (TNV.Value > 1) TOps.Store(y + yV1 + (1 / TC.Value) * yRow + (1 % TC.Value) * 16, b1); }
        if (n > 2) { TOps.Store(y + (2 / TC.Value) * yRow + (2 % TC.Value) * 16, a2); if (TNV.Value > 1) TOps.Store(y + yV1 + (2 / TC.Value) * yRow + (2 % TC.Value) * 16, b2); }
        if (n > 3) { TOps.Store(y + (3 / TC.Value) * yRow + (3 % TC.Value) * 16, a3); if (TNV.Value > 1) TOps.Store(y + yV1 + (3 / TC.Value) * yRow + (3 % TC.Value) * 16, b3); }
        if (n > 4) { TOps.Store(y + (4 / TC.Value) * yRow + (4 % TC.Value) * 16, a4); if (TNV.Value > 1) TOps.Store(y + yV1 + (4 / TC.Value) * yRow + (4 % TC.Value) * 16, b4); }
        if (n > 5) { TOps.Store(y + (5 / TC.Value) * yRow + (5 % TC.Value) * 16, a5); if (TNV.Value > 1) TOps.Store(y + yV1 + (5 / TC.Value) * yRow + (5 % TC.Value) * 16, b5); }
        if (n > 6) { TOps.Store(y + (6 / TC.Value) * yRow + (6 % TC.Value) * 16, a6); if (TNV.Value > 1) TOps.Store(y + yV1 + (6 / TC.Value) * yRow + (6 % TC.Value) * 16, b6); }
        if (n > 7) { TOps.Store(y + (7 / TC.Value) * yRow + (7 % TC.Value) * 16, a7); if (TNV.Value > 1) TOps.Store(y + yV1 + (7 / TC.Value) * yRow + (7 % TC.Value) * 16, b7); }
        if (n > 8) { TOps.Store(y + (8 / TC.Value) * yRow + (8 % TC.Value) * 16, a8); if (TNV.Value > 1) TOps.Store(y + yV1 + (8 / TC.Value) * yRow + (8 % TC.Value) * 16, b8); }
        if (n > 9) { TOps.Store(y + (9 / TC.Value) * yRow + (9 % TC.Value) * 16, a9); if (TNV.Value > 1) TOps.Store(y + yV1 + (9 / TC.Value) * yRow + (9 % TC.Value) * 16, b9); }
        if (n > 10) { TOps.Store(y + (10 / TC.Value) * yRow + (10 % TC.Value) * 16, a10); if (TNV.Value > 1) TOps.Store(y + yV1 + (10 / TC.Value) * yRow + (10 % TC.Value) * 16, b10); }
        if (n > 11) { TOps.Store(y + (11 / TC.Value) * yRow + (11 % TC.Value) * 16, a11); if (TNV.Value > 1) TOps.Store(y + yV1 + (11 / TC.Value) * yRow + (11 % TC.Value) * 16, b11); }
        if (n > 12) { TOps.Store(y + (12 / TC.Value) * yRow + (12 % TC.Value) * 16, a12); if (TNV.Value > 1) TOps.Store(y + yV1 + (12 / TC.Value) * yRow + (12 % TC.Value) * 16, b12); }
        if (n > 13) { TOps.Store(y + (13 / TC.Value) * yRow + (13 % TC.Value) * 16, a13); if (TNV.Value > 1) TOps.Store(y + yV1 + (13 / TC.Value) * yRow + (13 % TC.Value) * 16, b13); }
        if (n > 14) { TOps.Store(y + (14 / TC.Value) * yRow + (14 % TC.Value) * 16, a14); }
        if (n > 15) { TOps.Store(y + (15 / TC.Value) * yRow + (15 % TC.Value) * 16, a15); }
        if (n > 16) { TOps.Store(y + (16 / TC.Value) * yRow + (16 % TC.Value) * 16, a16); }
        if (n > 17) { TOps.Store(y + (17 / TC.Value) * yRow + (17 % TC.Value) * 16, a17); }
        if (n > 18) { TOps.Store(y + (18 / TC.Value) * yRow + (18 % TC.Value) * 16, a18); }
        if (n > 19) { TOps.Store(y + (19 / TC.Value) * yRow + (19 % TC.Value) * 16, a19); }
        if (n > 20) { TOps.Store(y + (20 / TC.Value) * yRow + (20 % TC.Value) * 16, a20); }
        if (n > 21) { TOps.Store(y + (21 / TC.Value) * yRow + (21 % TC.Value) * 16, a21); }
        if (n > 22) { TOps.Store(y + (22 / TC.Value) * yRow + (22 % TC.Value) * 16, a22); }
        if (n > 23) { TOps.Store(y + (23 / TC.Value) * yRow + (23 % TC.Value) * 16, a23); }
        if (n > 24) { TOps.Store(y + (24 / TC.Value) * yRow + (24 % TC.Value) * 16, a24); }
        if (n > 25) { TOps.Store(y + (25 / TC.Value) * yRow + (25 % TC.Value) * 16, a25); }
        if (n > 26) { TOps.Store(y + (26 / TC.Value) * yRow + (26 % TC.Value) * 16, a26); }
        if (n > 27) { TOps.Store(y + (27 / TC.Value) * yRow + (27 % TC.Value) * 16, a27); }
        if (sum == null) return;
        // Per row: s = first pixel, then add the rest in column order (as the row tile does); a finished row is added
        // into the running totals, which start from the caller's sums.
        TV t0 = TOps.Load(sum), u0 = TOps.Load(sumSq);
        TV t1 = TNV.Value > 1 ? TOps.Load(sum + TOps.Lanes) : TOps.Zero, u1 = TNV.Value > 1 ? TOps.Load(sumSq + TOps.Lanes) : TOps.Zero;
        TV s0 = TOps.Zero, q0 = TOps.Zero, s1 = TOps.Zero, q1 = TOps.Zero;
        if (n > 0) { if (0 % TC.Value == 0) { s0 = a0; q0 = TOps.Mul(a0, a0); if (TNV.Value > 1) { s1 = b0; q1 = TOps.Mul(b0, b0); } } else { s0 = TOps.Add(s0, a0); q0 = TOps.Fma(a0, a0, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b0); q1 = TOps.Fma(b0, b0, q1); } } }
        if (n > 1) { if (1 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a1; q0 = TOps.Mul(a1, a1); if (TNV.Value > 1) { s1 = b1; q1 = TOps.Mul(b1, b1); } } else { s0 = TOps.Add(s0, a1); q0 = TOps.Fma(a1, a1, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b1); q1 = TOps.Fma(b1, b1, q1); } } }
        if (n > 2) { if (2 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a2; q0 = TOps.Mul(a2, a2); if (TNV.Value > 1) { s1 = b2; q1 = TOps.Mul(b2, b2); } } else { s0 = TOps.Add(s0, a2); q0 = TOps.Fma(a2, a2, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b2); q1 = TOps.Fma(b2, b2, q1); } } }
        if (n > 3) { if (3 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a3; q0 = TOps.Mul(a3, a3); if (TNV.Value > 1) { s1 = b3; q1 = TOps.Mul(b3, b3); } } else { s0 = TOps.Add(s0, a3); q0 = TOps.Fma(a3, a3, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b3); q1 = TOps.Fma(b3, b3, q1); } } }
        if (n > 4) { if (4 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a4; q0 = TOps.Mul(a4, a4); if (TNV.Value > 1) { s1 = b4; q1 = TOps.Mul(b4, b4); } } else { s0 = TOps.Add(s0, a4); q0 = TOps.Fma(a4, a4, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b4); q1 = TOps.Fma(b4, b4, q1); } } }
        if (n > 5) { if (5 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a5; q0 = TOps.Mul(a5, a5); if (TNV.Value > 1) { s1 = b5; q1 = TOps.Mul(b5, b5); } } else { s0 = TOps.Add(s0, a5); q0 = TOps.Fma(a5, a5, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b5); q1 = TOps.Fma(b5, b5, q1); } } }
        if (n > 6) { if (6 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a6; q0 = TOps.Mul(a6, a6); if (TNV.Value > 1) { s1 = b6; q1 = TOps.Mul(b6, b6); } } else { s0 = TOps.Add(s0, a6); q0 = TOps.Fma(a6, a6, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b6); q1 = TOps.Fma(b6, b6, q1); } } }
        if (n > 7) { if (7 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a7; q0 = TOps.Mul(a7, a7); if (TNV.Value > 1) { s1 = b7; q1 = TOps.Mul(b7, b7); } } else { s0 = TOps.Add(s0, a7); q0 = TOps.Fma(a7, a7, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b7); q1 = TOps.Fma(b7, b7, q1); } } }
        if (n > 8) { if (8 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a8; q0 = TOps.Mul(a8, a8); if (TNV.Value > 1) { s1 = b8; q1 = TOps.Mul(b8, b8); } } else { s0 = TOps.Add(s0, a8); q0 = TOps.Fma(a8, a8, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b8); q1 = TOps.Fma(b8, b8, q1); } } }
        if (n > 9) { if (9 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a9; q0 = TOps.Mul(a9, a9); if (TNV.Value > 1) { s1 = b9; q1 = TOps.Mul(b9, b9); } } else { s0 = TOps.Add(s0, a9); q0 = TOps.Fma(a9, a9, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b9); q1 = TOps.Fma(b9, b9, q1); } } }
        if (n > 10) { if (10 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a10; q0 = TOps.Mul(a10, a10); if (TNV.Value > 1) { s1 = b10; q1 = TOps.Mul(b10, b10); } } else { s0 = TOps.Add(s0, a10); q0 = TOps.Fma(a10, a10, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b10); q1 = TOps.Fma(b10, b10, q1); } } }
        if (n > 11) { if (11 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a11; q0 = TOps.Mul(a11, a11); if (TNV.Value > 1) { s1 = b11; q1 = TOps.Mul(b11, b11); } } else { s0 = TOps.Add(s0, a11); q0 = TOps.Fma(a11, a11, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b11); q1 = TOps.Fma(b11, b11, q1); } } }
        if (n > 12) { if (12 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a12; q0 = TOps.Mul(a12, a12); if (TNV.Value > 1) { s1 = b12; q1 = TOps.Mul(b12, b12); } } else { s0 = TOps.Add(s0, a12); q0 = TOps.Fma(a12, a12, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b12); q1 = TOps.Fma(b12, b12, q1); } } }
        if (n > 13) { if (13 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a13; q0 = TOps.Mul(a13, a13); if (TNV.Value > 1) { s1 = b13; q1 = TOps.Mul(b13, b13); } } else { s0 = TOps.Add(s0, a13); q0 = TOps.Fma(a13, a13, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b13); q1 = TOps.Fma(b13, b13, q1); } } }
        if (n > 14) { if (14 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a14; q0 = TOps.Mul(a14, a14); } else { s0 = TOps.Add(s0, a14); q0 = TOps.Fma(a14, a14, q0); } }
        if (n > 15) { if (15 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a15; q0 = TOps.Mul(a15, a15); } else { s0 = TOps.Add(s0, a15); q0 = TOps.Fma(a15, a15, q0); } }
        if (n > 16) { if (16 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a16; q0 = TOps.Mul(a16, a16); } else { s0 = TOps.Add(s0, a16); q0 = TOps.Fma(a16, a16, q0); } }
        if (n > 17) { if (17 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a17; q0 = TOps.Mul(a17, a17); } else { s0 = TOps.Add(s0, a17); q0 = TOps.Fma(a17, a17, q0); } }
        if (n > 18) { if (18 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a18; q0 = TOps.Mul(a18, a18); } else { s0 = TOps.Add(s0, a18); q0 = TOps.Fma(a18, a18, q0); } }
        if (n > 19) { if (19 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a19; q0 = TOps.Mul(a19, a19); } else { s0 = TOps.Add(s0, a19); q0 = TOps.Fma(a19, a19, q0); } }
        if (n > 20) { if (20 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a20; q0 = TOps.Mul(a20, a20); } else { s0 = TOps.Add(s0, a20); q0 = TOps.Fma(a20, a20, q0); } }
        if (n > 21) { if (21 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a21; q0 = TOps.Mul(a21, a21); } else { s0 = TOps.Add(s0, a21); q0 = TOps.Fma(a21, a21, q0); } }
        if (n > 22) { if (22 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a22; q0 = TOps.Mul(a22, a22); } else { s0 = TOps.Add(s0, a22); q0 = TOps.Fma(a22, a22, q0); } }
        if (n > 23) { if (23 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a23; q0 = TOps.Mul(a23, a23); } else { s0 = TOps.Add(s0, a23); q0 = TOps.Fma(a23, a23, q0); } }
        if (n > 24) { if (24 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a24; q0 = TOps.Mul(a24, a24); } else { s0 = TOps.Add(s0, a24); q0 = TOps.Fma(a24, a24, q0); } }
        if (n > 25) { if (25 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a25; q0 = TOps.Mul(a25, a25); } else { s0 = TOps.Add(s0, a25); q0 = TOps.Fma(a25, a25, q0); } }
        if (n > 26) { if (26 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a26; q0 = TOps.Mul(a26, a26); } else { s0 = TOps.Add(s0, a26); q0 = TOps.Fma(a26, a26, q0); } }
        if (n > 27) { if (27 % TC.Value == 0) { FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1); s0 = a27; q0 = TOps.Mul(a27, a27); } else { s0 = TOps.Add(s0, a27); q0 = TOps.Fma(a27, a27, q0); } }
        FlushRow<TOps, TV, TNV>(ref t0, ref u0, ref t1, ref u1, s0, q0, s1, q1);
        TOps.Store(sum, t0);
        TOps.Store(sumSq, u0);
        if (TNV.Value > 1)
        {
            TOps.Store(sum + TOps.Lanes, t1);
            TOps.Store(sumSq + TOps.Lanes, u1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FlushRow<TOps, TV, TNV>(ref TV t0, ref TV u0, ref TV t1, ref TV u1, TV s0, TV q0, TV s1, TV q1)
        where TOps : struct, IVecOps<TV> where TV : struct where TNV : struct, IConst
    {
        t0 = TOps.Add(t0, s0);
        u0 = TOps.Add(u0, q0);
        if (TNV.Value > 1)
        {
            t1 = TOps.Add(t1, s1);
            u1 = TOps.Add(u1, q1);
        }
    }

    /// <summary>
    /// Weight-gradient tile: <c>R = RH * RW</c> reduction rows (input channels of a tap, or taps of a single-channel
    /// input) times one output-channel group of <c>G = NV * Lanes</c>, accumulated over an h x w block of output pixels
    /// with the tile held in registers for the whole pixel loop.
    /// <code>
    /// acc[(r / RW)*accRh + (r % RW)*accRw + q] += sum over i &lt; h, j &lt; w of
    ///     x[i*xRow + j*S + (r / RW)*xRh + r % RW] * dy[i*dyRow + j*16 + q]      (q &lt; G; the second vector at dy + dyV1)
    /// </code>
    /// Per pixel: NV loads of dy, R broadcasts of x, R*NV FMAs. The pixel block repeats for <paramref name="images"/> images
    /// (x and dy advanced by <paramref name="xImage"/> and <paramref name="dyImage"/> floats): small feature maps (a 3x3
    /// block is 9 pixels) would otherwise load and store the tile once per 9 pixels. The sums run in the same order as
    /// one call per image, so the result has the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGrad<TOps, TV, TRH, TRW, TNV, TS>(float* x, nint xRh, float* dy, nint dyV1, int h, int w,
        nint xRow, nint dyRow, float* acc, nint accRh, nint accRw, int images, nint xImage, nint dyImage)
        where TOps : struct, IVecOps<TV> where TV : struct where TRH : struct, IConst where TRW : struct, IConst where TNV : struct, IConst where TS : struct, IConst
    {
        int r = TRH.Value * TRW.Value;
        TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero, a6 = TOps.Zero, a7 = TOps.Zero, a8 = TOps.Zero, a9 = TOps.Zero, a10 = TOps.Zero, a11 = TOps.Zero, a12 = TOps.Zero, a13 = TOps.Zero, a14 = TOps.Zero, a15 = TOps.Zero, a16 = TOps.Zero, a17 = TOps.Zero, a18 = TOps.Zero, a19 = TOps.Zero, a20 = TOps.Zero, a21 = TOps.Zero, a22 = TOps.Zero, a23 = TOps.Zero, a24 = TOps.Zero, a25 = TOps.Zero, a26 = TOps.Zero, a27 = TOps.Zero;
        TV b0 = TOps.Zero, b1 = TOps.Zero, b2 = TOps.Zero, b3 = TOps.Zero, b4 = TOps.Zero, b5 = TOps.Zero, b6 = TOps.Zero, b7 = TOps.Zero, b8 = TOps.Zero, b9 = TOps.Zero, b10 = TOps.Zero, b11 = TOps.Zero, b12 = TOps.Zero, b13 = TOps.Zero;
        if (r > 0) { a0 = TOps.Load(acc + (0 / TRW.Value) * accRh + (0 % TRW.Value) * accRw); if (TNV.Value > 1) b0 = TOps.Load(acc + (0 / TRW.Value) * accRh + (0 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 1) { a1 = TOps.Load(acc + (1 / TRW.Value) * accRh + (1 % TRW.Value) * accRw); if (TNV.Value > 1) b1 = TOps.Load(acc + (1 / TRW.Value) * accRh + (1 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 2) { a2 = TOps.Load(acc + (2 / TRW.Value) * accRh + (2 % TRW.Value) * accRw); if (TNV.Value > 1) b2 = TOps.Load(acc + (2 / TRW.Value) * accRh + (2 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 3) { a3 = TOps.Load(acc + (3 / TRW.Value) * accRh + (3 % TRW.Value) * accRw); if (TNV.Value > 1) b3 = TOps.Load(acc + (3 / TRW.Value) * accRh + (3 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 4) { a4 = TOps.Load(acc + (4 / TRW.Value) * accRh + (4 % TRW.Value) * accRw); if (TNV.Value > 1) b4 = TOps.Load(acc + (4 / TRW.Value) * accRh + (4 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 5) { a5 = TOps.Load(acc + (5 / TRW.Value) * accRh + (5 % TRW.Value) * accRw); if (TNV.Value > 1) b5 = TOps.Load(acc + (5 / TRW.Value) * accRh + (5 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 6) { a6 = TOps.Load(acc + (6 / TRW.Value) * accRh + (6 % TRW.Value) * accRw); if (TNV.Value > 1) b6 = TOps.Load(acc + (6 / TRW.Value) * accRh + (6 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 7) { a7 = TOps.Load(acc + (7 / TRW.Value) * accRh + (7 % TRW.Value) * accRw); if (TNV.Value > 1) b7 = TOps.Load(acc + (7 / TRW.Value) * accRh + (7 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 8) { a8 = TOps.Load(acc + (8 / TRW.Value) * accRh + (8 % TRW.Value) * accRw); if (TNV.Value > 1) b8 = TOps.Load(acc + (8 / TRW.Value) * accRh + (8 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 9) { a9 = TOps.Load(acc + (9 / TRW.Value) * accRh + (9 % TRW.Value) * accRw); if (TNV.Value > 1) b9 = TOps.Load(acc + (9 / TRW.Value) * accRh + (9 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 10) { a10 = TOps.Load(acc + (10 / TRW.Value) * accRh + (10 % TRW.Value) * accRw); if (TNV.Value > 1) b10 = TOps.Load(acc + (10 / TRW.Value) * accRh + (10 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 11) { a11 = TOps.Load(acc + (11 / TRW.Value) * accRh + (11 % TRW.Value) * accRw); if (TNV.Value > 1) b11 = TOps.Load(acc + (11 / TRW.Value) * accRh + (11 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 12) { a12 = TOps.Load(acc + (12 / TRW.Value) * accRh + (12 % TRW.Value) * accRw); if (TNV.Value > 1) b12 = TOps.Load(acc + (12 / TRW.Value) * accRh + (12 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 13) { a13 = TOps.Load(acc + (13 / TRW.Value) * accRh + (13 % TRW.Value) * accRw); if (TNV.Value > 1) b13 = TOps.Load(acc + (13 / TRW.Value) * accRh + (13 % TRW.Value) * accRw + TOps.Lanes); }
        if (r > 14) { a14 = TOps.Load(acc + (14 / TRW.Value) * accRh + (14 % TRW.Value) * accRw); }
        if (r > 15) { a15 = TOps.Load(acc + (15 / TRW.Value) * accRh + (15 % TRW.Value) * accRw); }
        if (r > 16) { a16 = TOps.Load(acc + (16 / TRW.Value) * accRh + (16 % TRW.Value) * accRw); }
        if (r > 17) { a17 = TOps.Load(acc + (17 / TRW.Value) * accRh + (17 % TRW.Value) * accRw); }
        if (r > 18) { a18 = TOps.Load(acc + (18 / TRW.Value) * accRh + (18 % TRW.Value) * accRw); }
        if (r > 19) { a19 = TOps.Load(acc + (19 / TRW.Value) * accRh + (19 % TRW.Value) * accRw); }
        if (r > 20) { a20 = TOps.Load(acc + (20 / TRW.Value) * accRh + (20 % TRW.Value) * accRw); }
        if (r > 21) { a21 = TOps.Load(acc + (21 / TRW.Value) * accRh + (21 % TRW.Value) * accRw); }
        if (r > 22) { a22 = TOps.Load(acc + (22 / TRW.Value) * accRh + (22 % TRW.Value) * accRw); }
        if (r > 23) { a23 = TOps.Load(acc + (23 / TRW.Value) * accRh + (23 % TRW.Value) * accRw); }
        if (r > 24) { a24 = TOps.Load(acc + (24 / TRW.Value) * accRh + (24 % TRW.Value) * accRw); }
        if (r > 25) { a25 = TOps.Load(acc + (25 / TRW.Value) * accRh + (25 % TRW.Value) * accRw); }
        if (r > 26) { a26 = TOps.Load(acc + (26 / TRW.Value) * accRh + (26 % TRW.Value) * accRw); }
        if (r > 27) { a27 = TOps.Load(acc + (27 / TRW.Value) * accRh + (27 % TRW.Value) * accRw); }
        for (int m = 0; m < images; m++, x += xImage, dy += dyImage)
        for (int i = 0; i < h; i++)
        {
            float* xp = x + i * xRow;
            float* dp = dy + i * dyRow;
            for (int j = 0; j < w; j++, xp += TS.Value, dp += 16)
            {
                TV d0 = TOps.Load(dp);
                TV d1 = TNV.Value > 1 ? TOps.Load(dp + dyV1) : TOps.Zero;
                TV xv;
                if (r > 0) { xv = TOps.Broadcast(xp + (0 / TRW.Value) * xRh + (0 % TRW.Value) * 1); a0 = TOps.Fma(xv, d0, a0); if (TNV.Value > 1) b0 = TOps.Fma(xv, d1, b0); }
                if (r > 1) { xv = TOps.Broadcast(xp + (1 / TRW.Value) * xRh + (1 % TRW.Value) * 1); a1 = TOps.Fma(xv, d0, a1); if (TNV.Value > 1) b1 = TOps.Fma(xv, d1, b1); }
                if (r > 2) { xv = TOps.Broadcast(xp + (2 / TRW.Value) * xRh + (2 % TRW.Value) * 1); a2 = TOps.Fma(xv, d0, a2); if (TNV.Value > 1) b2 = TOps.Fma(xv, d1, b2); }
                if (r > 3) { xv = TOps.Broadcast(xp + (3 / TRW.Value) * xRh + (3 % TRW.Value) * 1); a3 = TOps.Fma(xv, d0, a3); if (TNV.Value > 1) b3 = TOps.Fma(xv, d1, b3); }
                if (r > 4) { xv = TOps.Broadcast(xp + (4 / TRW.Value) * xRh + (4 % TRW.Value) * 1); a4 = TOps.Fma(xv, d0, a4); if (TNV.Value > 1) b4 = TOps.Fma(xv, d1, b4); }
                if (r > 5) { xv = TOps.Broadcast(xp + (5 / TRW.Value) * xRh + (5 % TRW.Value) * 1); a5 = TOps.Fma(xv, d0, a5); if (TNV.Value > 1) b5 = TOps.Fma(xv, d1, b5); }
                if (r > 6) { xv = TOps.Broadcast(xp + (6 / TRW.Value) * xRh + (6 % TRW.Value) * 1); a6 = TOps.Fma(xv, d0, a6); if (TNV.Value > 1) b6 = TOps.Fma(xv, d1, b6); }
                if (r > 7) { xv = TOps.Broadcast(xp + (7 / TRW.Value) * xRh + (7 % TRW.Value) * 1); a7 = TOps.Fma(xv, d0, a7); if (TNV.Value > 1) b7 = TOps.Fma(xv, d1, b7); }
                if (r > 8) { xv = TOps.Broadcast(xp + (8 / TRW.Value) * xRh + (8 % TRW.Value) * 1); a8 = TOps.Fma(xv, d0, a8); if (TNV.Value > 1) b8 = TOps.Fma(xv, d1, b8); }
                if (r > 9) { xv = TOps.Broadcast(xp + (9 / TRW.Value) * xRh + (9 % TRW.Value) * 1); a9 = TOps.Fma(xv, d0, a9); if (TNV.Value > 1) b9 = TOps.Fma(xv, d1, b9); }
                if (r > 10) { xv = TOps.Broadcast(xp + (10 / TRW.Value) * xRh + (10 % TRW.Value) * 1); a10 = TOps.Fma(xv, d0, a10); if (TNV.Value > 1) b10 = TOps.Fma(xv, d1, b10); }
                if (r > 11) { xv = TOps.Broadcast(xp + (11 / TRW.Value) * xRh + (11 % TRW.Value) * 1); a11 = TOps.Fma(xv, d0, a11); if (TNV.Value > 1) b11 = TOps.Fma(xv, d1, b11); }
                if (r > 12) { xv = TOps.Broadcast(xp + (12 / TRW.Value) * xRh + (12 % TRW.Value) * 1); a12 = TOps.Fma(xv, d0, a12); if (TNV.Value > 1) b12 = TOps.Fma(xv, d1, b12); }
                if (r > 13) { xv = TOps.Broadcast(xp + (13 / TRW.Value) * xRh + (13 % TRW.Value) * 1); a13 = TOps.Fma(xv, d0, a13); if (TNV.Value > 1) b13 = TOps.Fma(xv, d1, b13); }
                if (r > 14) { xv = TOps.Broadcast(xp + (14 / TRW.Value) * xRh + (14 % TRW.Value) * 1); a14 = TOps.Fma(xv, d0, a14); }
                if (r > 15) { xv = TOps.Broadcast(xp + (15 / TRW.Value) * xRh + (15 % TRW.Value) * 1); a15 = TOps.Fma(xv, d0, a15); }
                if (r > 16) { xv = TOps.Broadcast(xp + (16 / TRW.Value) * xRh + (16 % TRW.Value) * 1); a16 = TOps.Fma(xv, d0, a16); }
                if (r > 17) { xv = TOps.Broadcast(xp + (17 / TRW.Value) * xRh + (17 % TRW.Value) * 1); a17 = TOps.Fma(xv, d0, a17); }
                if (r > 18) { xv = TOps.Broadcast(xp + (18 / TRW.Value) * xRh + (18 % TRW.Value) * 1); a18 = TOps.Fma(xv, d0, a18); }
                if (r > 19) { xv = TOps.Broadcast(xp + (19 / TRW.Value) * xRh + (19 % TRW.Value) * 1); a19 = TOps.Fma(xv, d0, a19); }
                if (r > 20) { xv = TOps.Broadcast(xp + (20 / TRW.Value) * xRh + (20 % TRW.Value) * 1); a20 = TOps.Fma(xv, d0, a20); }
                if (r > 21) { xv = TOps.Broadcast(xp + (21 / TRW.Value) * xRh + (21 % TRW.Value) * 1); a21 = TOps.Fma(xv, d0, a21); }
                if (r > 22) { xv = TOps.Broadcast(xp + (22 / TRW.Value) * xRh + (22 % TRW.Value) * 1); a22 = TOps.Fma(xv, d0, a22); }
                if (r > 23) { xv = TOps.Broadcast(xp + (23 / TRW.Value) * xRh + (23 % TRW.Value) * 1); a23 = TOps.Fma(xv, d0, a23); }
                if (r > 24) { xv = TOps.Broadcast(xp + (24 / TRW.Value) * xRh + (24 % TRW.Value) * 1); a24 = TOps.Fma(xv, d0, a24); }
                if (r > 25) { xv = TOps.Broadcast(xp + (25 / TRW.Value) * xRh + (25 % TRW.Value) * 1); a25 = TOps.Fma(xv, d0, a25); }
                if (r > 26) { xv = TOps.Broadcast(xp + (26 / TRW.Value) * xRh + (26 % TRW.Value) * 1); a26 = TOps.Fma(xv, d0, a26); }
                if (r > 27) { xv = TOps.Broadcast(xp + (27 / TRW.Value) * xRh + (27 % TRW.Value) * 1); a27 = TOps.Fma(xv, d0, a27); }
            }
        }
        if (r > 0) { TOps.Store(acc + (0 / TRW.Value) * accRh + (0 % TRW.Value) * accRw, a0); if (TNV.Value > 1) TOps.Store(acc + (0 / TRW.Value) * accRh + (0 % TRW.Value) * accRw + TOps.Lanes, b0); }
        if (r > 1) { TOps.Store(acc + (1 / TRW.Value) * accRh + (1 % TRW.Value) * accRw, a1); if (TNV.Value > 1) TOps.Store(acc + (1 / TRW.Value) * accRh + (1 % TRW.Value) * accRw + TOps.Lanes, b1); }
        if (r > 2) { TOps.Store(acc + (2 / TRW.Value) * accRh + (2 % TRW.Value) * accRw, a2); if (TNV.Value > 1) TOps.Store(acc + (2 / TRW.Value) * accRh + (2 % TRW.Value) * accRw + TOps.Lanes, b2); }
        if (r > 3) { TOps.Store(acc + (3 / TRW.Value) * accRh + (3 % TRW.Value) * accRw, a3); if (TNV.Value > 1) TOps.Store(acc + (3 / TRW.Value) * accRh + (3 % TRW.Value) * accRw + TOps.Lanes, b3); }
        if (r > 4) { TOps.Store(acc + (4 / TRW.Value) * accRh + (4 % TRW.Value) * accRw, a4); if (TNV.Value > 1) TOps.Store(acc + (4 / TRW.Value) * accRh + (4 % TRW.Value) * accRw + TOps.Lanes, b4); }
        if (r > 5) { TOps.Store(acc + (5 / TRW.Value) * accRh + (5 % TRW.Value) * accRw, a5); if (TNV.Value > 1) TOps.Store(acc + (5 / TRW.Value) * accRh + (5 % TRW.Value) * accRw + TOps.Lanes, b5); }
        if (r > 6) { TOps.Store(acc + (6 / TRW.Value) * accRh + (6 % TRW.Value) * accRw, a6); if (TNV.Value > 1) TOps.Store(acc + (6 / TRW.Value) * accRh + (6 % TRW.Value) * accRw + TOps.Lanes, b6); }
        if (r > 7) { TOps.Store(acc + (7 / TRW.Value) * accRh + (7 % TRW.Value) * accRw, a7); if (TNV.Value > 1) TOps.Store(acc + (7 / TRW.Value) * accRh + (7 % TRW.Value) * accRw + TOps.Lanes, b7); }
        if (r > 8) { TOps.Store(acc + (8 / TRW.Value) * accRh + (8 % TRW.Value) * accRw, a8); if (TNV.Value > 1) TOps.Store(acc + (8 / TRW.Value) * accRh + (8 % TRW.Value) * accRw + TOps.Lanes, b8); }
        if (r > 9) { TOps.Store(acc + (9 / TRW.Value) * accRh + (9 % TRW.Value) * accRw, a9); if (TNV.Value > 1) TOps.Store(acc + (9 / TRW.Value) * accRh + (9 % TRW.Value) * accRw + TOps.Lanes, b9); }
        if (r > 10) { TOps.Store(acc + (10 / TRW.Value) * accRh + (10 % TRW.Value) * accRw, a10); if (TNV.Value > 1) TOps.Store(acc + (10 / TRW.Value) * accRh + (10 % TRW.Value) * accRw + TOps.Lanes, b10); }
        if (r > 11) { TOps.Store(acc + (11 / TRW.Value) * accRh + (11 % TRW.Value) * accRw, a11); if (TNV.Value > 1) TOps.Store(acc + (11 / TRW.Value) * accRh + (11 % TRW.Value) * accRw + TOps.Lanes, b11); }
        if (r > 12) { TOps.Store(acc + (12 / TRW.Value) * accRh + (12 % TRW.Value) * accRw, a12); if (TNV.Value > 1) TOps.Store(acc + (12 / TRW.Value) * accRh + (12 % TRW.Value) * accRw + TOps.Lanes, b12); }
        if (r > 13) { TOps.Store(acc + (13 / TRW.Value) * accRh + (13 % TRW.Value) * accRw, a13); if (TNV.Value > 1) TOps.Store(acc + (13 / TRW.Value) * accRh + (13 % TRW.Value) * accRw + TOps.Lanes, b13); }
        if (r > 14) { TOps.Store(acc + (14 / TRW.Value) * accRh + (14 % TRW.Value) * accRw, a14); }
        if (r > 15) { TOps.Store(acc + (15 / TRW.Value) * accRh + (15 % TRW.Value) * accRw, a15); }
        if (r > 16) { TOps.Store(acc + (16 / TRW.Value) * accRh + (16 % TRW.Value) * accRw, a16); }
        if (r > 17) { TOps.Store(acc + (17 / TRW.Value) * accRh + (17 % TRW.Value) * accRw, a17); }
        if (r > 18) { TOps.Store(acc + (18 / TRW.Value) * accRh + (18 % TRW.Value) * accRw, a18); }
        if (r > 19) { TOps.Store(acc + (19 / TRW.Value) * accRh + (19 % TRW.Value) * accRw, a19); }
        if (r > 20) { TOps.Store(acc + (20 / TRW.Value) * accRh + (20 % TRW.Value) * accRw, a20); }
        if (r > 21) { TOps.Store(acc + (21 / TRW.Value) * accRh + (21 % TRW.Value) * accRw, a21); }
        if (r > 22) { TOps.Store(acc + (22 / TRW.Value) * accRh + (22 % TRW.Value) * accRw, a22); }
        if (r > 23) { TOps.Store(acc + (23 / TRW.Value) * accRh + (23 % TRW.Value) * accRw, a23); }
        if (r > 24) { TOps.Store(acc + (24 / TRW.Value) * accRh + (24 % TRW.Value) * accRw, a24); }
        if (r > 25) { TOps.Store(acc + (25 / TRW.Value) * accRh + (25 % TRW.Value) * accRw, a25); }
        if (r > 26) { TOps.Store(acc + (26 / TRW.Value) * accRh + (26 % TRW.Value) * accRw, a26); }
        if (r > 27) { TOps.Store(acc + (27 / TRW.Value) * accRh + (27 % TRW.Value) * accRw, a27); }
    }
}
