using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// The weight gradient of a <see cref="WinogradConv2d"/> convolution computed in the Winograd domain: per tile,
/// V = B^T d B of the input window (the forward's input transform) and D = A dY A^T of the output gradient tile, then
/// for each of the 36 positions the GEMM dU[x][c][k] += sum over tiles of V[x][tile][c] * D[x][tile][k], and once per
/// accumulation dW = G^T dU G (<see cref="ToDirect"/>). The same multiply count as the forward: 4x fewer than
/// <see cref="DirectConv2d.WeightGradImage"/> for 3x3 (F(4x4, 3x3)), 2.8x fewer for 5x5 (F(2x2, 5x5)).
/// </summary>
/// <remarks>
/// <para>Why it is exact: forward is Y = A^T [U ⊙ V] A with U = G g G^T, so dU = sum over tiles of V ⊙ (A dY A^T) and
/// dg = G^T dU G. Outputs of an edge tile outside Ho x Wo have no gradient (read as zero), so their products vanish
/// whatever the input window holds.</para>
/// <para>Layouts (floats): x as <see cref="WinogradConv2d"/>'s input (padded, blocked, zero border); dy blocked,
/// [K/16][Ho][Wo][16] with caller strides; the accumulator dU [36][C][K] (<see cref="AccumulatorLength"/>);
/// <see cref="ToDirect"/> writes [kh][kw][C][K], the layout of <see cref="DirectConv2d"/>'s weight-gradient accumulator,
/// so <see cref="DirectConv2d.UnpackWeightGrad"/> reduces and unpacks either.</para>
/// <para>Accuracy: the float transforms amplify values by up to 15 per direction (A's rows 1, 2, 4, 8) before G's
/// fractions bring them back; the tests bound the error relative to the gradient scale.</para>
/// <para>Vectors are <see cref="Vector256{T}"/>, as in <see cref="WinogradConv2d"/> (built only where that plan is).</para>
/// </remarks>
internal sealed unsafe class WinogradWeightGrad
{
    /// <summary>Most tiles transformed per block: the accumulator is loaded and stored once per block, so larger blocks
    /// amortise it better; 16 keeps V and D of a 64 -> 64 block at 295 KB.</summary>
    public const int MaxTilesPerBlock = 16;

    /// <summary>Plans build this kernel only while true: an A/B switch for the benchmarks (false: the direct weight gradient).</summary>
    internal static bool Enabled { get; set; } = true;

    private const int Positions = WinogradTiles.Positions;
    private readonly WinogradConv2d _conv;
    private readonly (int Start, int Count)[] _blocks;
    private readonly ChannelRun[] _channelRuns;
    private readonly float[] _g;
    private readonly int _vPosition, _dPosition;

    /// <summary>Plans the weight gradient of <paramref name="conv"/>.</summary>
    public WinogradWeightGrad(WinogradConv2d conv)
    {
        ArgumentNullException.ThrowIfNull(conv);
        _conv = conv;
        _blocks = [.. DirectConv2d.Split(conv.TileRows * conv.TileColumns, MaxTilesPerBlock)];
        TilesPerBlock = _blocks.Max(b => b.Count);
        // The forward plan's padding of the position strides (WinogradConv2d.PositionPad: 16 tiles of 16 or 32 channels
        // would otherwise put a tile's 36 positions 1 or 2 KB apart, in 4 or 2 of the L1's sets).
        int pad = WinogradConv2d.PadPositions ? WinogradConv2d.PositionPad : 0;
        _vPosition = TilesPerBlock * conv.InChannels + pad;
        _dPosition = TilesPerBlock * conv.OutChannels + pad;
        _channelRuns = [.. DirectConv2d.Split(conv.InChannels, 6).Select(r => new ChannelRun(r.Start, GemmFor(r.Count, conv.Wide)))];
        // G (6 x k) column by column: G applied to the unit vectors, in double, as PackWeights applies it.
        int k = conv.KernelSize;
        _g = new float[Positions / 6 * k];
        Span<double> unit = stackalloc double[k];
        Span<double> u = stackalloc double[6];
        for (int tap = 0; tap < k; tap++)
        {
            unit.Clear();
            unit[tap] = 1;
            WinogradConv2d.ApplyG(unit, u);
            for (int i = 0; i < 6; i++) _g[i * k + tap] = (float)u[i];
        }
    }

