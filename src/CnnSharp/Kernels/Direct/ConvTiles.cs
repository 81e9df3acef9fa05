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
internal static unsafe partial class ConvTiles
{
    /// <summary>
    /// Forward tile: <c>P</c> consecutive output pixels of one row times one output-channel group of
    /// <c>G = NV * Lanes</c> channels.
    /// <code>
    /// y[p][q] = bias[q] + sum over cb &lt; cinBlocks, kh &lt; k, j &lt; k*S of
    ///           x[cb*xPlane + kh*xRow + j + p*S] * w[((cb*k + kh)*k*S + j)*G + q]
    /// </code>
    /// The reduction index j walks kw and the input channels of a block together (they are contiguous in a padded
    /// row), so the inner loop is one broadcast per pixel plus NV weight loads per step: per step P broadcasts, NV loads,
    /// P*NV FMAs. Vector 0 of a pixel is stored at <c>y + p*16</c>, vector 1 at <c>y + yV1 + p*16</c> (yV1 = Lanes inside
    /// a 16-channel block, the plane stride when the group spans two blocks). Optional epilogue: ReLU, and per-channel
    /// sum and sum of squares added into <paramref name="sum"/>/<paramref name="sumSq"/> (G floats each; null to skip).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TOps, TV, TP, TNV, TS>(float* x, float* w, float* bias, float* y, nint yV1,
        int cinBlocks, nint xPlane, nint xRow, int k, float* sum, float* sumSq, bool relu)
        where TOps : struct, IVecOps<TV> where TV : struct where TP : struct, IConst where TNV : struct, IConst where TS : struct, IConst
    {
        TV bv0 = TOps.Load(bias);
        TV bv1 = TNV.Value > 1 ? TOps.Load(bias + TOps.Lanes) : TOps.Zero;
        TV a0 = bv0, a1 = bv0, a2 = bv0, a3 = bv0, a4 = bv0, a5 = bv0, a6 = bv0, a7 = bv0, a8 = bv0, a9 = bv0, a10 = bv0, a11 = bv0, a12 = bv0, a13 = bv0, a14 = bv0, a15 = bv0, a16 = bv0, a17 = bv0, a18 = bv0, a19 = bv0, a20 = bv0, a21 = bv0, a22 = bv0, a23 = bv0, a24 = bv0, a25 = bv0, a26 = bv0, a27 = bv0;
        TV b0 = bv1, b1 = bv1, b2 = bv1, b3 = bv1, b4 = bv1, b5 = bv1, b6 = bv1, b7 = bv1, b8 = bv1, b9 = bv1, b10 = bv1, b11 = bv1, b12 = bv1, b13 = bv1;
        int kS = k * TS.Value;
        nint step = TNV.Value * TOps.Lanes;
        float* wp = w;
        for (int cb = 0; cb < cinBlocks; cb++)
        {
            float* xc = x + cb * xPlane;
            for (int kh = 0; kh < k; kh++)
            {
                float* xj = xc + kh * xRow;
                float* xEnd = xj + kS;
                for (; xj < xEnd; xj++, wp += step)
                {
                    TV w0 = TOps.Load(wp);
                    TV w1 = TNV.Value > 1 ? TOps.Load(wp + TOps.Lanes) : TOps.Zero;
                    TV xv;
                    xv = TOps.Broadcast(xj + 0 * TS.Value); a0 = TOps.Fma(xv, w0, a0); if (TNV.Value > 1) b0 = TOps.Fma(xv, w1, b0);
                    if (TP.Value > 1) { xv = TOps.Broadcast(xj + 1 * TS.Value); a1 = TOps.Fma(xv, w0, a1); if (TNV.Value > 1) b1 = TOps.Fma(xv, w1, b1); }
                    if (TP.Value > 2) { xv = TOps.Broadcast(xj + 2 * TS.Value); a2 = TOps.Fma(xv, w0, a2); if (TNV.Value > 1) b2 = TOps.Fma(xv, w1, b2); }
                    if (TP.Value > 3) { xv = TOps.Broadcast(xj + 3 * TS.Value); a3 = TOps.Fma(xv, w0, a3); if (TNV.Value > 1) b3 = TOps.Fma(xv, w1, b3); }
                    if (TP.Value > 4) { xv = TOps.Broadcast(xj + 4 * TS.Value); a4 = TOps.Fma(xv, w0, a4); if (TNV.Value > 1) b4 = TOps.Fma(xv, w1, b4); }
                    if (TP.Value > 5) { xv = TOps.Broadcast(xj + 5 * TS.Value); a5 = TOps.Fma(xv, w0, a5); if (TNV.Value > 1) b5 = TOps.Fma(xv, w1, b5); }
                    if (TP.Value > 6) { xv = TOps.Broadcast(xj + 6 * TS.Value); a6 = TOps.Fma(xv, w0, a6); if (TNV.Value > 1) b6 = TOps.Fma(xv, w1, b6); }
                    if (TP.Value > 7) { xv = TOps.Broadcast(xj + 7 * TS.Value); a7 = TOps.Fma(xv, w0, a7); if (TNV.Value > 1) b7 = TOps.Fma(xv, w1, b7); }
                    if (TP.Value > 8) { xv = TOps.Broadcast(xj + 8 * TS.Value); a8 = TOps.Fma(xv, w0, a8); if (TNV.Value > 1) b8 = TOps.Fma(xv, w1, b8); }
                    if (TP.Value > 9) { xv = TOps.Broadcast(xj + 9 * TS.Value); a9 = TOps.Fma(xv, w0, a9); if (TNV.Value > 1) b9 = TOps.Fma(xv, w1, b9); }
                    if (TP.Value > 10) { xv = TOps.Broadcast(xj + 10 * TS.Value); a10 = TOps.Fma(xv, w0, a10); if (TNV.Value > 1) b10 = TOps.Fma(xv, w1, b10); }
                    if (TP.Value > 11) { xv = TOps.Broadcast(xj + 11 * TS.Value); a11 = TOps.Fma(xv, w0, a11); if (TNV.Value > 1) b11 = TOps.Fma(xv, w1, b11); }
                    if (TP.Value > 12) { xv = TOps.Broadcast(xj + 12 * TS.Value); a12 = TOps.Fma(xv, w0, a12); if (TNV.Value > 1) b12 = TOps.Fma(xv, w1, b12); }
                    if (TP.Value > 13) { xv = TOps.Broadcast(xj + 13 * TS.Value); a13 = TOps.Fma(xv, w0, a13); if (TNV.Value > 1) b13 = TOps.Fma(xv, w1, b13); }
                    if (TP.Value > 14) { xv = TOps.Broadcast(xj + 14 * TS.Value); a14 = TOps.Fma(xv, w0, a14); }
                    if (TP.Value > 15) { xv = TOps.Broadcast(xj + 15 * TS.Value); a15 = TOps.Fma(xv, w0, a15); }
                    if (TP.Value > 16) { xv = TOps.Broadcast(xj + 16 * TS.Value); a16 = TOps.Fma(xv, w0, a16); }
                    if (TP.Value > 17) { xv = TOps.Broadcast(xj + 17 * TS.Value); a17 = TOps.Fma(xv, w0, a17); }
                    if (TP.Value > 18) { xv = TOps.Broadcast(xj + 18 * TS.Value); a18 = TOps.Fma(xv, w0, a18); }
                    if (TP.Value > 19) { xv = TOps.Broadcast(xj + 19 * TS.Value); a19 = TOps.Fma(xv, w0, a19); }
                    if (TP.Value > 20) { xv = TOps.Broadcast(xj + 20 * TS.Value); a20 = TOps.Fma(xv, w0, a20); }
                    if (TP.Value > 21) { xv = TOps.Broadcast(xj + 21 * TS.Value); a21 = TOps.Fma(xv, w0, a21); }
                    if (TP.Value > 22) { xv = TOps.Broadcast(xj + 22 * TS.Value); a22 = TOps.Fma(xv, w0, a22); }
                    if (TP.Value > 23) { xv = TOps.Broadcast(xj + 23 * TS.Value); a23 = TOps.Fma(xv, w0, a23); }
                    if (TP.Value > 24) { xv = TOps.Broadcast(xj + 24 * TS.Value); a24 = TOps.Fma(xv, w0, a24); }
                    if (TP.Value > 25) { xv = TOps.Broadcast(xj + 25 * TS.Value); a25 = TOps.Fma(xv, w0, a25); }
                    if (TP.Value > 26) { xv = TOps.Broadcast(xj + 26 * TS.Value); a26 = TOps.Fma(xv, w0, a26); }
                    if (TP.Value > 27) { xv = TOps.Broadcast(xj + 27 * TS.Value); a27 = TOps.Fma(xv, w0, a27); }
                }
            }
        }
        if (relu)
        {
            TV z = TOps.Zero;
            a0 = TOps.Max(a0, z); if (TNV.Value > 1) b0 = TOps.Max(b0, z);
            if (TP.Value > 1) { a1 = TOps.Max(a1, z); if (TNV.Value > 1) b1 = TOps.Max(b1, z); }
            if (TP.Value > 2) { a2 = TOps.Max(a2, z); if (TNV.Value > 1) b2 = TOps.Max(b2, z); }
            if (TP.Value > 3) { a3 = TOps.Max(a3, z); if (TNV.Value > 1) b3 = TOps.Max(b3, z); }
            if (TP.Value > 4) { a4 = TOps.Max(a4, z); if (TNV.Value > 1) b4 = TOps.Max(b4, z); }
            if (TP.Value > 5) { a5 = TOps.Max(a5, z); if (TNV.Value > 1) b5 = TOps.Max(b5, z); }
            if (TP.Value > 6) { a6 = TOps.Max(a6, z); if (TNV.Value > 1) b6 = TOps.Max(b6, z); }
            if (TP.Value > 7) { a7 = TOps.Max(a7, z); if (TNV.Value > 1) b7 = TOps.Max(b7, z); }
            if (TP.Value > 8) { a8 = TOps.Max(a8, z); if (TNV.Value > 1) b8 = TOps.Max(b8, z); }
            if (TP.Value > 9) { a9 = TOps.Max(a9, z); if (TNV.Value > 1) b9 = TOps.Max(b9, z); }
            if (TP.Value > 10) { a10 = TOps.Max(a10, z); if (TNV.Value > 1) b10 = TOps.Max(b10, z); }
            if (TP.Value > 11) { a11 = TOps.Max(a11, z); if (TNV.Value > 1) b11 = TOps.Max(b11, z); }
            if (TP.Value > 12) { a12 = TOps.Max(a12, z); if (TNV.Value > 1) b12 = TOps.Max(b12, z); }
            if (TP.Value > 13) { a13 = TOps.Max(a13, z); if (TNV.Value > 1) b13 = TOps.Max(b13, z); }
            if (TP.Value > 14) { a14 = TOps.Max(a14, z); }
            if (TP.Value > 15) { a15 = TOps.Max(a15, z); }
            if (TP.Value > 16) { a16 = TOps.Max(a16, z); }
            if (TP.Value > 17) { a17 = TOps.Max(a17, z); }
            if (TP.Value > 18) { a18 = TOps.Max(a18, z); }
            if (TP.Value > 19) { a19 = TOps.Max(a19, z); }
            if (TP.Value > 20) { a20 = TOps.Max(a20, z); }
            if (TP.Value > 21) { a21 = TOps.Max(a21, z); }
            if (TP.Value > 22) { a22 = TOps.Max(a22, z); }
            if (TP.Value > 23) { a23 = TOps.Max(a23, z); }
            if (TP.Value > 24) { a24 = TOps.Max(a24, z); }
            if (TP.Value > 25) { a25 = TOps.Max(a25, z); }
            if (TP.Value > 26) { a26 = TOps.Max(a26, z); }
            if (TP.Value > 27) { a27 = TOps.Max(a27, z); }
        }
        TOps.Store(y + 0, a0); if (TNV.Value > 1) TOps.Store(y + yV1 + 0, b0);
        if (TP.Value > 1) { TOps.Store(y + 16, a1); if (TNV.Value > 1) TOps.Store(y + yV1 + 16, b1); }
        if (TP.Value > 2) { TOps.Store(y + 32, a2); if (TNV.Value > 1) TOps.Store(y + yV1 + 32, b2); }
        if (TP.Value > 3) { TOps.Store(y + 48, a3); if (TNV.Value > 1) TOps.Store(y + yV1 + 48, b3); }
        if (TP.Value > 4) { TOps.Store(y + 64, a4); if (TNV.Value > 1) TOps.Store(y + yV1 + 64, b4); }
        if (TP.Value > 5) { TOps.Store(y + 80, a5); if (TNV.Value > 1) TOps.Store(y + yV1 + 80, b5); }
        if (TP.Value > 6) { TOps.Store(y + 96, a6); if (TNV.Value > 1) TOps.Store(y + yV1 + 96, b6); }
        if (TP.Value > 7) { TOps.Store(y + 112, a7); if (TNV.Value > 1) TOps.Store(y + yV1 + 112, b7); }
        if (TP.Value > 8) { TOps.Store(y + 128, a8); if (TNV.Value > 1) TOps.Store(y + yV1 + 128, b8); }
        if (TP.Value > 9) { TOps.Store(y + 144, a9); if (TNV.Value > 1) TOps.Store(y + yV1 + 144, b9); }
        if (TP.Value > 10) { TOps.Store(y + 160, a10); if (TNV.Value > 1) TOps.Store(y + yV1 + 160, b10); }
        if (TP.Value > 11) { TOps.Store(y + 176, a11); if (TNV.Value > 1) TOps.Store(y + yV1 + 176, b11); }
        if (TP.Value > 12) { TOps.Store(y + 192, a12); if (TNV.Value > 1) TOps.Store(y + yV1 + 192, b12); }
        if (TP.Value > 13) { TOps.Store(y + 208, a13); if (TNV.Value > 1) TOps.Store(y + yV1 + 208, b13); }
        if (TP.Value > 14) { TOps.Store(y + 224, a14); }
        if (TP.Value > 15) { TOps.Store(y + 240, a15); }
        if (TP.Value > 16) { TOps.Store(y + 256, a16); }
        if (TP.Value > 17) { TOps.Store(y + 272, a17); }
        if (TP.Value > 18) { TOps.Store(y + 288, a18); }
        if (TP.Value > 19) { TOps.Store(y + 304, a19); }
        if (TP.Value > 20) { TOps.Store(y + 320, a20); }
        if (TP.Value > 21) { TOps.Store(y + 336, a21); }
        if (TP.Value > 22) { TOps.Store(y + 352, a22); }
        if (TP.Value > 23) { TOps.Store(y + 368, a23); }
        if (TP.Value > 24) { TOps.Store(y + 384, a24); }
        if (TP.Value > 25) { TOps.Store(y + 400, a25); }
        if (TP.Value > 26) { TOps.Store(y + 416, a26); }
        if (TP.Value > 27) { TOps.Store(y + 432, a27); }
        if (sum == null) return;
        TV s0 = a0, q0 = TOps.Mul(a0, a0), s1 = b0, q1 = TOps.Mul(b0, b0);
        if (TP.Value > 1) { s0 = TOps.Add(s0, a1); q0 = TOps.Fma(a1, a1, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b1); q1 = TOps.Fma(b1, b1, q1); } }
        if (TP.Value > 2) { s0 = TOps.Add(s0, a2); q0 = TOps.Fma(a2, a2, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b2); q1 = TOps.Fma(b2, b2, q1); } }
        if (TP.Value > 3) { s0 = TOps.Add(s0, a3); q0 = TOps.Fma(a3, a3, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b3); q1 = TOps.Fma(b3, b3, q1); } }
        if (TP.Value > 4) { s0 = TOps.Add(s0, a4); q0 = TOps.Fma(a4, a4, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b4); q1 = TOps.Fma(b4, b4, q1); } }
        if (TP.Value > 5) { s0 = TOps.Add(s0, a5); q0 = TOps.Fma(a5, a5, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b5); q1 = TOps.Fma(b5, b5, q1); } }
        if (TP.Value > 6) { s0 = TOps.Add(s0, a6); q0 = TOps.Fma(a6, a6, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b6); q1 = TOps.Fma(b6, b6, q1); } }
        if (TP.Value > 7) { s0 = TOps.Add(s0, a7); q0 = TOps.Fma(a7, a7, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b7); q1 = TOps.Fma(b7, b7, q1); } }
        if (TP.Value > 8) { s0 = TOps.Add(s0, a8); q0 = TOps.Fma(a8, a8, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b8); q1 = TOps.Fma(b8, b8, q1); } }
        if (TP.Value > 9) { s0 = TOps.Add(s0, a9); q0 = TOps.Fma(a9, a9, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b9); q1 = TOps.Fma(b9, b9, q1); } }
        if (TP.Value > 10) { s0 = TOps.Add(s0, a10); q0 = TOps.Fma(a10, a10, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b10); q1 = TOps.Fma(b10, b10, q1); } }
        if (TP.Value > 11) { s0 = TOps.Add(s0, a11); q0 = TOps.Fma(a11, a11, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b11); q1 = TOps.Fma(b11, b11, q1); } }
        if (TP.Value > 12) { s0 = TOps.Add(s0, a12); q0 = TOps.Fma(a12, a12, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b12); q1 = TOps.Fma(b12, b12, q1); } }
        if (TP.Value > 13) { s0 = TOps.Add(s0, a13); q0 = TOps.Fma(a13, a13, q0); if (TNV.Value > 1) { s1 = TOps.Add(s1, b13); q1 = TOps.Fma(b13, b13, q1); } }
        if (TP.Value > 14) { s0 = TOps.Add(s0, a14); q0 = TOps.Fma(a14, a14, q0); }
        if (TP.Value > 15) { s0 = TOps.Add(s0, a15); q0 = TOps.Fma(a15, a15, q0); }
        if (TP.Value > 16) { s0 = TOps.Add(s0, a16); q0 = TOps.Fma(a16, a16, q0); }
        if (TP.Value > 17) { s0 = TOps.Add(s0, a17); q0 = TOps.Fma(a17, a17, q0); }
        if (TP.Value > 18) { s0 = TOps.Add(s0, a18); q0 = TOps.Fma(a18, a18, q0); }
        if (TP.Value > 19) { s0 = TOps.Add(s0, a19); q0 = TOps.Fma(a19, a19, q0); }
        if (TP.Value > 20) { s0 = TOps.Add(s0, a20); q0 = TOps.Fma(a20, a20, q0); }
        if (TP.Value > 21) { s0 = TOps.Add(s0, a21); q0 = TOps.Fma(a21, a21, q0); }
        if (TP.Value > 22) { s0 = TOps.Add(s0, a22); q0 = TOps.Fma(a22, a22, q0); }
        if (TP.Value > 23) { s0 = TOps.Add(s0, a23); q0 = TOps.Fma(a23, a23, q0); }
        if (TP.Value > 24) { s0 = TOps.Add(s0, a24); q0 = TOps.Fma(a24, a24, q0); }
        if (TP.Value > 25) { s0 = TOps.Add(s0, a25); q0 = TOps.Fma(a25, a25, q0); }
        if (TP.Value > 26) { s0 = TOps.Add(s0, a26); q0 = TOps.Fma(a26, a26, q0); }
        if (TP.Value > 27) { s0 = TOps.Add(s0, a27); q0 = TOps.Fma(a27, a27, q0); }
        TOps.Store(sum, TOps.Add(TOps.Load(sum), s0));
        TOps.Store(sumSq, TOps.Add(TOps.Load(sumSq), q0));
        if (TNV.Value > 1)
        {
            TOps.Store(sum + TOps.Lanes, TOps.Add(TOps.Load(sum + TOps.Lanes), s1));
            TOps.Store(sumSq + TOps.Lanes, TOps.Add(TOps.Load(sumSq + TOps.Lanes), q1));
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
