using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// A planned stride-1 direct 2-D convolution on blocked layouts (forward, backward-input via a second plan, and
/// backward-weight), for one image at a time; callers split a batch across threads.
/// </summary>
/// <remarks>
/// <para>Geometry: C input channels (1 to 15, or a multiple of 16), K output channels (a multiple of 16), a KxK kernel,
/// padding p on every side, stride 1, dilation 1, one group. Output size Ho = H + 2p - K + 1 (H for "same" padding).</para>
/// <para>Layouts (floats):
/// input  x: padded and blocked, [C/16][H+2p][W+2p][16] (fewer than 16 channels, e.g. an RGB image: planar,
/// [C][H+2p][W+2p], each channel a plane of pixel stride 1); the border must hold zeros;
/// output y: blocked, [K/16][Ho][Wo][16] with caller-chosen plane and row strides (so it may be the interior of the
/// next layer's padded buffer);
/// weight: PyTorch's (K, C, kh, kw), packed by <see cref="PackWeights"/> into [group][C/16][kh][kw][16][G];
/// weight gradient accumulator: [kh][kw][C][K], turned into PyTorch's layout by <see cref="UnpackWeightGrad"/>.</para>
/// <para>Tiles: an output-channel group of G = NV x Lanes channels times P consecutive pixels of a row, with P*NV
/// accumulators (at most 12 for 16-register ISAs, 28 for AVX-512). Rows are split into balanced tiles (14 = 5+5+4 for
/// P &lt;= 6), so no tile runs at less than half the accumulators. Outputs at most 14 pixels wide on AVX-512 (7 with
/// 32-channel groups; 6 and 3 on 16-register ISAs) take block tiles of R whole rows instead (R*Wo*NV accumulators,
/// e.g. 3x3 or 2x7 at 2 vectors): each weight vector then feeds R*Wo pixels, with the same bits as the row tiles.</para>
/// <para>Backward-input of a conv (C -> K, pad p) is the forward of a conv K -> C with pad K-1-p over the padded
/// output gradient, with weights transposed and flipped: build it with <see cref="ForBackwardInput"/> and pack the
/// original weights with <c>PackWeights(w, transposeAndFlip: true, ...)</c>.</para>
/// </remarks>
internal sealed unsafe class DirectConv2d
{
    private readonly Tile[] _rowTiles;
    private readonly Tile[] _blockTiles;
    private readonly WgTile[] _wgTiles;
    private readonly AlignedBuffer _zeroBias;
    private readonly int _nv;

    /// <summary>
    /// Whether new plans (and the input-gradient plans made from them) cover small feature maps with block tiles of
    /// several output rows (<see cref="UsesBlockTiles"/>); read when a plan is built, so flipping it changes only
    /// later plans. On by default; the benchmarks' <c>plan-ab --switch rowtiles</c> turns it off for the A variant.
    /// </summary>
    public static bool MultiRowTiles { get; set; } = true;