    /// <summary>Most tiles in one block.</summary>
    public int TilesPerBlock { get; }

    /// <summary>Floats of the transform-domain accumulator dU, [36][C][K].</summary>
    public int AccumulatorLength => Positions * _conv.InChannels * _conv.OutChannels;

    /// <summary>Floats of scratch one <see cref="AccumulateImage"/> call needs: V and D of one block and two 6x6 vector tiles.</summary>
    public int ScratchLength => Positions * (_vPosition + _dPosition) + 2 * WinogradConv2d.TileScratch;

    /// <summary>
    /// Adds one image's weight gradient, in the Winograd domain, into <paramref name="acc"/> (dU, [36][C][K]; clear it
    /// before the first image).
    /// </summary>
    /// <param name="x">The padded blocked input image the forward read.</param>
    /// <param name="dy">Output gradient pixel (0, 0) of channel block 0 (blocked).</param>
    /// <param name="dyPlane">Floats between gradient channel blocks.</param>
    /// <param name="dyRow">Floats between gradient rows.</param>
    /// <param name="acc"><see cref="AccumulatorLength"/> floats.</param>
    /// <param name="scratch"><see cref="ScratchLength"/> floats owned by the calling thread.</param>
    public void AccumulateImage(float* x, float* dy, nint dyPlane, nint dyRow, float* acc, float* scratch)
    {
        int cin = _conv.InChannels, cout = _conv.OutChannels;
        nint vPosition = _vPosition, dPosition = _dPosition;
        float* v = scratch;
        float* d = v + Positions * vPosition;
        float* tmp = d + Positions * dPosition;
        float* edge = tmp + WinogradConv2d.TileScratch;
        foreach (var (start, count) in _blocks)
        {
            for (int t = 0; t < count; t++)
            {
                _conv.TransformInput(x, start + t, v + t * cin, vPosition, tmp, edge);
                if (_conv.Wide) TransformGradient<V512Ops, Vector512<float>>(start + t, dy, dyPlane, dyRow, d + t * cout, dPosition, tmp);
                else TransformGradient<V256Ops, Vector256<float>>(start + t, dy, dyPlane, dyRow, d + t * cout, dPosition, tmp);
            }
            for (int p = 0; p < Positions; p++)
                foreach (var run in _channelRuns)
                    run.Gemm(v + p * vPosition + run.Start, cin, d + p * dPosition, cout, count, acc + ((long)p * cin + run.Start) * cout, cout);
        }
    }

