using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// The three per-tile stages of Winograd F(2x2, 5x5) and F(4x4, 3x3) on 8-channel <see cref="Vector256{T}"/> lanes (see
/// <see cref="WinogradConv2d"/> for the plan and the layouts): the input transform V = B^T d B of one 6x6 input tile
/// (the same B^T for both), the transform-domain GEMM of a block of tiles against U for all 36 positions, and the
/// output transform Y = A^T M A of one tile's 6x6 products into its 2x2 or 4x4 outputs.
/// </summary>
/// <remarks>
/// Matrices (derived and verified in exact arithmetic by tests/reference/derive_winograd.py; Toom-Cook with
/// points 0, 1, -1, 2, -2 and infinity, Lavin and Gray 2015):
/// <code>
/// B^T = [ 4  0 -5  0  1  0 ]      A^T = [ 1  1  1  1  1  0 ]
///       [ 0  4  4 -1 -1  0 ]            [ 0  1 -1  2 -2  1 ]
///       [ 0  4 -4 -1  1  0 ]
///       [ 0  2  1 -2 -1  0 ]
///       [ 0  2 -1 -2  1  0 ]
///       [ 0  4  0 -5  0  1 ]
/// </code>
/// F(4x4, 3x3) uses the same points, hence the same B^T (its G evaluates the 3-tap filter polynomial with the same row
/// scales), and A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
/// B^T and A^T are integral, so the float transforms only add small integer multiples; every fraction sits in G,
/// which <see cref="WinogradConv2d.PackWeights"/> applies in double precision.
/// </remarks>
internal static unsafe class WinogradTiles
{
    /// <summary>Input tile side (m + r - 1 = 2 + 5 - 1).</summary>
    public const int Side = 6;

    /// <summary>Transform positions per tile (6 x 6).</summary>
    public const int Positions = Side * Side;

