using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// A planned stride-1 5x5 or 3x3 convolution by Winograd minimal filtering F(2x2, 5x5) or F(4x4, 3x3), with the same
/// data contract as <see cref="DirectConv2d.ForwardImage"/>: 36 multiplies per 2x2 outputs and input channel instead of
/// 100 (5x5, 2.8x fewer), or per 4x4 outputs instead of 144 (3x3, 4x fewer), paid for with three cheap transforms.
/// </summary>
/// <remarks>
/// <para>Geometry: C input and K output channels (both multiples of 16), a 5x5 kernel, padding p on every side, stride 1,
/// one group. Output Ho = H + 2p - k + 1. Any Ho, Wo &gt;= 1 works: the output is covered by ceil(Ho/m) x ceil(Wo/m)
/// tiles of m x m outputs (m = 2 for 5x5, 4 for 3x3, both reading 6x6 input windows);
/// a tile on an odd edge reads its 6x6 input window through a zero-filled copy (so it never reads past the padded
/// buffer) and stores only its valid outputs (so it never writes past the output).</para>
/// <para>Layouts (floats), as <see cref="DirectConv2d"/>:
/// input x: padded and blocked, [C/16][H+2p][W+2p][16], zero border;
/// output y: blocked, [K/16][Ho][Wo][16] with caller-chosen plane and row strides;
/// weight: PyTorch's (K, C, k, k), transformed by <see cref="PackWeights"/> into U = G g G^T stored as
/// [K/16][36][C][16] (output group, transform position, input channel, 16 output channels);
/// scratch: <see cref="ScratchLength"/> floats per concurrent caller (one per thread).</para>
/// <para>Per image the tiles (row-major over the tile grid) are cut into GEMM runs of 5-6 and processed in blocks of
/// whole runs (about <see cref="TilesPerBlock"/> tiles): input transform
/// V = B^T d B of every tile and channel into scratch ([36][tiles][C]); for each 16-channel output group and each run
/// of up to 6 tiles, one register-blocked GEMM over all 36 positions into M ([36][tiles][K]); output transform
/// Y = A^T M A + bias, optional ReLU and per-channel sums, stored.</para>
/// <para>One image over several threads: <see cref="ForwardPart"/> computes one block of tiles for a range of output
/// channel groups (it redoes that block's input transform); the parts write disjoint outputs and each output is
/// computed by the same operations in the same order whatever the partition, so results do not depend on it.</para>
/// <para>Accuracy: B^T and A^T are integral (every fraction is in G, applied in double), so the only extra rounding
/// compared with the direct kernel comes from the transforms' additions, whose intermediate values are at most a
/// few tens of times the inputs (F(4x4, 3x3)'s A^T adds weights up to 8 per direction); the tests bound the error
/// relative to the output scale.</para>
/// <para>Backward-input of a conv C -> K with pad p is this forward of K -> C with pad k - 1 - p over the padded output
/// gradient, weights transposed and flipped (<see cref="ForBackwardInput"/>, <c>PackWeights(w, transposeAndFlip: true, ...)</c>).</para>
/// <para>Vectors are <see cref="Vector256{T}"/>: use it where the direct kernels run the V256 or V512 path; on other
/// paths it still computes the right values (in software), but slowly.</para>
/// </remarks>
internal sealed unsafe class WinogradConv2d
{

    /// <summary>
    /// Default block size: two GEMM runs. Measured on the tutorial's conv2 (Zen 3), 6 to 49 tiles per block are within the
    /// noise of each other; two runs keep the scratch at ~83 KB per thread (V and M of one block) instead of ~340 KB.
    /// </summary>
    public const int DefaultTilesPerBlock = 12;

    private const int Positions = WinogradTiles.Positions;
    private readonly Block[] _blocks;
    private readonly AlignedBuffer _zeroBias;