    /// <summary>Plans a convolution; <c>multiRowTiles</c> allows block tiles of several output rows for narrow outputs (null reads
    /// <see cref="MultiRowTiles"/>); <c>singleVectorGroups</c> on AVX-512 makes the output groups one vector of 16 channels
    /// even where K is a multiple of 32 (a strided conv's input gradient, so that each group holds one phase).</summary>
    /// <exception cref="ArgumentException">A channel count is not supported or the output would be empty.</exception>
    public DirectConv2d(int inChannels, int outChannels, int kernelSize, int padding, int height, int width, IsaLevel path, bool? multiRowTiles = null,
        bool singleVectorGroups = false)
    {
        if (inChannels <= 0 || (inChannels > 16 && inChannels % 16 != 0))
            throw new ArgumentException($"DirectConv2d: input channels must be 1 to 15 or a multiple of 16, got {inChannels}", nameof(inChannels));
        if (outChannels <= 0 || outChannels % 16 != 0)
            throw new ArgumentException($"DirectConv2d: output channels must be a positive multiple of 16, got {outChannels}", nameof(outChannels));
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Padding = padding;
        Height = height;
        Width = width;
        OutHeight = height + 2 * padding - kernelSize + 1;
        OutWidth = width + 2 * padding - kernelSize + 1;
        if (OutHeight <= 0 || OutWidth <= 0)
            throw new ArgumentException($"DirectConv2d: kernel {kernelSize} with padding {padding} does not fit input {height}x{width}");
        Path = path;
        Lanes = Isa.Lanes(path);
        _nv = path == IsaLevel.V512 && (outChannels % 32 != 0 || singleVectorGroups) ? 1 : 2;
        GroupWidth = _nv * Lanes;
        // Fewer than 16 input channels are planar: each channel is one "block" of pixel stride 1, so the stride-1 tiles
        // reduce over the C planes exactly as they reduce over the C/16 blocks of a wider input.
        PixelStride = inChannels < 16 ? 1 : 16;
        InBlocks = inChannels < 16 ? inChannels : inChannels / 16;
        int budget = Isa.Accumulators(path) / _nv;

        var sizes = new List<Tile>();
        foreach (var (start, count) in Split(OutWidth, budget))
            sizes.Add(new Tile(start, 1, count, ConvTileTable.Forward(path, 1, count, _nv, PixelStride)));
        _rowTiles = [.. sizes];
        // A row narrow enough that two of them fit the accumulators is covered by block tiles of whole rows, as many
        // rows per tile as fit (at most 7), the output height split evenly. Whole rows keep each row's statistics sum
        // in the row tiles' order; wider rows (one row tile or more per row) already fill most of the accumulators.
        MultiRowPlanned = multiRowTiles ?? MultiRowTiles;
        int blockRows = Math.Min(7, Isa.Accumulators(path) / (OutWidth * _nv));
        var blocks = new List<Tile>();
        if (MultiRowPlanned && blockRows >= 2 && OutHeight >= 2)
        {
            foreach (var (start, count) in Split(OutHeight, blockRows))
                blocks.Add(new Tile(start, count, OutWidth, ConvTileTable.Forward(path, count, OutWidth, _nv, PixelStride)));
        }
        _blockTiles = [.. blocks];

        var wg = new List<WgTile>();
        if (PixelStride == 16)
        {
            foreach (var (start, count) in Split(16, Math.Min(budget, 16)))
                wg.Add(new WgTile(0, 1, start, count, ConvTileTable.WeightGrad(path, 1, count, _nv, 16)));
        }
        else
        {
            var cols = Split(kernelSize, Math.Min(budget, 16));
            int widest = cols.Max(c => c.Count);
            foreach (var (rowStart, rows) in Split(kernelSize, Math.Clamp(budget / widest, 1, 7)))
                foreach (var (colStart, colCount) in cols)
                    wg.Add(new WgTile(rowStart, rows, colStart, colCount, ConvTileTable.WeightGrad(path, rows, colCount, _nv, 1)));
        }
        _wgTiles = [.. wg];
        _zeroBias = new AlignedBuffer(outChannels);
    }

    /// <summary>The plan computing the input gradient of <paramref name="forward"/> (which must have C a multiple of 16).</summary>
    public static DirectConv2d ForBackwardInput(DirectConv2d forward)
    {
        ArgumentNullException.ThrowIfNull(forward);
        return new DirectConv2d(forward.OutChannels, forward.InChannels, forward.KernelSize, forward.KernelSize - 1 - forward.Padding,
            forward.OutHeight, forward.OutWidth, forward.Path, forward.MultiRowPlanned);
    }

    /// <summary>Whether this plan was allowed block tiles (the constructor's choice, inherited by <see cref="ForBackwardInput"/>).</summary>
    public bool MultiRowPlanned { get; }

    /// <summary>Whether <see cref="ForwardImage"/> runs block tiles of several output rows (a narrow output with <see cref="MultiRowPlanned"/>) instead of row tiles.</summary>
    public bool UsesBlockTiles => _blockTiles.Length > 0;

    /// <summary>Input channels C.</summary>
    public int InChannels { get; }

    /// <summary>Output channels K.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel height and width.</summary>
    public int KernelSize { get; }

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

    /// <summary>The vector flavour the tiles use.</summary>
    public IsaLevel Path { get; }

    /// <summary>Floats per vector.</summary>
    public int Lanes { get; }

    /// <summary>Output channels per tile (G).</summary>
    public int GroupWidth { get; }

