using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// A 3x3, stride-1, padding-1 convolution of a whole NCHW batch by Winograd F(4x4, 3x3) with the tiles of every image
/// folded into one GEMM per transform position: for each of the 36 positions x, <c>M_x[P x K] = V_x[P x C] · U_x[C x K]</c>,
/// P = N · ceil(H/4) · ceil(W/4) tiles. Inference only (no statistics, no backward).
/// </summary>
/// <remarks>
/// <para>Why: the per-image kernels (<see cref="WinogradConv2d"/>, and <see cref="DirectConv2d"/> which the inference
/// chains use on maps of at most 16 tiles) stream all of the transformed weights once per image, which at 256-512
/// channels (ResNet-18's 14x14 and 7x7 stages: U is 9.4 and 37.7 MB) is more memory traffic than arithmetic. Folding the
/// batch turns the 36 products into GEMMs of P = 128 (7x7, batch 32) to 512 (14x14) rows, which the packed GEMM
/// (<see cref="Gemm"/>, 8x32 AVX-512 or 6x16 AVX2 register tiles) runs from cache; F(4x4, 3x3) does 36 multiply-adds per
/// 16 outputs instead of 144 (3x fewer than the direct kernel even with 49 of 64 tile outputs used at 7x7).</para>
/// <para>Steps, all on <see cref="Parallelism"/>: (1) per image, a transpose into a zero-bordered [4·TR+2][4·TC+2][C]
/// buffer (so every tile's 6x6 window is in bounds) and the input transform V = B^T d B of each tile, 8 channels per
/// vector (<see cref="WinogradTiles.InputTile"/>), into V [36][P][C]; (2) per position, one sequential GEMM into
/// M [36][P][K] (positions split over the threads); (3) per image, the output transform Y = A^T M A
/// (<see cref="WinogradTiles.OutputTile4"/>) plus bias, plus an optional residual, then the clamp to [lower, upper], stored
/// NCHW (only the outputs inside H x W). Every output is computed by the same operations in the same order whatever the
/// thread count (the GEMM is never split along C), so results do not depend on it.</para>
/// <para>Weights: PyTorch's (K, C, 3, 3), transformed by <see cref="PackWeights"/> into U [36][C][K] (G applied in double,
/// rounded once; <see cref="WinogradConv2d.PackWeightsPart"/> computes it). Scratch: V and M are per calling thread and
/// shared by every plan on that thread (<see cref="ScratchFloats"/>), the padded image per worker thread.</para>
/// <para>Vectors: the transforms, bias and clamp use <see cref="Vector256{T}"/>, or <see cref="Vector512{T}"/> in a
/// <see cref="Wide"/> plan (<see cref="WideFor"/>: the V512 path on 512-bit hardware, as <see cref="WinogradConv2d"/>;
/// the same bits), and the GEMM runs the path of the level passed in; below V256 the transforms run in software (right values, slowly), so plans use this
/// kernel only at V256 and V512.</para>
/// </remarks>
internal sealed unsafe class BatchWinogradConv2d
{
    private const int Positions = WinogradTiles.Positions;

    [ThreadStatic] private static float[]? t_scratch;
    [ThreadStatic] private static float[]? t_image;

    private readonly WinogradConv2d _weights;

    // The parallel bodies, made once (a forward allocates nothing), and the operands of the forward in progress.
    private readonly Action<int, int> _transformImages, _multiplyPositions, _outputImages;
    private float* _x, _u, _bias, _residual, _y, _v, _m;
    private float _lower, _upper;
    private IsaLevel _level;

    /// <summary>Plans the convolution of <paramref name="batch"/> images of <paramref name="height"/> x <paramref name="width"/>,
    /// <paramref name="inChannels"/> to <paramref name="outChannels"/> channels; <paramref name="wide"/>: the transforms and
    /// the epilogue on 16-lane vectors (<see cref="Wide"/>, the same bits as 8 lanes; plans take <see cref="WideFor"/>).</summary>
    /// <exception cref="ArgumentException">A size is not positive, or a channel count is not a multiple of 16.</exception>
    public BatchWinogradConv2d(int batch, int inChannels, int outChannels, int height, int width, bool wide = false)
    {
        if (batch <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"BatchWinogradConv2d: batch {batch} and map {height}x{width} must be positive");
        _weights = new WinogradConv2d(inChannels, outChannels, 1, height, width, kernelSize: 3);
        Batch = batch;
        TileRows = (height + 3) / 4;
        TileColumns = (width + 3) / 4;
        long tiles = (long)batch * TileRows * TileColumns;
        if (tiles * Positions * (inChannels + outChannels) > Array.MaxLength)
            throw new ArgumentException($"BatchWinogradConv2d: batch {batch} of {height}x{width} maps at {inChannels}->{outChannels} channels needs more scratch than one array holds");
        Tiles = (int)tiles;
        Wide = wide;
        _transformImages = (start, end) =>
        {
            for (int i = start; i < end; i++) TransformImage(i);
        };
        _multiplyPositions = (start, end) =>
        {
            for (int pos = start; pos < end; pos++) MultiplyPosition(pos);
        };
        _outputImages = (start, end) =>
        {
            for (int i = start; i < end; i++) OutputImage(i);
        };
    }