    /// <summary>Plans a convolution.</summary>
    /// <param name="inChannels">C, a positive multiple of 16.</param>
    /// <param name="outChannels">K, a positive multiple of 16.</param>
    /// <param name="padding">Zero padding on each side.</param>
    /// <param name="height">Input height (unpadded).</param>
    /// <param name="width">Input width (unpadded).</param>
    /// <param name="tilesPerBlock">Most tiles transformed per pass, rounded down to whole GEMM runs of 5-6 tiles (at least one run).</param>
    /// <param name="kernelSize">5 (F(2x2, 5x5)) or 3 (F(4x4, 3x3)).</param>
    /// <param name="wide">Transforms and GEMM on 16-lane <see cref="Vector512{T}"/> (one vector per 16-channel block) instead of
    /// 8-lane <see cref="Vector256{T}"/>: the same operations per lane, so the same bits (F(2x2, 5x5)'s output transform stays 8 lanes).</param>
    /// <exception cref="ArgumentException">A channel count is not a multiple of 16, the kernel is not 3 or 5, or the output would be empty.</exception>
    public WinogradConv2d(int inChannels, int outChannels, int padding, int height, int width, int tilesPerBlock = DefaultTilesPerBlock, int kernelSize = 5,
        bool wide = false)
    {
        if (kernelSize is not (3 or 5))
            throw new ArgumentException($"WinogradConv2d: kernel must be 3x3 or 5x5, got {kernelSize}x{kernelSize}", nameof(kernelSize));
        if (inChannels <= 0 || inChannels % 16 != 0)
            throw new ArgumentException($"WinogradConv2d: input channels must be a positive multiple of 16, got {inChannels}", nameof(inChannels));
        if (outChannels <= 0 || outChannels % 16 != 0)
            throw new ArgumentException($"WinogradConv2d: output channels must be a positive multiple of 16, got {outChannels}", nameof(outChannels));
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        ArgumentOutOfRangeException.ThrowIfLessThan(tilesPerBlock, 1);
        InChannels = inChannels;
        OutChannels = outChannels;
        Padding = padding;
        Height = height;
        Width = width;
        KernelSize = kernelSize;
        Wide = wide;
        TileSize = WinogradTiles.Side - kernelSize + 1;
        OutHeight = height + 2 * padding - KernelSize + 1;
        OutWidth = width + 2 * padding - KernelSize + 1;
        if (OutHeight <= 0 || OutWidth <= 0)
            throw new ArgumentException($"WinogradConv2d: kernel {KernelSize} with padding {padding} does not fit input {height}x{width}");
        TileRows = (OutHeight + TileSize - 1) / TileSize;
        TileColumns = (OutWidth + TileSize - 1) / TileSize;
        // GEMM runs of 5 or 6 tiles (balanced, so no run wastes most of its accumulators), grouped into blocks of whole runs.
        var runs = DirectConv2d.Split(TileRows * TileColumns, 6);
        int runsPerBlock = Math.Max(1, tilesPerBlock / 6);
        var blocks = new List<Block>();
        for (int first = 0; first < runs.Count; first += runsPerBlock)
        {
            var group = runs.GetRange(first, Math.Min(runsPerBlock, runs.Count - first));
            int start = group[0].Start, count = group.Sum(r => r.Count);
            blocks.Add(new Block(start, count, [.. group.Select(r => new Run(r.Start - start, WinogradTiles.GemmFor(r.Count, wide)))]));
        }
        _blocks = [.. blocks];
        TilesPerBlock = _blocks.Max(b => b.Count);
        int pad = PadPositions ? PositionPad : 0;
        VPosition = TilesPerBlock * inChannels + pad;
        MPosition = TilesPerBlock * outChannels + pad;
        _zeroBias = new AlignedBuffer(outChannels);
    }

    /// <summary>
    /// Floats added to the stride between transform positions of the block scratch (V and M here, V and D in
    /// <see cref="WinogradWeightGrad"/>): one 64-byte line. Without it the stride is tiles x channels floats, often a
    /// multiple of 1 or 2 KB (16 tiles of 16 or 32 channels, 4 tiles of 64), so a tile's 36 positions, and the GEMM's
    /// reads of them, fall into 2-4 of the L1's 64 sets and evict each other; one line more spreads them over many sets
    /// (a stride of 17 lines: all 64). The 16 floats keep every vector 64-byte aligned.
    /// </summary>
    internal const int PositionPad = 16;