    /// <summary>Writes dW = G^T dU G of <paramref name="acc"/> into <paramref name="direct"/>, [kh][kw][C][K] (overwritten).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ToDirect(float* acc, float* direct)
    {
        int k = _conv.KernelSize;
        long pairs = (long)_conv.InChannels * _conv.OutChannels;
        Vector256<float>* t = stackalloc Vector256<float>[6 * 5];
        Vector256<float>* w = stackalloc Vector256<float>[6];
        fixed (float* g = _g)
        {
            for (long e = 0; e < pairs; e += 8)
            {
                // t[i][b] = sum over j of dU[i][j] G[j][b] (rows of dU times G), then dW[a][b] = sum over i of G[i][a] t[i][b].
                for (int i = 0; i < 6; i++)
                {
                    for (int j = 0; j < 6; j++) w[j] = Vector256.Load(acc + (i * 6 + j) * pairs + e);
                    for (int b = 0; b < k; b++)
                    {
                        var s = Vector256<float>.Zero;
                        for (int j = 0; j < 6; j++) s = Vector256.MultiplyAddEstimate(w[j], Vector256.Create(g[j * k + b]), s);
                        t[i * k + b] = s;
                    }
                }
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++)
                    {
                        var s = Vector256<float>.Zero;
                        for (int i = 0; i < 6; i++) s = Vector256.MultiplyAddEstimate(t[i * k + b], Vector256.Create(g[i * k + a]), s);
                        s.Store(direct + (a * k + b) * pairs + e);
                    }
            }
        }
    }

    // D = A dY A^T of one tile for every output channel: D[i][j] of TOps.Lanes channels at d + (i*6 + j)*dPosition; gradient
    // outside Ho x Wo reads as zero. tmp holds the row pass (m rows of 6 vectors). The same operations per lane at 8 or 16 lanes.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformGradient<TOps, TV>(int tile, float* dy, nint dyPlane, nint dyRow, float* d, nint dPosition, float* tmp)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Lanes;
        int m = _conv.TileSize;
        int oy = tile / _conv.TileColumns * m, ox = tile % _conv.TileColumns * m;
        int rows = Math.Min(m, _conv.OutHeight - oy), cols = Math.Min(m, _conv.OutWidth - ox);
        float* origin = dy + oy * dyRow + ox * 16;
        var zero = TOps.Zero;
        for (int ch = 0; ch < _conv.OutChannels; ch += lanes)
        {
            float* src = origin + ch / 16 * dyPlane + ch % 16;
            for (int r = 0; r < m; r++)
            {
                float* row = src + r * dyRow;
                float* e = tmp + r * 6 * lanes;
                if (r >= rows)
                {
                    for (int j = 0; j < 6; j++) TOps.Store(e + j * lanes, zero);
                    continue;
                }
                var d0 = TOps.Load(row);
                var d1 = cols > 1 ? TOps.Load(row + 16) : zero;
                var d2 = cols > 2 ? TOps.Load(row + 32) : zero;
                var d3 = cols > 3 ? TOps.Load(row + 48) : zero;
                Expand<TOps, TV>(m, d0, d1, d2, d3, e, lanes);
            }
            float* dk = d + ch;
            nint r6 = 6 * lanes;
            for (int j = 0; j < 6; j++)
            {
                var c0 = TOps.Load(tmp + j * lanes);
                var c1 = TOps.Load(tmp + r6 + j * lanes);
                var c2 = m > 2 ? TOps.Load(tmp + 2 * r6 + j * lanes) : zero;
                var c3 = m > 2 ? TOps.Load(tmp + 3 * r6 + j * lanes) : zero;
                Expand<TOps, TV>(m, c0, c1, c2, c3, dk + j * dPosition, 6 * dPosition);
            }
        }
    }

    // A times m = 2 or 4 values (A^T's columns): (d0, sum, alternating sum, sum of 2^r d_r, of (-2)^r d_r, last), the
    // values of the tile's output polynomial at 0, 1, -1, 2, -2 and its leading coefficient; stored at out + i*step.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Expand<TOps, TV>(int m, TV d0, TV d1, TV d2, TV d3, float* output, nint step)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        var even = TOps.Add(d0, d2);
        var odd = TOps.Add(d1, d3);
        var even2 = TOps.Fma(TOps.Splat(4f), d2, d0);
        var odd2 = TOps.Fma(TOps.Splat(8f), d3, TOps.Add(d1, d1));
        TOps.Store(output, d0);
        TOps.Store(output + step, TOps.Add(even, odd));
        TOps.Store(output + 2 * step, TOps.Sub(even, odd));
        TOps.Store(output + 3 * step, TOps.Add(even2, odd2));
        TOps.Store(output + 4 * step, TOps.Sub(even2, odd2));
        TOps.Store(output + 5 * step, m == 2 ? d1 : d3);
    }

    /// <summary>
    /// dU[c][k] += sum over <paramref name="tiles"/> of v[t*vTile + c] * d[t*dTile + k] for TP channels c and all
    /// <paramref name="cout"/> k (rows of <paramref name="u"/> <paramref name="cout"/> apart), 16 k at a time: TP
    /// accumulators of 16 lanes (two vectors of 8, or one of 16) over the whole block, per tile 16 floats of D loaded,
    /// TP broadcasts of V, TP fused multiply-adds per vector; each lane sums its tiles in order at either width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm<TP, TOps, TV>(float* v, nint vTile, float* d, nint dTile, int tiles, float* u, int cout)
        where TP : struct, IConst where TOps : struct, IVecOps<TV> where TV : struct
    {
        bool two = TOps.Lanes == 8;
        for (int kq = 0; kq < cout; kq += 16)
        {
            float* uq = u + kq;
            TV a0 = TOps.Load(uq), b0 = two ? TOps.Load(uq + 8) : a0;
            TV a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero;
            TV b1 = TOps.Zero, b2 = TOps.Zero, b3 = TOps.Zero, b4 = TOps.Zero, b5 = TOps.Zero;
            if (TP.Value > 1) { a1 = TOps.Load(uq + cout); if (two) b1 = TOps.Load(uq + cout + 8); }
            if (TP.Value > 2) { a2 = TOps.Load(uq + 2 * cout); if (two) b2 = TOps.Load(uq + 2 * cout + 8); }
            if (TP.Value > 3) { a3 = TOps.Load(uq + 3 * cout); if (two) b3 = TOps.Load(uq + 3 * cout + 8); }
            if (TP.Value > 4) { a4 = TOps.Load(uq + 4 * cout); if (two) b4 = TOps.Load(uq + 4 * cout + 8); }
            if (TP.Value > 5) { a5 = TOps.Load(uq + 5 * cout); if (two) b5 = TOps.Load(uq + 5 * cout + 8); }
            float* vt = v;
            float* dt = d + kq;
            for (int t = 0; t < tiles; t++, vt += vTile, dt += dTile)
            {
                var w0 = TOps.Load(dt);
                var w1 = two ? TOps.Load(dt + 8) : w0;
                TV xv;
                xv = TOps.Broadcast(vt); a0 = TOps.Fma(xv, w0, a0); if (two) b0 = TOps.Fma(xv, w1, b0);
                if (TP.Value > 1) { xv = TOps.Broadcast(vt + 1); a1 = TOps.Fma(xv, w0, a1); if (two) b1 = TOps.Fma(xv, w1, b1); }
                if (TP.Value > 2) { xv = TOps.Broadcast(vt + 2); a2 = TOps.Fma(xv, w0, a2); if (two) b2 = TOps.Fma(xv, w1, b2); }
                if (TP.Value > 3) { xv = TOps.Broadcast(vt + 3); a3 = TOps.Fma(xv, w0, a3); if (two) b3 = TOps.Fma(xv, w1, b3); }
                if (TP.Value > 4) { xv = TOps.Broadcast(vt + 4); a4 = TOps.Fma(xv, w0, a4); if (two) b4 = TOps.Fma(xv, w1, b4); }
                if (TP.Value > 5) { xv = TOps.Broadcast(vt + 5); a5 = TOps.Fma(xv, w0, a5); if (two) b5 = TOps.Fma(xv, w1, b5); }
            }
            TOps.Store(uq, a0); if (two) TOps.Store(uq + 8, b0);
            if (TP.Value > 1) { TOps.Store(uq + cout, a1); if (two) TOps.Store(uq + cout + 8, b1); }
            if (TP.Value > 2) { TOps.Store(uq + 2 * cout, a2); if (two) TOps.Store(uq + 2 * cout + 8, b2); }
            if (TP.Value > 3) { TOps.Store(uq + 3 * cout, a3); if (two) TOps.Store(uq + 3 * cout + 8, b3); }
            if (TP.Value > 4) { TOps.Store(uq + 4 * cout, a4); if (two) TOps.Store(uq + 4 * cout + 8, b4); }
            if (TP.Value > 5) { TOps.Store(uq + 5 * cout, a5); if (two) TOps.Store(uq + 5 * cout + 8, b5); }
        }
    }

    private static delegate*<float*, nint, float*, nint, int, float*, int, void> GemmFor(int channels, bool wide) =>
        wide ? GemmFor<V512Ops, Vector512<float>>(channels) : GemmFor<V256Ops, Vector256<float>>(channels);

    private static delegate*<float*, nint, float*, nint, int, float*, int, void> GemmFor<TOps, TV>(int channels)
        where TOps : struct, IVecOps<TV> where TV : struct => channels switch
    {
        1 => &Gemm<C1, TOps, TV>,
        2 => &Gemm<C2, TOps, TV>,
        3 => &Gemm<C3, TOps, TV>,
        4 => &Gemm<C4, TOps, TV>,
        5 => &Gemm<C5, TOps, TV>,
        6 => &Gemm<C6, TOps, TV>,
        _ => throw new ArgumentOutOfRangeException(nameof(channels), channels, "Winograd weight-gradient GEMM channels must be 1..6"),
    };

    /// <summary>A run of up to 6 input channels and the GEMM instantiation for its size.</summary>
    private readonly struct ChannelRun(int start, delegate*<float*, nint, float*, nint, int, float*, int, void> gemm)
    {
        public readonly int Start = start;
        public readonly delegate*<float*, nint, float*, nint, int, float*, int, void> Gemm = gemm;
    }
}