    /// <summary>Whether a plan for GEMMs of <paramref name="level"/> should be <see cref="Wide"/>: the rule (and the A/B
    /// switch, <see cref="WinogradConv2d.Wide512"/>) of <see cref="WinogradConv2d.For"/>, so one flag turns both.</summary>
    public static bool WideFor(IsaLevel level) => WinogradConv2d.WideFor(level);

    /// <summary>Whether the input and output transforms, the bias and the clamp run on 16-lane vectors
    /// (<see cref="Vector512{T}"/>) instead of 8: every lane sees the same operations, so the bits are the same.</summary>
    public bool Wide { get; }

    /// <summary>Images N.</summary>
    public int Batch { get; }

    /// <summary>Input channels C (a multiple of 16).</summary>
    public int InChannels => _weights.InChannels;

    /// <summary>Output channels K (a multiple of 16).</summary>
    public int OutChannels => _weights.OutChannels;

    /// <summary>Map height (input and output).</summary>
    public int Height => _weights.Height;

    /// <summary>Map width (input and output).</summary>
    public int Width => _weights.Width;

    /// <summary>Tile rows per image, ceil(H/4).</summary>
    public int TileRows { get; }

    /// <summary>Tile columns per image, ceil(W/4).</summary>
    public int TileColumns { get; }

    /// <summary>Tiles of the whole batch, P.</summary>
    public int Tiles { get; }

    /// <summary>Floats of U (<see cref="PackWeights"/>'s output): 36·C·K.</summary>
    public int PackedLength => _weights.PackedLength;

    /// <summary>Floats of the calling thread's scratch: V and M, 36·P·(C + K).</summary>
    public long ScratchFloats => (long)Positions * Tiles * (InChannels + OutChannels);

