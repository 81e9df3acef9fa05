using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace CnnSharp.Kernels.Direct;

/// <summary>
/// A strided direct 2-D convolution (stride s ≥ 2; a ResNet's 3x3 stride-2 downsampling conv and its 1x1 stride-2
/// projection) run as a stride-1 <see cref="DirectConv2d"/> over the phase-split input (space-to-depth), so forward,
/// input gradient and weight gradient all take the channel-blocked stride-1 kernels on every SIMD path.
/// </summary>
/// <remarks>
/// <para>Phases: with the input zero-padded by p, phase (a, b) (a &lt; min(s, kh), b &lt; min(s, kw): only phases that some
/// tap reads) is the sub-image <c>x'[(a·Pw + b)·C + c][i][j] = xpad[c][s·i + a][s·j + b]</c>, zero where that lies outside
/// the input. Tap (kh, kw) of the strided conv reads phase (kh mod s, kw mod s) at offset (kh div s, kw div s), so
/// <c>y = conv_stride1(x', w')</c> with the expanded weight <c>w'[k][(a·Pw + b)·C + c][i][j] = w[k][c][s·i + a][s·j + b]</c>
/// (zero past the kernel), of size k' = ceil(k / s), no padding, over an H' x W' = (Ho + k' − 1) x (Wo + k' − 1) phase image.</para>
/// <para>Cost: a 3x3 stride-2 conv becomes a 2x2 conv over 4C channels whose expanded weight is zero at 7 of each output
/// channel's 16 phase taps; the plans skip those (<see cref="DirectConv2d.SetTapWindows"/> in the forward and the input
/// gradient, per input block and per output group; <see cref="DirectConv2d.ZeroTaps"/> in the weight gradient), so the
/// forward and weight gradient cost the conv's own multiply-adds (the input gradient too where a 32-channel output group
/// holds one phase; C = 16 on AVX-512 pairs two phases per group, which keeps the taps either reads). A 1x1 strided
/// conv keeps one phase and has no zero taps.</para>
/// <para>Backward: the input gradient of the phase image is <see cref="DirectConv2d"/>'s usual transposed conv
/// (<see cref="InputGradientPlan"/>), scattered back to the input's pixels by <see cref="AddInputGradient"/>; the weight
/// gradient of w' is accumulated by <see cref="Plan"/>'s kernel, which skips the zero taps
/// (<see cref="DirectConv2d.ZeroTaps"/>: 9 of 16 phase taps' multiply-adds for 3x3), and gathered back by
/// <see cref="GatherWeightGrad"/> (the zero taps' entries are dropped).</para>
/// </remarks>
internal sealed unsafe class StridedConv2d
{
    /// <summary>Plans a strided convolution of one image.</summary>
    /// <exception cref="ArgumentException">The input channels are neither a multiple of 16 nor planar (fewer than 16 with
    /// fewer than 16 phase channels), the stride is below 2 or the output is empty.</exception>
    public StridedConv2d(int inChannels, int outChannels, int kernelSize, int padding, int stride, int height, int width, IsaLevel path)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelSize, 1);
        int side = Math.Min(stride, kernelSize);
        if (inChannels <= 0 || (inChannels % 16 != 0 && side * side * inChannels >= 16))
            throw new ArgumentException($"StridedConv2d: input channels must be a positive multiple of 16, or planar (fewer than 16 phase channels: {side * side} phases times C), got {inChannels}", nameof(inChannels));
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Padding = padding;
        Stride = stride;
        Height = height;
        Width = width;
        OutHeight = (height + 2 * padding - kernelSize) / stride + 1;
        OutWidth = (width + 2 * padding - kernelSize) / stride + 1;
        if (height + 2 * padding < kernelSize || width + 2 * padding < kernelSize)
            throw new ArgumentException($"StridedConv2d: kernel {kernelSize} with padding {padding} does not fit input {height}x{width}");
        PhaseSide = Math.Min(stride, kernelSize);
        PhaseKernel = (kernelSize + stride - 1) / stride;
        PhaseHeight = OutHeight + PhaseKernel - 1;
        PhaseWidth = OutWidth + PhaseKernel - 1;
        Plan = new DirectConv2d(Phases * inChannels, outChannels, PhaseKernel, 0, PhaseHeight, PhaseWidth, path);
        Plan.ZeroTaps = ZeroTapsOf(Plan.InBlocks);
        Plan.SetTapWindows(ForwardWindows(Plan));
        _path = path;
    }

    private readonly IsaLevel _path;
    private DirectConv2d? _inputGradientPlan;

    /// <summary>Input channels C (a multiple of 16, or planar: Phases·C below 16, an RGB stem).</summary>
    public int InChannels { get; }

    /// <summary>Output channels K.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel height and width k.</summary>
    public int KernelSize { get; }

    /// <summary>Zero padding p on each side.</summary>
    public int Padding { get; }

    /// <summary>Stride s on both axes.</summary>
    public int Stride { get; }

    /// <summary>Input height.</summary>
    public int Height { get; }

    /// <summary>Input width.</summary>
    public int Width { get; }

    /// <summary>Output height <c>floor((H + 2p − k) / s) + 1</c>.</summary>
    public int OutHeight { get; }

    /// <summary>Output width.</summary>
    public int OutWidth { get; }

    /// <summary>Phases per axis, min(s, k).</summary>
    public int PhaseSide { get; }

    /// <summary>Phases kept (PhaseSide²).</summary>
    public int Phases => PhaseSide * PhaseSide;

    /// <summary>Kernel size k' = ceil(k / s) of the stride-1 conv over the phase image.</summary>
    public int PhaseKernel { get; }

    /// <summary>Phase image height H' = Ho + k' − 1.</summary>
    public int PhaseHeight { get; }

    /// <summary>Phase image width W' = Wo + k' − 1.</summary>
    public int PhaseWidth { get; }

    /// <summary>The stride-1 conv (Phases·C → K, kernel k', no padding) over the phase image; its input image is the
    /// phase image, blocked ([Phases·C/16][H'][W'][16]).</summary>
    public DirectConv2d Plan { get; }

    /// <summary>The plan computing the phase image's gradient from the padded output gradient (pad k' − 1), made on first use.</summary>
    /// <exception cref="NotSupportedException">A planar (fewer than 16 input channels) strided conv: forward only (inference plans' stems).</exception>
    public DirectConv2d InputGradientPlan => _inputGradientPlan ??= InChannels % 16 != 0
        ? throw new NotSupportedException($"StridedConv2d: no input gradient for a planar input of {InChannels} channels (forward only)")
        : MakeInputGradientPlan();

    /// <summary>
    /// Whether new input-gradient plans of strided convs with 16-channel phases that have zero taps (C an odd multiple of
    /// 16, e.g. 16 -> 32 3x3 stride 2) use one-vector (16-channel) output groups on AVX-512, so that each group holds one
    /// phase and skips all of its zero taps (9 of 16 taps for 3x3 rather than 12 of 16 with two phases per 32-channel
    /// group). Read when the plan is made; default on, off for the benchmarks' A/B (<c>plan-ab --switch phase-groups</c>).
    /// Same sums in the same order either way, so the same bits.
    /// </summary>
    internal static bool SinglePhaseGroups { get; set; } = true;

    private DirectConv2d MakeInputGradientPlan()
    {
        bool zeroTaps = PhaseRows(PhaseSide - 1) < PhaseKernel;
        bool single = SinglePhaseGroups && zeroTaps && InChannels % 32 != 0;
        var plan = new DirectConv2d(OutChannels, Phases * InChannels, PhaseKernel, PhaseKernel - 1, OutHeight, OutWidth, _path, singleVectorGroups: single);
        plan.SetTapWindows(InputGradientWindows(plan));
        return plan;
    }

    // Phase (a, b) reads taps (s·i + a, s·j + b) for i < PhaseRows(a), j < PhaseRows(b): the rest of the k' x k' phase
    // kernel lies past the original kernel (zero in the expanded weight).
    private int PhaseRows(int a) => Math.Min(PhaseKernel, (KernelSize - a + Stride - 1) / Stride);

    // The forward's tap windows: per input block, its phase's taps [0, rows) x [0, cols) (the same for every output
    // group). Null when every phase reads the whole phase kernel (a 1x1 projection).
    private int[]? ForwardWindows(DirectConv2d plan)
    {
        int groups = plan.OutChannels / plan.GroupWidth, blocks = plan.InBlocks, perPhase = blocks / Phases;
        var windows = new int[groups * blocks * 4];
        bool any = false;
        for (int grp = 0; grp < groups; grp++)
            for (int cb = 0; cb < blocks; cb++)
            {
                int phase = cb / perPhase, rows = PhaseRows(phase / PhaseSide), cols = PhaseRows(phase % PhaseSide);
                any |= rows < PhaseKernel || cols < PhaseKernel;
                SetWindow(windows, (grp * blocks + cb) * 4, 0, rows, 0, cols);
            }
        return any ? windows : null;
    }

    private static void SetWindow(int[] windows, int at, int kh0, int kh1, int kw0, int kw1) =>
        (windows[at], windows[at + 1], windows[at + 2], windows[at + 3]) = (kh0, kh1, kw0, kw1);

    // The input gradient's tap windows: the phase-image channels are its outputs, so per output group the union of its
    // phases' taps, flipped ([k' − rows, k') x [k' − cols, k'): the transposed weight is packed flipped), for every
    // input block. A group of two 16-channel phases (C = 16 on AVX-512) skips only the taps both lack.
    private int[]? InputGradientWindows(DirectConv2d plan)
    {
        int groups = plan.OutChannels / plan.GroupWidth, blocks = plan.InBlocks, kp = PhaseKernel;
        var windows = new int[groups * blocks * 4];
        bool any = false;
        for (int grp = 0; grp < groups; grp++)
        {
            int rows = 0, cols = 0;
            for (int phase = grp * plan.GroupWidth / InChannels; phase <= ((grp + 1) * plan.GroupWidth - 1) / InChannels; phase++)
            {
                rows = Math.Max(rows, PhaseRows(phase / PhaseSide));
                cols = Math.Max(cols, PhaseRows(phase % PhaseSide));
            }
            any |= rows < kp || cols < kp;
            for (int cb = 0; cb < blocks; cb++) SetWindow(windows, (grp * blocks + cb) * 4, kp - rows, kp, kp - cols, kp);
        }
        return any ? windows : null;
    }

    /// <summary>Floats of the expanded weight (and its gradient): K · Phases·C · k'².</summary>
    public int ExpandedLength => Plan.WeightLength;

    // Per (input block, i, j) of the phase conv's weight, whether the expanded weight is zero there: phase (a, b) at
    // offset (i, j) is tap (s·i + a, s·j + b) of the original kernel, zero past it (a 3x3 stride-2 conv: 7 of its 16
    // phase taps). Null when no tap is zero (a 1x1 projection) or the input is planar (no 16-channel blocks).
    private bool[]? ZeroTapsOf(int blocks)
    {
        if (InChannels % 16 != 0) return null;
        int kp = PhaseKernel, perPhase = InChannels / 16;
        var zero = new bool[blocks * kp * kp];
        bool any = false;
        for (int cb = 0; cb < blocks; cb++)
        {
            int phase = cb / perPhase, a = phase / PhaseSide, b = phase % PhaseSide;
            for (int i = 0; i < kp; i++)
                for (int j = 0; j < kp; j++)
                    any |= zero[(cb * kp + i) * kp + j] = Stride * i + a >= KernelSize || Stride * j + b >= KernelSize;
        }
        return any ? zero : null;
    }

    /// <summary>PyTorch's (K, C, k, k) weight → the expanded (K, Phases·C, k', k') weight of <see cref="Plan"/>.</summary>
    public void ExpandWeights(ReadOnlySpan<float> weight, Span<float> expanded)
    {
        int k = KernelSize, kp = PhaseKernel, c = InChannels, cp = Phases * c;
        Debug.Assert(weight.Length == OutChannels * c * k * k && expanded.Length == ExpandedLength);
        expanded.Clear();
        for (int o = 0; o < OutChannels; o++)
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0; kw < k; kw++)
                {
                    int phase = kh % Stride * PhaseSide + kw % Stride, i = kh / Stride, j = kw / Stride;
                    for (int ic = 0; ic < c; ic++)
                        expanded[((o * cp + phase * c + ic) * kp + i) * kp + j] = weight[((o * c + ic) * k + kh) * k + kw];
                }
    }

    /// <summary>
    /// The expanded weight's gradient (K, Phases·C, k', k') → PyTorch's (K, C, k, k), written or (with
    /// <paramref name="accumulate"/>) added; the gradients of the expanded weight's zero taps are dropped.
    /// </summary>
    public void GatherWeightGrad(ReadOnlySpan<float> expandedGrad, Span<float> weightGrad, bool accumulate)
    {
        int k = KernelSize, kp = PhaseKernel, c = InChannels, cp = Phases * c;
        Debug.Assert(weightGrad.Length == OutChannels * c * k * k && expandedGrad.Length == ExpandedLength);
        for (int o = 0; o < OutChannels; o++)
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0; kw < k; kw++)
                {
                    int phase = kh % Stride * PhaseSide + kw % Stride, i = kh / Stride, j = kw / Stride;
                    for (int ic = 0; ic < c; ic++)
                    {
                        float v = expandedGrad[((o * cp + phase * c + ic) * kp + i) * kp + j];
                        ref float d = ref weightGrad[((o * c + ic) * k + kh) * k + kw];
                        d = accumulate ? d + v : v;
                    }
                }
    }

    /// <summary>One (C, H, W) image → its blocked phase image (<see cref="Plan"/>'s input, every float written); with
    /// <paramref name="blockCount"/> ≥ 0 only the 16-channel blocks [<paramref name="firstBlock"/>, + count) (an image
    /// converted block by block over threads). A planar input (fewer than 16 channels) gives the planar phase image
    /// ([Phases·C][H'][W'], phase plane (a·Pw + b)·C + c), and the range counts channels instead of blocks.</summary>
    /// <remarks>Loop order: per block of sixteen channels and phase row, the phase rows' pixels (two column phases, a few
    /// KB) stay in L1 while each channel's input row is read once, contiguously (<see cref="ChannelTranspose"/>: eight
    /// pixels of the sixteen rows at a time, transposed in registers). (Channel by channel over the whole
    /// phase image, or sixteen channel planes at once, which are 4 KB apart at 32x32 and share an L1 set, cost up to
    /// three times the convolution.)</remarks>
    public void ToPhaseImage(float* src, float* x, int firstBlock = 0, int blockCount = -1)
    {
        int blocks = InChannels / 16, hp = PhaseHeight, wp = PhaseWidth, plane = hp * wp * 16, hw = Height * Width;
        if (InChannels % 16 != 0)
        {
            ToPlanarPhaseImage(src, x, firstBlock, blockCount < 0 ? InChannels : blockCount);
            return;
        }
        int endBlock = blockCount < 0 ? blocks : firstBlock + blockCount;
        bool vector = ChannelTranspose.Vectorised;
        for (int cb = firstBlock; cb < endBlock; cb++)
            for (int a = 0; a < PhaseSide; a++)
                for (int i = 0; i < hp; i++)
                {
                    int row = Stride * i + a - Padding;
                    for (int b = 0; b < PhaseSide; b++)
                    {
                        float* dr = x + (long)((a * PhaseSide + b) * blocks + cb) * plane + (long)i * wp * 16;
                        if ((uint)row >= (uint)Height)
                        {
                            new Span<float>(dr, wp * 16).Clear();
                            continue;
                        }
                        // Columns outside the input: zero pixels at both ends of the phase row.
                        int j0 = Start(b), j1 = End(Width, b, wp);
                        new Span<float>(dr, j0 * 16).Clear();
                        new Span<float>(dr + j1 * 16, (wp - j1) * 16).Clear();
                        if (j1 > j0)
                            ChannelTranspose.ToBlocked(src + (long)cb * 16 * hw + (long)row * Width + b - Padding + Stride * j0, hw, Stride,
                                dr + j0 * 16, j1 - j0, accumulate: false, vector);
                    }
                }
    }

    /// <summary>One blocked image ([C/16][H][W][16], dense: a conv chain's previous stage output) → its blocked phase image,
    /// writing only the pixels that lie inside the input; with <paramref name="blockCount"/> ≥ 0 only the 16-channel blocks
    /// [<paramref name="firstBlock"/>, + count). The other floats of <paramref name="x"/> (the padding) are not touched:
    /// the caller keeps them zero (a buffer that nothing else writes). C must be a multiple of 16.</summary>
    /// <remarks>Why not <see cref="ToPhaseImage"/>: inside a conv chain the activation is already channel-blocked, so the
    /// phase split is a gather of whole 16-channel pixels (one 64-byte vector each) instead of an NCHW transpose.</remarks>
    public void BlockedToPhaseImage(float* src, float* x, int firstBlock = 0, int blockCount = -1)
    {
        Debug.Assert(InChannels % 16 == 0);
        int blocks = InChannels / 16, hp = PhaseHeight, wp = PhaseWidth, plane = hp * wp * 16;
        int endBlock = blockCount < 0 ? blocks : firstBlock + blockCount;
        for (int cb = firstBlock; cb < endBlock; cb++)
            for (int a = 0; a < PhaseSide; a++)
                for (int i = Start(a), i1 = End(Height, a, hp); i < i1; i++)
                {
                    float* sr = src + ((long)cb * Height + Stride * i + a - Padding) * Width * 16;
                    for (int b = 0; b < PhaseSide; b++)
                    {
                        float* dr = x + (long)((a * PhaseSide + b) * blocks + cb) * plane + (long)i * wp * 16;
                        int j1 = End(Width, b, wp);
                        for (int j = Start(b); j < j1; j++) CopyPixel(sr + (Stride * j + b - Padding) * 16, dr + j * 16);
                    }
                }
    }

    /// <summary>The inverse of <see cref="BlockedToPhaseImage"/>: a blocked phase image (or its gradient, the
    /// <see cref="InputGradientPlan"/>'s output) → the dense blocked image ([C/16][H][W][16]) of the pixels inside the input;
    /// pixels no phase holds (no tap reads them) are zero. C must be a multiple of 16.</summary>
    /// <remarks>Each input pixel lies in exactly one phase, so this is a copy: a conv chain's strided inner stage hands its
    /// input gradient (and, for the ReLU mask, its stored input) back to the previous stage in the chain's layout.</remarks>
    public void PhaseImageToBlocked(float* x, float* dst)
    {
        Debug.Assert(InChannels % 16 == 0);
        int blocks = InChannels / 16, hp = PhaseHeight, wp = PhaseWidth, plane = hp * wp * 16;
        // Pixels no tap reads (a kernel smaller than the stride; the last row or column past the phase image) get zero.
        if (PhaseSide < Stride || Stride * hp - Padding < Height || Stride * wp - Padding < Width) new Span<float>(dst, InChannels * Height * Width).Clear();
        for (int cb = 0; cb < blocks; cb++)
            for (int a = 0; a < PhaseSide; a++)
                for (int i = Start(a), i1 = End(Height, a, hp); i < i1; i++)
                {
                    float* dr = dst + ((long)cb * Height + Stride * i + a - Padding) * Width * 16;
                    for (int b = 0; b < PhaseSide; b++)
                    {
                        float* sr = x + (long)((a * PhaseSide + b) * blocks + cb) * plane + (long)i * wp * 16;
                        int j1 = End(Width, b, wp);
                        for (int j = Start(b); j < j1; j++) CopyPixel(sr + j * 16, dr + (Stride * j + b - Padding) * 16);
                    }
                }
    }

    // One blocked pixel (16 floats) from s to d.
    private static void CopyPixel(float* s, float* d)
    {
        if (Vector512.IsHardwareAccelerated) Vector512.Store(Vector512.Load(s), d);
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256.Store(Vector256.Load(s), d);
            Vector256.Store(Vector256.Load(s + 8), d + 8);
        }
        else
        {
            for (int c = 0; c < 16; c += 4) Vector128.Store(Vector128.Load(s + c), d + c);
        }
    }

    /// <summary>
    /// Adds the phase image's gradient (blocked, <see cref="InputGradientPlan"/>'s output: [Phases·C/16][H'][W'][16]) into
    /// one (C, H, W) image's gradient; pixels no phase covers (a 1x1 conv's skipped ones) get nothing.
    /// </summary>
    /// <remarks>The loop order of <see cref="ToPhaseImage"/>, for the same reason.</remarks>
    public void AddInputGradient(float* dx, float* dst)
    {
        int blocks = InChannels / 16, hp = PhaseHeight, wp = PhaseWidth, plane = hp * wp * 16, hw = Height * Width;
        bool vector = ChannelTranspose.Vectorised;
        if (vector && InterleavedInputGradient && Stride == 2 && PhaseSide == 2)
        {
            AddInputGradientInterleaved(dx, dst);
            return;
        }
        for (int cb = 0; cb < blocks; cb++)
            for (int a = 0; a < PhaseSide; a++)
                for (int i = Start(a), i1 = End(Height, a, hp); i < i1; i++)
                {
                    int row = Stride * i + a - Padding;
                    for (int b = 0; b < PhaseSide; b++)
                    {
                        float* sr = dx + (long)((a * PhaseSide + b) * blocks + cb) * plane + (long)i * wp * 16;
                        int j0 = Start(b), j1 = End(Width, b, wp);
                        if (j1 > j0)
                            ChannelTranspose.FromBlocked(sr + j0 * 16, dst + (long)cb * 16 * hw + (long)row * Width + b - Padding + Stride * j0, hw,
                                Stride, j1 - j0, accumulate: true, vector);
                    }
                }
    }

    /// <summary>Whether <see cref="AddInputGradient"/> adds both column phases of a stride-2 conv's row in one interleaved
    /// pass (default on; off for benchmarks' A/B and the bit-identity test). Same bits either way.</summary>
    internal static bool InterleavedInputGradient { get; set; } = true;

    // AddInputGradient for stride 2 with two column phases, on the vector path: per destination row, 16 columns (8 pixels
    // of each phase) at a time in one pass (ChannelTranspose.AddFromBlockedInterleaved), the last few columns scalar.
    private void AddInputGradientInterleaved(float* dx, float* dst)
    {
        int blocks = InChannels / 16, hp = PhaseHeight, wp = PhaseWidth, plane = hp * wp * 16, hw = Height * Width, p = Padding;
        // Column c is pixel (c + p) / 2 of column phase (c + p) % 2; the columns with a pixel in the phase image are [0, end).
        int end = Math.Min(Width, 2 * wp - p), vectorEnd = end & ~15;
        for (int cb = 0; cb < blocks; cb++)
            for (int a = 0; a < 2; a++)
                for (int i = Start(a), i1 = End(Height, a, hp); i < i1; i++)
                {
                    int row = 2 * i + a - p;
                    float* rowPhase0 = dx + (long)(2 * a * blocks + cb) * plane + (long)i * wp * 16;
                    float* rowPhase1 = rowPhase0 + (long)blocks * plane;
                    float* d = dst + (long)cb * 16 * hw + (long)row * Width;
                    if (vectorEnd > 0)
                    {
                        // Columns 0, 2, ... come from phase p % 2 starting at pixel p / 2, columns 1, 3, ... from the other.
                        float* even = (p & 1) == 0 ? rowPhase0 + p / 2 * 16 : rowPhase1 + p / 2 * 16;
                        float* odd = (p & 1) == 0 ? rowPhase1 + p / 2 * 16 : rowPhase0 + (p + 1) / 2 * 16;
                        ChannelTranspose.AddFromBlockedInterleaved(even, odd, d, hw, vectorEnd / 2);
                    }
                    for (int c = vectorEnd; c < end; c++)
                    {
                        float* s = ((c + p) & 1) == 0 ? rowPhase0 : rowPhase1;
                        s += (c + p) / 2 * 16;
                        for (int ch = 0; ch < 16; ch++) d[(long)ch * hw + c] += s[ch];
                    }
                }
    }

    // Channels [first, + count) of a planar input → their phase planes (every float of them written).
    private void ToPlanarPhaseImage(float* src, float* x, int first, int count)
    {
        int hp = PhaseHeight, wp = PhaseWidth, hw = Height * Width;
        for (int c = first; c < first + count; c++)
            for (int a = 0; a < PhaseSide; a++)
                for (int b = 0; b < PhaseSide; b++)
                {
                    float* plane = x + (long)((a * PhaseSide + b) * InChannels + c) * hp * wp;
                    int j0 = Start(b), j1 = End(Width, b, wp);
                    for (int i = 0; i < hp; i++)
                    {
                        float* dr = plane + (long)i * wp;
                        int row = Stride * i + a - Padding;
                        if ((uint)row >= (uint)Height)
                        {
                            new Span<float>(dr, wp).Clear();
                            continue;
                        }
                        new Span<float>(dr, j0).Clear();
                        new Span<float>(dr + j1, wp - j1).Clear();
                        float* sr = src + (long)c * hw + (long)row * Width + b - Padding;
                        for (int j = j0; j < j1; j++) dr[j] = sr[Stride * j];
                    }
                }
    }

    // The first phase index i with s·i + phase − p ≥ 0.
    private int Start(int phase) => Math.Max(0, (Padding - phase + Stride - 1) / Stride);

    // One past the last phase index i < limit with s·i + phase − p inside [0, size).
    private int End(int size, int phase, int limit)
    {
        int last = size - 1 + Padding - phase;
        return last < 0 ? 0 : Math.Min(limit, last / Stride + 1);
    }
}