    /// <summary>Floats between neighbouring pixels of the input (16, or 1 for a planar input of fewer than 16 channels).</summary>
    public int PixelStride { get; }

    /// <summary>Number of input planes (C/16, or C when C &lt; 16).</summary>
    public int InBlocks { get; }

    /// <summary>Padded input height.</summary>
    public int PaddedHeight => Height + 2 * Padding;

    /// <summary>Padded input width.</summary>
    public int PaddedWidth => Width + 2 * Padding;

    /// <summary>Floats in one padded input row.</summary>
    public int InputRow => PaddedWidth * PixelStride;

    /// <summary>Floats in one padded input plane.</summary>
    public int InputPlane => PaddedHeight * InputRow;

    /// <summary>Floats in one padded input image.</summary>
    public int InputImage => InBlocks * InputPlane;

    /// <summary>Floats in one output plane (unpadded, [Ho][Wo][16]).</summary>
    public int OutputPlane => OutHeight * OutWidth * 16;

    /// <summary>Floats in one unpadded output image.</summary>
    public int OutputImage => OutChannels / 16 * OutputPlane;

    /// <summary>Floats in the weight and in the weight-gradient accumulator.</summary>
    public int WeightLength => OutChannels * InChannels * KernelSize * KernelSize;

    /// <summary>Multiply-adds per image (2 FLOP each).</summary>
    public long MacsPerImage => (long)OutHeight * OutWidth * WeightLength;

    /// <summary>
    /// Packs PyTorch-layout weights into the forward panel. With <paramref name="transposeAndFlip"/>, <paramref name="weight"/>
    /// is the (C, K, kh, kw) weight of the conv whose input gradient this plan computes (see <see cref="ForBackwardInput"/>).
    /// </summary>
    public void PackWeights(ReadOnlySpan<float> weight, bool transposeAndFlip, float* packed) => PackWeightsPart(weight, transposeAndFlip, packed, 0, 1);

    /// <summary>
    /// Part <paramref name="part"/> of <paramref name="parts"/> of <see cref="PackWeights"/>: the (output group, input
    /// block) panels [n·part/parts, n·(part+1)/parts) of the n = K/G·<see cref="InBlocks"/>. Parts write disjoint panels
    /// (copies of the same weights), so threads may run them concurrently.
    /// </summary>
    /// <exception cref="ArgumentException">The weight does not have <see cref="WeightLength"/> elements.</exception>
    public void PackWeightsPart(ReadOnlySpan<float> weight, bool transposeAndFlip, float* packed, int part, int parts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(part);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(part, parts);
        if (weight.Length != WeightLength)
            throw new ArgumentException($"DirectConv2d: expected {WeightLength} weights, got {weight.Length}", nameof(weight));
        int k = KernelSize, cin = InChannels, cout = OutChannels, g = GroupWidth, s = PixelStride;
        int units = cout / g * InBlocks;
        // Consecutive output channels q of a panel row are k·k floats apart in the transposed (C, K, kh, kw) weight, C·k·k
        // in PyTorch's (K, C, kh, kw).
        long qStride = transposeAndFlip ? k * k : (long)cin * k * k;
        fixed (float* w = weight)
        {
            for (int unit = (int)((long)units * part / parts), end = (int)((long)units * (part + 1) / parts); unit < end; unit++)
            {
                int grp = unit / InBlocks, cb = unit % InBlocks, oc = grp * g;
                float* dst = packed + (long)unit * k * k * s * g;
                for (int kh = 0; kh < k; kh++)
                    for (int kw = 0; kw < k; kw++)
                        for (int si = 0; si < s; si++, dst += g)
                        {
                            int ic = cb * s + si;
                            float* src = transposeAndFlip
                                ? w + ((long)(ic * cout + oc) * k + (k - 1 - kh)) * k + (k - 1 - kw)
                                : w + ((long)(oc * cin + ic) * k + kh) * k + kw;
                            for (int q = 0; q < g; q++) dst[q] = src[q * qStride];
                        }
            }
        }
    }