    /// <summary>
    /// V = B^T d B for one 6x6 tile of <c>TOps.Lanes</c> channels (8 or 16). d[r][c] is at <paramref name="d"/> +
    /// r*<paramref name="dRow"/> + c*<paramref name="dPixel"/>; V[i][j] is stored at <paramref name="v"/> +
    /// (i*6 + j)*<paramref name="vPosition"/>; <paramref name="tmp"/> holds 36 vectors of scratch (the row pass, d B).
    /// Every lane sees the same operations at either width, so 8- and 16-channel calls give the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputTile<TOps, TV>(float* d, nint dRow, nint dPixel, float* tmp, float* v, nint vPosition)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Lanes;
        // Row pass: tmp[r][*] = B^T applied to row r (i.e. (d B)[r][*], B^T being applied along the columns).
        for (int r = 0; r < Side; r++, d += dRow, tmp += Side * lanes)
        {
            Transform6<TOps, TV>(
                TOps.Load(d), TOps.Load(d + dPixel), TOps.Load(d + 2 * dPixel),
                TOps.Load(d + 3 * dPixel), TOps.Load(d + 4 * dPixel), TOps.Load(d + 5 * dPixel),
                out var t0, out var t1, out var t2, out var t3, out var t4, out var t5);
            TOps.Store(tmp, t0); TOps.Store(tmp + lanes, t1); TOps.Store(tmp + 2 * lanes, t2);
            TOps.Store(tmp + 3 * lanes, t3); TOps.Store(tmp + 4 * lanes, t4); TOps.Store(tmp + 5 * lanes, t5);
        }
        tmp -= Positions * lanes;
        // Column pass: V[*][j] = B^T applied to column j of d B.
        nint row = Side * lanes;
        for (int j = 0; j < Side; j++, tmp += lanes, v += vPosition)
        {
            Transform6<TOps, TV>(
                TOps.Load(tmp), TOps.Load(tmp + row), TOps.Load(tmp + 2 * row),
                TOps.Load(tmp + 3 * row), TOps.Load(tmp + 4 * row), TOps.Load(tmp + 5 * row),
                out var t0, out var t1, out var t2, out var t3, out var t4, out var t5);
            nint step = Side * vPosition;
            TOps.Store(v, t0); TOps.Store(v + step, t1); TOps.Store(v + 2 * step, t2);
            TOps.Store(v + 3 * step, t3); TOps.Store(v + 4 * step, t4); TOps.Store(v + 5 * step, t5);
        }
    }

    // B^T times a 6-vector, factored to 12 operations (4 of them fused multiply-adds).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform6<TOps, TV>(TV d0, TV d1, TV d2, TV d3, TV d4, TV d5,
        out TV t0, out TV t1, out TV t2, out TV t3, out TV t4, out TV t5)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        var four = TOps.Splat(4f);
        var minusFive = TOps.Splat(-5f);
        var p = TOps.Fma(four, d1, TOps.Sub(TOps.Zero, d3));   // 4 d1 - d3
        var q = TOps.Fma(four, d2, TOps.Sub(TOps.Zero, d4));   // 4 d2 - d4
        var r = TOps.Mul(TOps.Sub(d1, d3), TOps.Splat(2f));     // 2 d1 - 2 d3
        var s = TOps.Sub(d2, d4);
        t0 = TOps.Fma(minusFive, d2, TOps.Fma(four, d0, d4));
        t1 = TOps.Add(p, q);
        t2 = TOps.Sub(p, q);
        t3 = TOps.Add(r, s);
        t4 = TOps.Sub(r, s);
        t5 = TOps.Fma(minusFive, d3, TOps.Fma(four, d1, d5));
    }

    /// <summary>
    /// The transform-domain products of a block of <c>TP</c> tiles (1..6) with one 16-channel output group, for all 36
    /// positions: for each position x,
    /// <code>
    /// m[x*mPosition + t*mTile + q] = sum over c &lt; channels of v[x*vPosition + t*vTile + c] * u[(x*channels + c)*16 + q]   (q &lt; 16)
    /// </code>
    /// Register tile: TP tiles x 16 channels (2 vectors of 8, or 1 of 16) = up to 12 accumulators; per input channel
    /// 16 floats of U loaded, TP broadcasts of V, TP fused multiply-adds per vector of U. U streams contiguously through the
    /// 36 positions. Each output lane sums its products in channel order at either width (the same bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gemm<TP, TOps, TV>(float* v, nint vPosition, nint vTile, float* u, int channels, float* m, nint mPosition, nint mTile)
        where TP : struct, IConst where TOps : struct, IVecOps<TV> where TV : struct
    {
        // Two vectors per 16 channels at 8 lanes (a, b), one at 16 (a only: the JIT drops b's code).
        bool two = TOps.Lanes == 8;
        for (int x = 0; x < Positions; x++, v += vPosition, m += mPosition)
        {
            TV a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero;
            TV b0 = TOps.Zero, b1 = TOps.Zero, b2 = TOps.Zero, b3 = TOps.Zero, b4 = TOps.Zero, b5 = TOps.Zero;
            float* vc = v;
            float* end = v + channels;
            for (; vc < end; vc++, u += 16)
            {
                var w0 = TOps.Load(u);
                var w1 = two ? TOps.Load(u + 8) : w0;
                TV xv;
                xv = TOps.Broadcast(vc); a0 = TOps.Fma(xv, w0, a0); if (two) b0 = TOps.Fma(xv, w1, b0);
                if (TP.Value > 1) { xv = TOps.Broadcast(vc + vTile); a1 = TOps.Fma(xv, w0, a1); if (two) b1 = TOps.Fma(xv, w1, b1); }
                if (TP.Value > 2) { xv = TOps.Broadcast(vc + 2 * vTile); a2 = TOps.Fma(xv, w0, a2); if (two) b2 = TOps.Fma(xv, w1, b2); }
                if (TP.Value > 3) { xv = TOps.Broadcast(vc + 3 * vTile); a3 = TOps.Fma(xv, w0, a3); if (two) b3 = TOps.Fma(xv, w1, b3); }
                if (TP.Value > 4) { xv = TOps.Broadcast(vc + 4 * vTile); a4 = TOps.Fma(xv, w0, a4); if (two) b4 = TOps.Fma(xv, w1, b4); }
                if (TP.Value > 5) { xv = TOps.Broadcast(vc + 5 * vTile); a5 = TOps.Fma(xv, w0, a5); if (two) b5 = TOps.Fma(xv, w1, b5); }
            }
            Store16<TOps, TV>(m, a0, b0);
            if (TP.Value > 1) Store16<TOps, TV>(m + mTile, a1, b1);
            if (TP.Value > 2) Store16<TOps, TV>(m + 2 * mTile, a2, b2);
            if (TP.Value > 3) Store16<TOps, TV>(m + 3 * mTile, a3, b3);
            if (TP.Value > 4) Store16<TOps, TV>(m + 4 * mTile, a4, b4);
            if (TP.Value > 5) Store16<TOps, TV>(m + 5 * mTile, a5, b5);
        }
    }

    // 16 floats from one 16-lane vector, or two 8-lane ones.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store16<TOps, TV>(float* p, TV a, TV b) where TOps : struct, IVecOps<TV> where TV : struct
    {
        TOps.Store(p, a);
        if (TOps.Lanes == 8) TOps.Store(p + 8, b);
    }

    /// <summary>The <see cref="Gemm{TP, TOps, TV}"/> instantiation for <paramref name="tiles"/> tiles (1..6), 8 or
    /// (<paramref name="wide"/>) 16 lanes.</summary>
    public static delegate*<float*, nint, nint, float*, int, float*, nint, nint, void> GemmFor(int tiles, bool wide = false) =>
        wide ? GemmFor<V512Ops, Vector512<float>>(tiles) : GemmFor<V256Ops, Vector256<float>>(tiles);

    private static delegate*<float*, nint, nint, float*, int, float*, nint, nint, void> GemmFor<TOps, TV>(int tiles)
        where TOps : struct, IVecOps<TV> where TV : struct => tiles switch
    {
        1 => &Gemm<C1, TOps, TV>,
        2 => &Gemm<C2, TOps, TV>,
        3 => &Gemm<C3, TOps, TV>,
        4 => &Gemm<C4, TOps, TV>,
        5 => &Gemm<C5, TOps, TV>,
        6 => &Gemm<C6, TOps, TV>,
        _ => throw new ArgumentOutOfRangeException(nameof(tiles), tiles, "Winograd GEMM tiles must be 1..6"),
    };

    /// <summary>
    /// Y = A^T M A + bias for one tile and 8 channels: M[i][j] is at <paramref name="m"/> + (i*6 + j)*<paramref name="mPosition"/>.
    /// Returns the four outputs (y00, y01, y10, y11: row, column) before any ReLU.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void OutputTile(float* m, nint mPosition, Vector256<float> bias,
        out Vector256<float> y00, out Vector256<float> y01, out Vector256<float> y10, out Vector256<float> y11)
    {
        nint row = Side * mPosition;
        // Rows 0..5 reduced along j with A^T (two values per row), then combined along i with A^T, as they come.
        Row(m, mPosition, out var r00, out var r01);
        Row(m + row, mPosition, out var r10, out var r11);
        Row(m + 2 * row, mPosition, out var r20, out var r21);
        var top0 = r00 + r10 + r20;
        var top1 = r01 + r11 + r21;
        var bot0 = r10 - r20;
        var bot1 = r11 - r21;
        Row(m + 3 * row, mPosition, out var r30, out var r31);
        Row(m + 4 * row, mPosition, out var r40, out var r41);
        var two = Vector256.Create(2f);
        top0 += r30 + r40;
        top1 += r31 + r41;
        bot0 = Vector256.MultiplyAddEstimate(two, r30 - r40, bot0);
        bot1 = Vector256.MultiplyAddEstimate(two, r31 - r41, bot1);
        Row(m + 5 * row, mPosition, out var r50, out var r51);
        y00 = top0 + bias;
        y01 = top1 + bias;
        y10 = bot0 + r50 + bias;
        y11 = bot1 + r51 + bias;
    }

    /// <summary>
    /// Y = A^T M A for one F(4x4, 3x3) tile and <c>TOps.Lanes</c> channels (8 or 16, the same bits per lane), without
    /// bias: M[i][j] is at <paramref name="m"/> + (i*6 + j)*<paramref name="mPosition"/>; Y[r][c] is stored at
    /// <paramref name="y"/> + (r*4 + c)*Lanes (16 vectors); <paramref name="tmp"/> holds 24 vectors of scratch (the row
    /// pass, M A).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void OutputTile4<TOps, TV>(float* m, nint mPosition, float* tmp, float* y)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Lanes;
        nint row = Side * mPosition;
        for (int i = 0; i < Side; i++, m += row)
        {
            Reduce4<TOps, TV>(TOps.Load(m), TOps.Load(m + mPosition), TOps.Load(m + 2 * mPosition),
                TOps.Load(m + 3 * mPosition), TOps.Load(m + 4 * mPosition), TOps.Load(m + 5 * mPosition),
                out var o0, out var o1, out var o2, out var o3);
            float* t = tmp + i * 4 * lanes;
            TOps.Store(t, o0); TOps.Store(t + lanes, o1); TOps.Store(t + 2 * lanes, o2); TOps.Store(t + 3 * lanes, o3);
        }
        nint r4 = 4 * lanes;
        for (int c = 0; c < 4; c++, tmp += lanes, y += lanes)
        {
            Reduce4<TOps, TV>(TOps.Load(tmp), TOps.Load(tmp + r4), TOps.Load(tmp + 2 * r4),
                TOps.Load(tmp + 3 * r4), TOps.Load(tmp + 4 * r4), TOps.Load(tmp + 5 * r4),
                out var o0, out var o1, out var o2, out var o3);
            TOps.Store(y, o0); TOps.Store(y + r4, o1); TOps.Store(y + 2 * r4, o2); TOps.Store(y + 3 * r4, o3);
        }
    }

    // A^T of F(4, 3) times 6 values: (x0 + s12 + s34, d12 + 2 d34, s12 + 4 s34, d12 + 8 d34 + x5), s/d the sums/differences.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Reduce4<TOps, TV>(TV x0, TV x1, TV x2, TV x3, TV x4, TV x5, out TV o0, out TV o1, out TV o2, out TV o3)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        var s12 = TOps.Add(x1, x2);
        var d12 = TOps.Sub(x1, x2);
        var s34 = TOps.Add(x3, x4);
        var d34 = TOps.Sub(x3, x4);
        o0 = TOps.Add(TOps.Add(x0, s12), s34);
        o1 = TOps.Fma(TOps.Splat(2f), d34, d12);
        o2 = TOps.Fma(TOps.Splat(4f), s34, s12);
        o3 = TOps.Add(TOps.Fma(TOps.Splat(8f), d34, d12), x5);
    }

    // A^T times the 6 values of one row: (x0 + x1 + x2 + x3 + x4, x1 - x2 + 2 (x3 - x4) + x5).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* m, nint step, out Vector256<float> o0, out Vector256<float> o1)
    {
        var x0 = Vector256.Load(m);
        var x1 = Vector256.Load(m + step);
        var x2 = Vector256.Load(m + 2 * step);
        var x3 = Vector256.Load(m + 3 * step);
        var x4 = Vector256.Load(m + 4 * step);
        var x5 = Vector256.Load(m + 5 * step);
        o0 = x0 + (x1 + x2) + (x3 + x4);
        o1 = Vector256.MultiplyAddEstimate(Vector256.Create(2f), x3 - x4, x1 - x2) + x5;
    }
}