    /// <summary>
    /// U = G g G^T of PyTorch-layout weights (K, C, 3, 3) into <paramref name="packed"/> ([36][C][K], <see cref="PackedLength"/>
    /// floats), over the worker pool (each 16-channel output group independently, so the bits do not depend on the threads).
    /// </summary>
    /// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
    public void PackWeights(ReadOnlySpan<float> weight, Span<float> packed)
    {
        if (weight.Length != _weights.WeightLength)
            throw new ArgumentException($"BatchWinogradConv2d: expected {_weights.WeightLength} weights, got {weight.Length}", nameof(weight));
        if (packed.Length != PackedLength)
            throw new ArgumentException($"BatchWinogradConv2d: expected {PackedLength} packed floats, got {packed.Length}", nameof(packed));
        int cin = InChannels, cout = OutChannels, groups = cout / 16;
        int groupFloats = Positions * cin * 16;
        fixed (float* w = weight, u = packed)
        {
            var (wp, up, len) = ((nint)w, (nint)u, weight.Length);
            Parallelism.For(groups, (start, end) =>
            {
                var rented = ArrayPool<float>.Shared.Rent(groupFloats);
                try
                {
                    fixed (float* tmp = rented)
                    {
                        var src = new ReadOnlySpan<float>((float*)wp, len);
                        for (int g = start; g < end; g++)
                        {
                            // Part g of K/16 is exactly output group g ([K/16][36][C][16]): shift the base so that group lands in tmp.
                            _weights.PackWeightsPart(src, transposeAndFlip: false, tmp - (nint)g * groupFloats, g, groups);
                            float* dst = (float*)up + g * 16;
                            for (int i = 0; i < Positions * cin; i++)
                                Vector256.Load(tmp + i * 16).Store(dst + (nint)i * cout);
                            for (int i = 0; i < Positions * cin; i++)
                                Vector256.Load(tmp + i * 16 + 8).Store(dst + (nint)i * cout + 8);
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(rented);
                }
            });
        }
    }

    /// <summary>
    /// <c>y = clamp(conv(x, w) + bias + residual, lower, upper)</c> for the whole batch, NCHW in and out.
    /// </summary>
    /// <param name="x">Input, N·C·H·W floats.</param>
    /// <param name="packed">U from <see cref="PackWeights"/>.</param>
    /// <param name="bias">K floats.</param>
    /// <param name="residual">N·K·H·W floats added before the clamp, or empty for none.</param>
    /// <param name="y">Output, N·K·H·W floats (may not overlap x or residual).</param>
    /// <param name="lower">Lower clamp (0 for a ReLU, -∞ for none).</param>
    /// <param name="upper">Upper clamp (+∞ for none).</param>
    /// <param name="level">SIMD level of the GEMM.</param>
    /// <exception cref="ArgumentException">A buffer has the wrong length.</exception>
    public void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> packed, ReadOnlySpan<float> bias, ReadOnlySpan<float> residual, Span<float> y,
        float lower, float upper, IsaLevel level)
    {
        int n = Batch, cin = InChannels, cout = OutChannels, h = Height, w = Width;
        long inLength = (long)n * cin * h * w, outLength = (long)n * cout * h * w;
        if (x.Length != inLength) throw new ArgumentException($"BatchWinogradConv2d: expected {inLength} input floats, got {x.Length}", nameof(x));
        if (y.Length != outLength) throw new ArgumentException($"BatchWinogradConv2d: expected {outLength} output floats, got {y.Length}", nameof(y));
        if (!residual.IsEmpty && residual.Length != outLength)
            throw new ArgumentException($"BatchWinogradConv2d: expected {outLength} residual floats, got {residual.Length}", nameof(residual));
        if (packed.Length != PackedLength) throw new ArgumentException($"BatchWinogradConv2d: expected {PackedLength} packed floats, got {packed.Length}", nameof(packed));
        if (bias.Length != cout) throw new ArgumentException($"BatchWinogradConv2d: expected {cout} bias floats, got {bias.Length}", nameof(bias));

        var scratch = t_scratch is { } s && s.Length >= ScratchFloats ? s : t_scratch = GC.AllocateUninitializedArray<float>((int)ScratchFloats, pinned: true);
        fixed (float* px = x, pu = packed, pb = bias, pr = residual, py = y, pv = scratch)
        {
            _x = px;
            _u = pu;
            _bias = pb;
            _residual = pr;
            _y = py;
            _v = pv;
            _m = pv + (long)Positions * Tiles * cin;
            (_lower, _upper, _level) = (lower, upper, level);
            try
            {
                Parallelism.For(n, _transformImages);
                Parallelism.For(Positions, _multiplyPositions);
                Parallelism.For(n, _outputImages);
            }
            finally
            {
                // No pointer into the caller's buffers outlives the call.
                _x = _u = _bias = _residual = _y = _v = _m = null;
            }
        }
    }

    // Position pos: M_pos = V_pos · U_pos on this thread (never split along C, so the bits do not depend on the threads).
    private void MultiplyPosition(int pos)
    {
        int p = Tiles, cin = InChannels, cout = OutChannels;
        var v = new ReadOnlySpan<float>(_v + pos * (long)p * cin, p * cin);
        var u = new ReadOnlySpan<float>(_u + pos * (long)cin * cout, cin * cout);
        var m = new Span<float>(_m + pos * (long)p * cout, p * cout);
        Gemm.Multiply(_level, false, false, p, cout, cin, v, cin, u, cout, m, cout, accumulate: false, parallel: false);
    }

    // This thread's image buffer: the padded blocked input [C/16][4TR+2][4TC+2][16] and a staging plane [H·W][16] in
    // step 1, the blocked output [K/16][H·W][16] in step 3.
    private float[] ImageBuffer()
    {
        int hw = Height * Width;
        int length = Math.Max(InChannels / 16 * PaddedPlane + hw * 16, OutChannels * hw);
        return t_image is { } b && b.Length >= length ? b : t_image = GC.AllocateUninitializedArray<float>(length, pinned: true);
    }

    private int PaddedPlane => (TileRows * 4 + 2) * (TileColumns * 4 + 2) * 16;

    // Image i: NCHW -> padded blocked (zero border wide enough for every tile's 6x6 window), then V of its tiles.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformImage(int image)
    {
        int cin = InChannels, h = Height, w = Width, hw = h * w;
        int cols = TileColumns * 4 + 2;
        nint plane = PaddedPlane, line = (nint)cols * 16;
        fixed (float* pad = ImageBuffer())
        {
            float* stage = pad + cin / 16 * plane;
            new Span<float>(pad, (int)(cin / 16 * plane)).Clear();
            float* src = _x + (long)image * cin * hw;
            bool vector = ChannelTranspose.Vectorised;
            for (int cb = 0; cb < cin / 16; cb++)
            {
                // The whole plane at once (49 pixels at 7x7: whole 8x8 register transposes), then row by row into the border.
                ChannelTranspose.ToBlocked(src + (long)cb * 16 * hw, hw, 1, stage, hw, accumulate: false, vector);
                for (int r = 0; r < h; r++)
                    new ReadOnlySpan<float>(stage + r * w * 16, w * 16).CopyTo(new Span<float>(pad + cb * plane + (r + 1) * line + 16, w * 16));
            }
            if (Wide) InputTiles<V512Ops, Vector512<float>>(image, pad);
            else InputTiles<V256Ops, Vector256<float>>(image, pad);
        }
    }

    // V of image i's tiles from its padded blocked input, TOps.Lanes channels per call.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void InputTiles<TOps, TV>(int image, float* pad) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int cin = InChannels, lanes = TOps.Lanes;
        nint plane = PaddedPlane, line = (nint)(TileColumns * 4 + 2) * 16;
        float* tmp = stackalloc float[Positions * 16];
        nint vPosition = (nint)Tiles * cin;
        int first = image * TileRows * TileColumns;
        for (int tr = 0; tr < TileRows; tr++)
            for (int tc = 0; tc < TileColumns; tc++)
            {
                float* origin = pad + tr * 4 * line + tc * 4 * 16;
                float* dst = _v + (long)(first + tr * TileColumns + tc) * cin;
                for (int c = 0; c < cin; c += lanes)
                    WinogradTiles.InputTile<TOps, TV>(origin + c / 16 * plane + c % 16, line, 16, tmp, dst + c, vPosition);
            }
    }