    /// <summary>
    /// Convolves one image: <paramref name="y"/> = conv(<paramref name="x"/>) + bias, optionally ReLU'd, optionally adding
    /// per-channel sums and sums of squares of the stored outputs into <paramref name="sum"/>/<paramref name="sumSq"/>.
    /// </summary>
    /// <param name="x">Padded blocked input image (<see cref="InputImage"/> floats, zero border).</param>
    /// <param name="packed">Weights from <see cref="PackWeights"/>.</param>
    /// <param name="bias">K floats, or null for none.</param>
    /// <param name="y">Output pixel (0, 0) of channel block 0.</param>
    /// <param name="yPlane">Floats between output channel blocks.</param>
    /// <param name="yRow">Floats between output rows.</param>
    /// <param name="sum">K floats receiving per-channel sums, or null.</param>
    /// <param name="sumSq">K floats receiving per-channel sums of squares (with <paramref name="sum"/>).</param>
    /// <param name="relu">Clamp the outputs at zero before storing.</param>
    public void ForwardImage(float* x, float* packed, float* bias, float* y, nint yPlane, nint yRow, float* sum, float* sumSq, bool relu)
    {
        int g = GroupWidth, groups = OutChannels / g, s = PixelStride;
        nint xRow = InputRow, xPlane = InputPlane;
        long panel = (long)InBlocks * KernelSize * KernelSize * s * g;
        if (bias == null) bias = _zeroBias.Pointer;
        fixed (int* windows = SkipZeroTaps ? _tapWindows : null)
        for (int grp = 0; grp < groups; grp++)
        {
            int* window = windows == null ? null : windows + (nint)grp * InBlocks * 4;
            int c0 = grp * g, c1 = c0 + Lanes;
            float* yg = y + c0 / 16 * yPlane + c0 % 16;
            nint yV1 = (c1 / 16 - c0 / 16) * yPlane + (c1 % 16 - c0 % 16);
            float* wg = packed + grp * panel;
            float* sg = sum == null ? null : sum + c0;
            float* qg = sum == null ? null : sumSq + c0;
            if (_blockTiles.Length > 0)
            {
                foreach (var t in _blockTiles)
                    t.Kernel(x + t.Start * xRow, wg, bias + c0, yg + t.Start * yRow, yV1, InBlocks, xPlane, xRow, KernelSize, window, sg, qg, relu, yRow);
                continue;
            }
            for (int oh = 0; oh < OutHeight; oh++)
            {
                float* xr = x + oh * xRow;
                float* yr = yg + oh * yRow;
                foreach (var t in _rowTiles)
                    t.Kernel(xr + t.Start * s, wg, bias + c0, yr + t.Start * 16, yV1, InBlocks, xPlane, xRow, KernelSize, window, sg, qg, relu, yRow);
            }
        }
    }

    /// <summary>
    /// Adds one image's weight gradient into <paramref name="acc"/> ([kh][kw][C][K]):
    /// acc[kh][kw][c][k] += sum over output pixels of x[c][oh + kh][ow + kw] * dy[k][oh][ow].
    /// </summary>
    /// <param name="x">The padded blocked input image the forward pass read.</param>
    /// <param name="dy">Output gradient pixel (0, 0) of channel block 0 (blocked).</param>
    /// <param name="dyPlane">Floats between gradient channel blocks.</param>
    /// <param name="dyRow">Floats between gradient rows.</param>
    /// <param name="acc">Accumulator of <see cref="WeightLength"/> floats.</param>
    public void WeightGradImage(float* x, float* dy, nint dyPlane, nint dyRow, float* acc) => WeightGradImages(x, 0, dy, 0, 1, dyPlane, dyRow, acc);