    /// <summary>Whether plans pad the position stride by <see cref="PositionPad"/> (default on; read when a plan is made;
    /// off: the A side of <c>bench plan-ab --switch pad-positions</c>). Only addresses change, so both give the same bits.</summary>
    internal static bool PadPositions { get; set; } = true;

    /// <summary>Floats between transform positions of a block's V in the scratch (tiles x C, padded by <see cref="PositionPad"/>).</summary>
    internal int VPosition { get; }

    /// <summary>Floats between transform positions of a block's M in the scratch (tiles x K, padded by <see cref="PositionPad"/>).</summary>
    internal int MPosition { get; }

    /// <summary>
    /// The Winograd plan computing the same convolution as <paramref name="plan"/>, or null where it does not apply: a
    /// kernel other than 5x5 or 3x3, input channels not a multiple of 16, or a vector path below V256 (there the direct kernels
    /// run the portable paths, and this class would run <see cref="Vector256{T}"/> in software). On the V512 path, where the
    /// hardware accelerates <see cref="Vector512{T}"/> and <see cref="Wide512"/> is on, the plan is <see cref="Wide"/>.
    /// </summary>
    public static WinogradConv2d? For(DirectConv2d plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.KernelSize is not (3 or 5) || plan.InChannels % 16 != 0 || plan.Path is not (IsaLevel.V256 or IsaLevel.V512))
            return null;
        return new WinogradConv2d(plan.InChannels, plan.OutChannels, plan.Padding, plan.Height, plan.Width, kernelSize: plan.KernelSize,
            wide: WideFor(plan.Path));
    }

    /// <summary>Whether plans on <paramref name="level"/> run 16-lane vectors: the V512 path, on hardware that accelerates
    /// <see cref="Vector512{T}"/>, with <see cref="Wide512"/> on.</summary>
    internal static bool WideFor(IsaLevel level) => level == IsaLevel.V512 && Wide512 && Vector512.IsHardwareAccelerated;

    /// <summary>Whether <see cref="For"/> plans 16-lane transforms and GEMMs on the V512 path (default on; off: the 8-lane
    /// code everywhere, an A/B switch for the benchmarks, read when a plan is made). Both give the same bits.</summary>
    internal static bool Wide512 { get; set; } = true;

    /// <summary>Whether the input transform, the GEMM and F(4x4, 3x3)'s output transform run on 16-lane vectors.</summary>
    public bool Wide { get; }

    /// <summary>The plan computing the input gradient of <paramref name="forward"/> (padding at most k - 1).</summary>
    public static WinogradConv2d ForBackwardInput(WinogradConv2d forward, int tilesPerBlock = DefaultTilesPerBlock)
    {
        ArgumentNullException.ThrowIfNull(forward);
        return new WinogradConv2d(forward.OutChannels, forward.InChannels, forward.KernelSize - 1 - forward.Padding, forward.OutHeight, forward.OutWidth,
            tilesPerBlock, forward.KernelSize, forward.Wide);
    }

    /// <summary>Kernel height and width, 5 or 3.</summary>
    public int KernelSize { get; }

    /// <summary>Outputs per tile side m: 2 for F(2x2, 5x5), 4 for F(4x4, 3x3).</summary>
    public int TileSize { get; }

    /// <summary>Input channels C.</summary>
    public int InChannels { get; }

    /// <summary>Output channels K.</summary>
    public int OutChannels { get; }

    /// <summary>Zero padding on each side.</summary>
    public int Padding { get; }

    /// <summary>Input height (unpadded).</summary>
    public int Height { get; }

    /// <summary>Input width (unpadded).</summary>
    public int Width { get; }

    /// <summary>Output height.</summary>
    public int OutHeight { get; }

    /// <summary>Output width.</summary>
    public int OutWidth { get; }

    /// <summary>Tile rows, ceil(Ho / m).</summary>
    public int TileRows { get; }

    /// <summary>Tile columns, ceil(Wo / m).</summary>
    public int TileColumns { get; }

    /// <summary>Most tiles in one block (the scratch is sized for it): whole GEMM runs, so up to 5 more or less than asked.</summary>
    public int TilesPerBlock { get; }

    /// <summary>Padded input height.</summary>
    public int PaddedHeight => Height + 2 * Padding;

    /// <summary>Padded input width.</summary>
    public int PaddedWidth => Width + 2 * Padding;

    /// <summary>Floats in one padded input row.</summary>
    public int InputRow => PaddedWidth * 16;

    /// <summary>Floats in one padded input plane.</summary>
    public int InputPlane => PaddedHeight * InputRow;

    /// <summary>Floats in one padded input image.</summary>
    public int InputImage => InChannels / 16 * InputPlane;

    /// <summary>Floats in one output plane (unpadded, [Ho][Wo][16]).</summary>
    public int OutputPlane => OutHeight * OutWidth * 16;

    /// <summary>Floats in one unpadded output image.</summary>
    public int OutputImage => OutChannels / 16 * OutputPlane;

    /// <summary>Floats in the PyTorch-layout weight.</summary>
    public int WeightLength => OutChannels * InChannels * KernelSize * KernelSize;

    /// <summary>Floats of the transformed weight U (36 per input/output channel pair).</summary>
    public int PackedLength => Positions * InChannels * OutChannels;

    /// <summary>Floats of scratch one <see cref="ForwardImage"/> call needs: V and M of one block, plus two 6x6 tiles of
    /// 16-lane vectors.</summary>
    public int ScratchLength => Positions * (VPosition + MPosition) + 2 * TileScratch + 2 * OutChannels;

    /// <summary>Floats of one 6x6 tile of vectors at the widest lane count (the transforms' row pass and edge copies).</summary>
    internal const int TileScratch = Positions * 16;

    /// <summary>Multiply-adds per image of the equivalent direct convolution (the "effective" FLOP count is twice this).</summary>
    public long MacsPerImage => (long)OutHeight * OutWidth * WeightLength;

    /// <summary>Blocks of tiles, the units of <see cref="ForwardPart"/> along the image.</summary>
    public int BlockCount => _blocks.Length;

    /// <summary>
    /// Transforms PyTorch-layout weights into U = G g G^T (computed in double, rounded once), layout [K/16][36][C][16].
    /// With <paramref name="transposeAndFlip"/>, <paramref name="weight"/> is the (C, K, k, k) weight of the conv whose
    /// input gradient this plan computes (see <see cref="ForBackwardInput"/>). Allocation-free.
    /// </summary>
    public void PackWeights(ReadOnlySpan<float> weight, bool transposeAndFlip, float* packed) => PackWeightsPart(weight, transposeAndFlip, packed, 0, 1);

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> of <see cref="PackWeights"/>:
    /// the output channels [K·part/parts, K·(part+1)/parts) in fours. The parts write disjoint elements of U, the same
    /// values as one call, so threads may run them concurrently.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void PackWeightsPart(ReadOnlySpan<float> weight, bool transposeAndFlip, float* packed, int part, int parts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(part);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(part, parts);
        int k = KernelSize;
        int cin = InChannels, cout = OutChannels;
        if (weight.Length != WeightLength)
            throw new ArgumentException($"WinogradConv2d: expected {WeightLength} weights, got {weight.Length}", nameof(weight));
        // Four output channels at a time, one per lane of a double vector: every lane runs ApplyG's operations in ApplyG's
        // order, so U has the bits of the scalar transform (WinogradConv2dTests), at a fraction of its cost (training
        // plans pack every step: 64 -> 64 took 0.88 ms scalar, on the calling thread while the others wait).
        Vector256<double>* g = stackalloc Vector256<double>[k * k];
        Vector256<double>* t = stackalloc Vector256<double>[6 * k];
        Vector256<double>* u = stackalloc Vector256<double>[6];
        long position = (long)cin * 16;
        fixed (float* w = weight)
        {
            int quads = cout / 4;
            for (int oc = quads * part / parts * 4, ocEnd = quads * (part + 1) / parts * 4; oc < ocEnd; oc += 4)
                for (int ic = 0; ic < cin; ic++)
                {
                    for (int kh = 0; kh < k; kh++)
                        for (int kw = 0; kw < k; kw++)
                        {
                            // The four channels' taps: (K, C, k, k), or the transposed and flipped (C, K, k, k).
                            long first = transposeAndFlip ? ((long)(ic * cout + oc) * k + (k - 1 - kh)) * k + (k - 1 - kw) : ((long)(oc * cin + ic) * k + kh) * k + kw;
                            long stride = transposeAndFlip ? k * k : (long)cin * k * k;
                            g[kh * k + kw] = Vector256.Create(w[first], w[first + stride], w[first + 2 * stride], w[first + 3 * stride]);
                        }
                    // t = G g (6 x k), laid out [i][kw], then U = t G^T row by row.
                    for (int kw = 0; kw < k; kw++)
                    {
                        ApplyG(g + kw, k, k, u);
                        for (int i = 0; i < 6; i++) t[i * k + kw] = u[i];
                    }
                    float* dst = packed + ((long)oc / 16 * Positions * cin + ic) * 16 + oc % 16;
                    for (int i = 0; i < 6; i++)
                    {
                        ApplyG(t + i * k, 1, k, u);
                        float* row = dst + i * 6 * position;
                        for (int j = 0; j < 6; j++) Vector128.Narrow(u[j].GetLower(), u[j].GetUpper()).Store(row + j * position);
                    }
                }
        }
    }

    // ApplyG on four lanes at once: c[0], c[stride], ... (k taps), the same operations in the same order per lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ApplyG(Vector256<double>* c, int stride, int k, Vector256<double>* u)
    {
        var zero = Vector256<double>.Zero;
        Vector256<double> g0 = c[0], g1 = c[stride], g2 = c[2 * stride], g3 = k > 3 ? c[3 * stride] : zero, g4 = k > 4 ? c[4 * stride] : zero;
        Vector256<double> even = g0 + g2 + g4, odd = g1 + g3;
        Vector256<double> even2 = g0 + Vector256.Create(4.0) * g2 + Vector256.Create(16.0) * g4, odd2 = Vector256.Create(2.0) * g1 + Vector256.Create(8.0) * g3;
        u[0] = g0 * Vector256.Create(0.25); // exactly g0 / 4 (a power of two), without a division
        u[1] = (even + odd) / Vector256.Create(6.0);
        u[2] = (odd - even) / Vector256.Create(6.0);
        u[3] = -(even2 + odd2) / Vector256.Create(24.0);
        u[4] = (even2 - odd2) / Vector256.Create(24.0);
        u[5] = c[(k - 1) * stride];
    }

    // G times a 3- or 5-vector (G's rows for 5 taps: [1/4 0 0 0 0], [1 1 1 1 1]/6, [-1 1 -1 1 -1]/6, -[1 2 4 8 16]/24,
    // [1 -2 4 -8 16]/24, [0 0 0 0 1]; for 3 taps the first three columns, last row [0 0 1]): the values of g's polynomial
    // at 0, 1, -1, 2, -2 and its leading coefficient, scaled so B^T is integral.
    internal static void ApplyG(ReadOnlySpan<double> c, Span<double> u)
    {
        double g0 = c[0], g1 = c[1], g2 = c[2], g3 = c.Length > 3 ? c[3] : 0, g4 = c.Length > 4 ? c[4] : 0;
        double even = g0 + g2 + g4, odd = g1 + g3;
        double even2 = g0 + 4 * g2 + 16 * g4, odd2 = 2 * g1 + 8 * g3;
        u[0] = g0 / 4;
        u[1] = (even + odd) / 6;
        u[2] = (odd - even) / 6;
        u[3] = -(even2 + odd2) / 24;
        u[4] = (even2 - odd2) / 24;
        u[5] = c[^1];
    }

    /// <summary>
    /// Convolves one image: <paramref name="y"/> = conv(<paramref name="x"/>) + bias, optionally ReLU'd, optionally adding
    /// per-channel sums and sums of squares of the stored outputs into <paramref name="sum"/>/<paramref name="sumSq"/>
    /// (float, accumulated over the image in registers; callers fold them into doubles per image).
    /// </summary>
    /// <param name="x">Padded blocked input image (<see cref="InputImage"/> floats, zero border).</param>
    /// <param name="packed">U from <see cref="PackWeights"/>.</param>
    /// <param name="bias">K floats, or null for none.</param>
    /// <param name="y">Output pixel (0, 0) of channel block 0.</param>
    /// <param name="yPlane">Floats between output channel blocks.</param>
    /// <param name="yRow">Floats between output rows.</param>
    /// <param name="sum">K floats receiving per-channel sums, or null.</param>
    /// <param name="sumSq">K floats receiving per-channel sums of squares (with <paramref name="sum"/>).</param>
    /// <param name="relu">Clamp the outputs at zero before storing.</param>
    /// <param name="scratch"><see cref="ScratchLength"/> floats owned by the calling thread.</param>
    public void ForwardImage(float* x, float* packed, float* bias, float* y, nint yPlane, nint yRow, float* sum, float* sumSq, bool relu, float* scratch)
    {
        int cout = OutChannels;
        float* sums = scratch + Positions * (nint)(VPosition + MPosition) + 2 * TileScratch;
        if (sum != null) new Span<float>(sums, 2 * cout).Clear();
        foreach (var block in _blocks)
            RunBlock(block, 0, cout / 16, x, packed, bias, y, yPlane, yRow, sum == null ? null : sums, relu, scratch);
        if (sum != null)
        {
            for (int c = 0; c < cout; c += 8)
            {
                (Vector256.Load(sum + c) + Vector256.Load(sums + c)).Store(sum + c);
                (Vector256.Load(sumSq + c) + Vector256.Load(sums + cout + c)).Store(sumSq + c);
            }
        }
    }

    /// <summary>
    /// Parts of one image for <see cref="ForwardPart"/> when each part covers <paramref name="groupsPerPart"/> 16-channel
    /// output groups (the last one of a block may cover fewer): <see cref="BlockCount"/> x ceil(K/16 / groupsPerPart).
    /// </summary>
    public int PartCount(int groupsPerPart)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groupsPerPart, 1);
        return _blocks.Length * ((OutChannels / 16 + groupsPerPart - 1) / groupsPerPart);
    }

    /// <summary>
    /// Computes part <paramref name="part"/> (&lt; <see cref="PartCount"/>) of <see cref="ForwardImage"/> without
    /// statistics: one block of tiles and a range of <paramref name="groupsPerPart"/> output channel groups. Parts write
    /// disjoint outputs, so any threads may run them concurrently, each with its own <paramref name="scratch"/>
    /// (<see cref="ScratchLength"/> floats); the stored values are those of <see cref="ForwardImage"/>, bit for bit.
    /// </summary>
    public void ForwardPart(int part, int groupsPerPart, float* x, float* packed, float* bias, float* y, nint yPlane, nint yRow, bool relu, float* scratch)
    {
        int groups = OutChannels / 16, splits = (groups + groupsPerPart - 1) / groupsPerPart;
        ArgumentOutOfRangeException.ThrowIfNegative(part);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(part, PartCount(groupsPerPart));
        int first = part % splits * groupsPerPart;
        RunBlock(_blocks[part / splits], first, Math.Min(groupsPerPart, groups - first), x, packed, bias, y, yPlane, yRow, null, relu, scratch);
    }

    // One block of tiles: input transform of every channel, GEMMs and output transform of output groups [firstGroup, +groupCount).
    private void RunBlock(Block block, int firstGroup, int groupCount, float* x, float* packed, float* bias, float* y, nint yPlane, nint yRow,
        float* sums, bool relu, float* scratch)
    {
        int cin = InChannels, cout = OutChannels;
        nint vPosition = VPosition, mPosition = MPosition;
        float* v = scratch;
        float* m = v + Positions * vPosition;
        float* tmp = m + Positions * mPosition;
        float* edge = tmp + TileScratch;
        if (bias == null) bias = _zeroBias.Pointer;
        for (int t = 0; t < block.Count; t++)
            TransformInput(x, block.Start + t, v + t * cin, vPosition, tmp, edge);
        for (int grp = firstGroup; grp < firstGroup + groupCount; grp++)
        {
            float* u = packed + (long)grp * Positions * cin * 16;
            foreach (var run in block.Runs)
                run.Gemm(v + run.Start * cin, vPosition, cin, u, cin, m + run.Start * cout + grp * 16, mPosition, cout);
        }
        for (int t = 0; t < block.Count; t++)
        {
            if (TileSize == 2)
                TransformOutput(block.Start + t, firstGroup * 2, groupCount * 2, m + t * cout, mPosition, bias, y, yPlane, yRow, sums, relu);
            else if (Wide)
                TransformOutput4<V512Ops, Vector512<float>>(block.Start + t, firstGroup, groupCount, m + t * cout, mPosition, bias, y, yPlane, yRow, sums, relu, tmp, edge);
            else
                TransformOutput4<V256Ops, Vector256<float>>(block.Start + t, firstGroup * 2, groupCount * 2, m + t * cout, mPosition, bias, y, yPlane, yRow, sums, relu, tmp, edge);
        }
    }

    // V[.][t][c] for every input channel of one tile; a window that crosses the padded buffer's end goes through a zero-filled copy.
    internal void TransformInput(float* x, int tile, float* v, nint vPosition, float* tmp, float* edge)
    {
        if (Wide) TransformInput<V512Ops, Vector512<float>>(x, tile, v, vPosition, tmp, edge);
        else TransformInput<V256Ops, Vector256<float>>(x, tile, v, vPosition, tmp, edge);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformInput<TOps, TV>(float* x, int tile, float* v, nint vPosition, float* tmp, float* edge)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Lanes;
        int r0 = tile / TileColumns * TileSize, c0 = tile % TileColumns * TileSize;
        int rows = Math.Min(6, PaddedHeight - r0), cols = Math.Min(6, PaddedWidth - c0);
        nint xRow = InputRow, xPlane = InputPlane;
        float* origin = x + r0 * xRow + c0 * 16;
        for (int ch = 0; ch < InChannels; ch += lanes)
        {
            float* src = origin + ch / 16 * xPlane + ch % 16;
            if (rows == 6 && cols == 6)
            {
                WinogradTiles.InputTile<TOps, TV>(src, xRow, 16, tmp, v + ch, vPosition);
                continue;
            }
            new Span<float>(edge, Positions * lanes).Clear();
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    TOps.Store(edge + (r * 6 + c) * lanes, TOps.Load(src + r * xRow + c * 16));
            WinogradTiles.InputTile<TOps, TV>(edge, 6 * lanes, lanes, tmp, v + ch, vPosition);
        }
    }

    // Y = A^T M A + bias for 8-channel vectors [firstVector, +vectors) of one 2x2 tile (M[x] at m + x*mPosition, K floats each), ReLU,
    // stores of the outputs inside Ho x Wo, and their sums and sums of squares added into sums[0..K) and sums[K..2K) when sums is not null.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformOutput(int tile, int firstVector, int vectors, float* m, nint mPosition, float* bias, float* y, nint yPlane, nint yRow, float* sums, bool relu)
    {
        var zero = Vector256<float>.Zero;
        int cout = OutChannels;
        int oy = tile / TileColumns * 2, ox = tile % TileColumns * 2;
        bool right = ox + 1 < OutWidth, below = oy + 1 < OutHeight;
        float* yt = y + oy * yRow + ox * 16;
        for (int kv = firstVector; kv < firstVector + vectors; kv++)
        {
            WinogradTiles.OutputTile(m + kv * 8, mPosition, Vector256.Load(bias + kv * 8), out var y00, out var y01, out var y10, out var y11);
            if (relu)
            {
                // The direct kernels' ReLU (IVecOps.Max: the hardware max, a NaN gives 0), as F(4x4, 3x3)'s output transform.
                y00 = Vector256.MaxNative(y00, zero);
                y01 = Vector256.MaxNative(y01, zero);
                y10 = Vector256.MaxNative(y10, zero);
                y11 = Vector256.MaxNative(y11, zero);
            }
            float* p = yt + kv / 2 * yPlane + kv % 2 * 8;
            if (right && below)
            {
                y00.Store(p);
                y01.Store(p + 16);
                y10.Store(p + yRow);
                y11.Store(p + yRow + 16);
            }
            else
            {
                // An odd edge: keep only the outputs inside Ho x Wo (the others do not count in the sums either).
                y00.Store(p);
                if (right) y01.Store(p + 16); else y01 = zero;
                if (below) y10.Store(p + yRow); else y10 = zero;
                y11 = zero;
            }
            if (sums != null)
            {
                float* s = sums + kv * 8, q = s + cout;
                (Vector256.Load(s) + ((y00 + y01) + (y10 + y11))).Store(s);
                Vector256.MultiplyAddEstimate(y00, y00, Vector256.MultiplyAddEstimate(y01, y01,
                    Vector256.MultiplyAddEstimate(y10, y10, Vector256.MultiplyAddEstimate(y11, y11, Vector256.Load(q))))).Store(q);
            }
        }
    }

    // The same for one 4x4 tile of F(4x4, 3x3), on vectors of TOps.Lanes channels [firstVector, +vectors): A^T M A into the 16
    // vectors at out (tmp: 24 vectors of scratch), then bias, ReLU, stores and statistics of the outputs inside Ho x Wo.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void TransformOutput4<TOps, TV>(int tile, int firstVector, int vectors, float* m, nint mPosition, float* bias, float* y, nint yPlane, nint yRow,
        float* sums, bool relu, float* tmp, float* output)
        where TOps : struct, IVecOps<TV> where TV : struct
    {
        int lanes = TOps.Lanes;
        var zero = TOps.Zero;
        int cout = OutChannels;
        int oy = tile / TileColumns * 4, ox = tile % TileColumns * 4;
        int rows = Math.Min(4, OutHeight - oy), cols = Math.Min(4, OutWidth - ox);
        float* yt = y + oy * yRow + ox * 16;
        for (int kv = firstVector; kv < firstVector + vectors; kv++)
        {
            int ch = kv * lanes;
            WinogradTiles.OutputTile4<TOps, TV>(m + ch, mPosition, tmp, output);
            var b = TOps.Load(bias + ch);
            TV s = zero, q = zero;
            float* p = yt + ch / 16 * yPlane + ch % 16;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    var o = TOps.Add(TOps.Load(output + (r * 4 + c) * lanes), b);
                    if (relu) o = TOps.Max(o, zero);
                    TOps.Store(p + r * yRow + c * 16, o);
                    s = TOps.Add(s, o);
                    q = TOps.Fma(o, o, q);
                }
            if (sums != null)
            {
                TOps.Store(sums + ch, TOps.Add(TOps.Load(sums + ch), s));
                TOps.Store(sums + cout + ch, TOps.Add(TOps.Load(sums + cout + ch), q));
            }
        }
    }

    /// <summary>A contiguous range of tile indices (row-major over the tile grid) transformed together, cut into GEMM runs of at most 6 tiles.</summary>
    private readonly struct Block(int start, int count, Run[] runs)
    {
        public readonly int Start = start;
        public readonly int Count = count;
        public readonly Run[] Runs = runs;
    }

    /// <summary>One GEMM run: its first tile within the block and the instantiation for its tile count.</summary>
    private readonly struct Run(int start, delegate*<float*, nint, nint, float*, int, float*, nint, nint, void> gemm)
    {
        public readonly int Start = start;
        public readonly delegate*<float*, nint, nint, float*, int, float*, nint, nint, void> Gemm = gemm;
    }
}