    // Image i: Y = A^T M A of its tiles + bias into the blocked output (only the outputs inside H x W), then NCHW into y
    // (added to the residual copied there first: (conv + bias) + residual, one rounding as in the reference), clamped.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OutputImage(int image)
    {
        int cout = OutChannels, hw = Height * Width;
        bool vector = ChannelTranspose.Vectorised;
        fixed (float* blocked = ImageBuffer())
        {
            if (Wide) OutputTiles<V512Ops, Vector512<float>>(image, blocked);
            else OutputTiles<V256Ops, Vector256<float>>(image, blocked);
            bool clamp = _lower > float.NegativeInfinity || _upper < float.PositiveInfinity;
            for (int kb = 0; kb < cout / 16; kb++)
            {
                long at = ((long)image * cout + kb * 16) * hw;
                float* y = _y + at;
                if (_residual != null) new ReadOnlySpan<float>(_residual + at, 16 * hw).CopyTo(new Span<float>(y, 16 * hw));
                ChannelTranspose.FromBlocked(blocked + (long)kb * hw * 16, y, hw, 1, hw, accumulate: _residual != null, vector);
                if (!clamp) continue;
                if (Wide)
                {
                    var lower = Vector512.Create(_lower);
                    var upper = Vector512.Create(_upper);
                    for (int i = 0; i < 16 * hw; i += 16)
                        Vector512.Min(Vector512.Max(Vector512.Load(y + i), lower), upper).Store(y + i);
                }
                else
                {
                    var lower = Vector256.Create(_lower);
                    var upper = Vector256.Create(_upper);
                    for (int i = 0; i < 16 * hw; i += 8)
                        Vector256.Min(Vector256.Max(Vector256.Load(y + i), lower), upper).Store(y + i);
                }
            }
        }
    }

    // Y = A^T M A + bias of image i's tiles into its blocked output [K/16][H·W][16], TOps.Lanes channels per call.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OutputTiles<TOps, TV>(int image, float* blocked) where TOps : struct, IVecOps<TV> where TV : struct
    {
        int cout = OutChannels, h = Height, w = Width, hw = h * w, lanes = TOps.Lanes;
        float* tmp = stackalloc float[24 * 16];
        float* tile = stackalloc float[16 * 16];
        nint mPosition = (nint)Tiles * cout;
        int first = image * TileRows * TileColumns;
        for (int tr = 0; tr < TileRows; tr++)
            for (int tc = 0; tc < TileColumns; tc++)
            {
                int oy = tr * 4, ox = tc * 4, rows = Math.Min(4, h - oy), cols = Math.Min(4, w - ox);
                float* mt = _m + (long)(first + tr * TileColumns + tc) * cout;
                for (int k0 = 0; k0 < cout; k0 += lanes)
                {
                    WinogradTiles.OutputTile4<TOps, TV>(mt + k0, mPosition, tmp, tile);
                    var b = TOps.Load(_bias + k0);
                    float* dst = blocked + (long)k0 / 16 * hw * 16 + k0 % 16 + (oy * w + ox) * 16;
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < cols; c++)
                            TOps.Store(dst + (r * w + c) * 16, TOps.Add(TOps.Load(tile + (r * 4 + c) * lanes), b));
                }
            }
    }
}