    /// <summary>
    /// <see cref="WeightGradImage"/> for <paramref name="images"/> consecutive images at once (image m's input at
    /// x + m·<paramref name="xImage"/>, its gradient at dy + m·<paramref name="dyImage"/>): each register tile of the
    /// accumulator is loaded and stored once for all of them, which is what makes small feature maps (7x7, 3x3) fast.
    /// Same sums in the same order as one call per image, so the same bits.
    /// </summary>
    public void WeightGradImages(float* x, nint xImage, float* dy, nint dyImage, int images, nint dyPlane, nint dyRow, float* acc)
    {
        int k = KernelSize, cin = InChannels, cout = OutChannels, g = GroupWidth, groups = cout / g;
        nint xRow = InputRow;
        for (int grp = 0; grp < groups; grp++)
        {
            int c0 = grp * g, c1 = c0 + Lanes;
            float* dyg = dy + c0 / 16 * dyPlane + c0 % 16;
            nint dyV1 = (c1 / 16 - c0 / 16) * dyPlane + (c1 % 16 - c0 % 16);
            if (PixelStride == 16)
            {
                bool[]? zero = SkipZeroTaps ? ZeroTaps : null;
                for (int cb = 0; cb < InBlocks; cb++)
                    for (int kh = 0; kh < k; kh++)
                        for (int kw = 0; kw < k; kw++)
                        {
                            if (zero != null && zero[(cb * k + kh) * k + kw]) continue;
                            float* xt = x + cb * InputPlane + kh * xRow + kw * 16;
                            float* at = acc + ((long)(kh * k + kw) * cin + cb * 16) * cout + c0;
                            foreach (var t in _wgTiles)
                                t.Kernel(xt + t.ColStart, 0, dyg, dyV1, OutHeight, OutWidth, xRow, dyRow, at + t.ColStart * cout, 0, cout, images, xImage, dyImage);
                        }
            }
            else
            {
                // Planar input: per channel plane, the tiles cover the kernel's taps ([kh][kw][C][K]: a tap row is k·C·K
                // floats of the accumulator, a tap C·K).
                for (int ic = 0; ic < cin; ic++)
                    foreach (var t in _wgTiles)
                        t.Kernel(x + ic * InputPlane + t.RowStart * xRow + t.ColStart, xRow, dyg, dyV1, OutHeight, OutWidth, xRow, dyRow,
                            acc + ((long)(t.RowStart * k + t.ColStart) * cin + ic) * cout + c0, (nint)k * cin * cout, (nint)cin * cout, images, xImage, dyImage);
            }
        }
    }

    /// <summary>
    /// Per (input block, kh, kw) of the weight (index (cb·k + kh)·k + kw), whether that tap's weights are zero by
    /// construction for every input channel of the block and every output channel: a strided conv's expanded weight
    /// (<see cref="StridedConv2d"/>: the taps past the original kernel). Its owner sets it; null (the default) means
    /// none. <see cref="WeightGradImages"/> skips those taps (input blocks of 16 channels only) and leaves their
    /// accumulator entries as they are, so their gradient reads as whatever the accumulator was cleared to: the owner
    /// drops it. Every other entry gets the same sums in the same order, so the same bits.
    /// </summary>
    internal bool[]? ZeroTaps { get; set; }

    /// <summary>Whether <see cref="WeightGradImages"/> skips the <see cref="ZeroTaps"/> and <see cref="ForwardImage"/> runs
    /// only the windows of <see cref="SetTapWindows"/> (default on; off for the benchmarks' A/B, <c>plan-ab --switch
    /// zero-taps</c>, and the bit-identity tests). Read on every call.</summary>
    internal static bool SkipZeroTaps { get; set; } = true;

    private int[]? _tapWindows;

    /// <summary>The windows of <see cref="SetTapWindows"/> (empty: every tap).</summary>
    internal ReadOnlySpan<int> TapWindows => _tapWindows;

    /// <summary>
    /// Restricts <see cref="ForwardImage"/>'s sums, per (output group of <see cref="GroupWidth"/> channels, input block),
    /// to a window of taps: <paramref name="windows"/>[(group·<see cref="InBlocks"/> + cb)·4 ..] = (kh0, kh1, kw0, kw1),
    /// the taps [kh0, kh1) x [kw0, kw1). The packed weights outside a window must be zero (its owner guarantees it:
    /// a strided conv's expanded weight and its transpose, <see cref="StridedConv2d"/>), so the result is the same;
    /// null restores every tap.
    /// </summary>
    /// <exception cref="ArgumentException">The table has the wrong length or a window lies outside the kernel.</exception>
    internal void SetTapWindows(int[]? windows)
    {
        if (windows is not null)
        {
            if (windows.Length != OutChannels / GroupWidth * InBlocks * 4)
                throw new ArgumentException($"DirectConv2d: expected {OutChannels / GroupWidth * InBlocks * 4} window ints, got {windows.Length}", nameof(windows));
            for (int i = 0; i < windows.Length; i += 4)
                if (windows[i] < 0 || windows[i] > windows[i + 1] || windows[i + 1] > KernelSize || windows[i + 2] < 0 || windows[i + 2] > windows[i + 3] || windows[i + 3] > KernelSize)
                    throw new ArgumentException($"DirectConv2d: tap window {i / 4} outside the {KernelSize}x{KernelSize} kernel", nameof(windows));
        }
        _tapWindows = windows;
    }

