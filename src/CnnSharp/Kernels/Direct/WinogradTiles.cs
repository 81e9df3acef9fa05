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
    /// V = B^T d B for one 6x6 tile of 8 channels. d[r][c] is at <paramref name="d"/> + r*<paramref name="dRow"/> +
    /// c*<paramref name="dPixel"/>; V[i][j] is stored at <paramref name="v"/> + (i*6 + j)*<paramref name="vPosition"/>;
    /// <paramref name="tmp"/> holds 36 vectors of scratch (the row pass, d B).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputTile(float* d, nint dRow, nint dPixel, float* tmp, float* v, nint vPosition)
    {
        // Row pass: tmp[r][*] = B^T applied to row r (i.e. (d B)[r][*], B^T being applied along the columns).
        for (int r = 0; r < Side; r++, d += dRow, tmp += Side * 8)
        {
            Transform6(
                Vector256.Load(d), Vector256.Load(d + dPixel), Vector256.Load(d + 2 * dPixel),
                Vector256.Load(d + 3 * dPixel), Vector256.Load(d + 4 * dPixel), Vector256.Load(d + 5 * dPixel),
                out var t0, out var t1, out var t2, out var t3, out var t4, out var t5);
            t0.Store(tmp); t1.Store(tmp + 8); t2.Store(tmp + 16); t3.Store(tmp + 24); t4.Store(tmp + 32); t5.Store(tmp + 40);
        }
        tmp -= Positions * 8;
        // Column pass: V[*][j] = B^T applied to column j of d B.
        nint row = Side * 8;
        for (int j = 0; j < Side; j++, tmp += 8, v += vPosition)
        {
            Transform6(
                Vector256.Load(tmp), Vector256.Load(tmp + row), Vector256.Load(tmp + 2 * row),
                Vector256.Load(tmp + 3 * row), Vector256.Load(tmp + 4 * row), Vector256.Load(tmp + 5 * row),
                out var t0, out var t1, out var t2, out var t3, out var t4, out var t5);
            nint step = Side * vPosition;
            t0.Store(v); t1.Store(v + step); t2.Store(v + 2 * step); t3.Store(v + 3 * step); t4.Store(v + 4 * step); t5.Store(v + 5 * step);
        }
    }

    // B^T times a 6-vector, factored to 12 operations (4 of them fused multiply-adds).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform6(Vector256<float> d0, Vector256<float> d1, Vector256<float> d2, Vector256<float> d3, Vector256<float> d4, Vector256<float> d5,
        out Vector256<float> t0, out Vector256<float> t1, out Vector256<float> t2, out Vector256<float> t3, out Vector256<float> t4, out Vector256<float> t5)
    {
        var four = Vector256.Create(4f);
        var minusFive = Vector256.Create(-5f);
        var p = Vector256.MultiplyAddEstimate(four, d1, -d3);   // 4 d1 - d3
        var q = Vector256.MultiplyAddEstimate(four, d2, -d4);   // 4 d2 - d4
        var r = (d1 - d3) * Vector256.Create(2f);               // 2 d1 - 2 d3
        var s = d2 - d4;
        t0 = Vector256.MultiplyAddEstimate(minusFive, d2, Vector256.MultiplyAddEstimate(four, d0, d4));
        t1 = p + q;
        t2 = p - q;
        t3 = r + s;
        t4 = r - s;
        t5 = Vector256.MultiplyAddEstimate(minusFive, d3, Vector256.MultiplyAddEstimate(four, d1, d5));
    }

    /// <summary>
    /// The transform-domain products of a block of <c>TP</c> tiles (1..6) with one 16-channel output group, for all 36
    /// positions: for each position x,
    /// <code>
    /// m[x*mPosition + t*mTile + q] = sum over c &lt; channels of v[x*vPosition + t*vTile + c] * u[(x*channels + c)*16 + q]   (q &lt; 16)
    /// </code>
    /// Register tile: TP tiles x 2 vectors = up to 12 accumulators; per input channel 2 loads of U, TP broadcasts of V,
    /// 2*TP FMAs (the direct kernels' forward tile shape). U streams contiguously through the 36 positions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gemm<TP>(float* v, nint vPosition, nint vTile, float* u, int channels, float* m, nint mPosition, nint mTile)
        where TP : struct, IConst
    {
        for (int x = 0; x < Positions; x++, v += vPosition, m += mPosition)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
            float* vc = v;
            float* end = v + channels;
            for (; vc < end; vc++, u += 16)
            {
                var w0 = Vector256.Load(u);
                var w1 = Vector256.Load(u + 8);
                Vector256<float> xv;
                xv = Vector256.Create(*vc); a0 = Vector256.MultiplyAddEstimate(xv, w0, a0); b0 = Vector256.MultiplyAddEstimate(xv, w1, b0);
                if (TP.Value > 1) { xv = Vector256.Create(vc[vTile]); a1 = Vector256.MultiplyAddEstimate(xv, w0, a1); b1 = Vector256.MultiplyAddEstimate(xv, w1, b1); }
                if (TP.Value > 2) { xv = Vector256.Create(vc[2 * vTile]); a2 = Vector256.MultiplyAddEstimate(xv, w0, a2); b2 = Vector256.MultiplyAddEstimate(xv, w1, b2); }
                if (TP.Value > 3) { xv = Vector256.Create(vc[3 * vTile]); a3 = Vector256.MultiplyAddEstimate(xv, w0, a3); b3 = Vector256.MultiplyAddEstimate(xv, w1, b3); }
                if (TP.Value > 4) { xv = Vector256.Create(vc[4 * vTile]); a4 = Vector256.MultiplyAddEstimate(xv, w0, a4); b4 = Vector256.MultiplyAddEstimate(xv, w1, b4); }
                if (TP.Value > 5) { xv = Vector256.Create(vc[5 * vTile]); a5 = Vector256.MultiplyAddEstimate(xv, w0, a5); b5 = Vector256.MultiplyAddEstimate(xv, w1, b5); }
            }
            a0.Store(m); b0.Store(m + 8);
            if (TP.Value > 1) { a1.Store(m + mTile); b1.Store(m + mTile + 8); }
            if (TP.Value > 2) { a2.Store(m + 2 * mTile); b2.Store(m + 2 * mTile + 8); }
            if (TP.Value > 3) { a3.Store(m + 3 * mTile); b3.Store(m + 3 * mTile + 8); }
            if (TP.Value > 4) { a4.Store(m + 4 * mTile); b4.Store(m + 4 * mTile + 8); }
            if (TP.Value > 5) { a5.Store(m + 5 * mTile); b5.Store(m + 5 * mTile + 8); }
        }
    }

    /// <summary>The <see cref="Gemm{TP}"/> instantiation for <paramref name="tiles"/> tiles (1..6).</summary>
    public static delegate*<float*, nint, nint, float*, int, float*, nint, nint, void> GemmFor(int tiles) => tiles switch
    {
        1 => &Gemm<C1>,
        2 => &Gemm<C2>,
        3 => &Gemm<C3>,
        4 => &Gemm<C4>,
        5 => &Gemm<C5>,
        6 => &Gemm<C6>,
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
    /// Y = A^T M A for one F(4x4, 3x3) tile and 8 channels, without bias: M[i][j] is at <paramref name="m"/> +
    /// (i*6 + j)*<paramref name="mPosition"/>; Y[r][c] is stored at <paramref name="y"/> + (r*4 + c)*8 (16 vectors);
    /// <paramref name="tmp"/> holds 24 vectors of scratch (the row pass, M A).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void OutputTile4(float* m, nint mPosition, float* tmp, float* y)
    {
        nint row = Side * mPosition;
        for (int i = 0; i < Side; i++, m += row)
        {
            Reduce4(Vector256.Load(m), Vector256.Load(m + mPosition), Vector256.Load(m + 2 * mPosition),
                Vector256.Load(m + 3 * mPosition), Vector256.Load(m + 4 * mPosition), Vector256.Load(m + 5 * mPosition),
                out var o0, out var o1, out var o2, out var o3);
            float* t = tmp + i * 32;
            o0.Store(t); o1.Store(t + 8); o2.Store(t + 16); o3.Store(t + 24);
        }
        for (int c = 0; c < 4; c++, tmp += 8, y += 8)
        {
            Reduce4(Vector256.Load(tmp), Vector256.Load(tmp + 32), Vector256.Load(tmp + 64),
                Vector256.Load(tmp + 96), Vector256.Load(tmp + 128), Vector256.Load(tmp + 160),
                out var o0, out var o1, out var o2, out var o3);
            o0.Store(y); o1.Store(y + 32); o2.Store(y + 64); o3.Store(y + 96);
        }
    }

    // A^T of F(4, 3) times 6 values: (x0 + s12 + s34, d12 + 2 d34, s12 + 4 s34, d12 + 8 d34 + x5), s/d the sums/differences.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Reduce4(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4, Vector256<float> x5,
        out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3)
    {
        var s12 = x1 + x2;
        var d12 = x1 - x2;
        var s34 = x3 + x4;
        var d34 = x3 - x4;
        o0 = x0 + s12 + s34;
        o1 = Vector256.MultiplyAddEstimate(Vector256.Create(2f), d34, d12);
        o2 = Vector256.MultiplyAddEstimate(Vector256.Create(4f), s34, s12);
        o3 = Vector256.MultiplyAddEstimate(Vector256.Create(8f), d34, d12) + x5;
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