    /// <summary>
    /// Writes (or adds, with <paramref name="accumulate"/>) the sum of <paramref name="accumulators"/> ([kh][kw][C][K] each)
    /// into <paramref name="weightGrad"/> in PyTorch's (K, C, kh, kw) layout.
    /// </summary>
    public void UnpackWeightGrad(ReadOnlySpan<nint> accumulators, Span<float> weightGrad, bool accumulate) =>
        UnpackWeightGradRows(accumulators, weightGrad, accumulate, 0, KernelSize * KernelSize * InChannels);

    /// <summary>
    /// <see cref="UnpackWeightGrad"/> for accumulator rows [<paramref name="rowStart"/>,
    /// <paramref name="rowEnd"/>) only, a row being one (kh, kw, c) position of K floats: disjoint ranges can run on
    /// different threads.
    /// </summary>
    public void UnpackWeightGradRows(ReadOnlySpan<nint> accumulators, Span<float> weightGrad, bool accumulate, int rowStart, int rowEnd)
    {
        int k = KernelSize, cin = InChannels, cout = OutChannels;
        Debug.Assert(weightGrad.Length == WeightLength);
        for (int row = rowStart; row < rowEnd; row++)
        {
            int kh = row / (k * cin), kw = row / cin % k, ic = row % cin;
            long src = (long)row * cout;
            // K is a multiple of 16: the accumulators summed 4 output channels at a time, in the same order
            // per element as one at a time (so the same bits), then scattered to the strided (K, C, kh, kw) slots.
            for (int oc = 0; oc < cout; oc += 4)
            {
                var v = Vector128<float>.Zero;
                foreach (nint a in accumulators) v += Vector128.Load((float*)a + src + oc);
                for (int q = 0; q < 4; q++)
                {
                    ref float d = ref weightGrad[(((oc + q) * cin + ic) * k + kh) * k + kw];
                    d = accumulate ? d + v.GetElement(q) : v.GetElement(q);
                }
            }
        }
    }

    /// <summary>Balanced split of [0, n) into ceil(n / max) contiguous parts of at most <paramref name="max"/>.</summary>
    internal static List<(int Start, int Count)> Split(int n, int max)
    {
        int parts = (n + max - 1) / max;
        var result = new List<(int, int)>(parts);
        for (int i = 0; i < parts; i++)
        {
            int start = (int)((long)n * i / parts), end = (int)((long)n * (i + 1) / parts);
            result.Add((start, end - start));
        }
        return result;
    }

    /// <summary>A forward tile: <c>Rows</c> output rows of <c>Cols</c> pixels from <c>Start</c> (the first pixel of a row tile, the first row of a block tile).</summary>
    private readonly struct Tile(int start, int rows, int cols,
        delegate*<float*, float*, float*, float*, nint, int, nint, nint, int, int*, float*, float*, bool, nint, void> kernel)
    {
        public readonly int Start = start;
        public readonly int Rows = rows;
        public readonly int Cols = cols;
        public readonly delegate*<float*, float*, float*, float*, nint, int, nint, nint, int, int*, float*, float*, bool, nint, void> Kernel = kernel;
    }

    private readonly struct WgTile(int rowStart, int rows, int colStart, int cols,
        delegate*<float*, nint, float*, nint, int, int, nint, nint, float*, nint, nint, int, nint, nint, void> kernel)
    {
        public readonly int RowStart = rowStart;
        public readonly int Rows = rows;
        public readonly int ColStart = colStart;
        public readonly int Cols = cols;
        public readonly delegate*<float*, nint, float*, nint, int, int, nint, nint, float*, nint, nint, int, nint, nint, void> Kernel = kernel;
    }
}
