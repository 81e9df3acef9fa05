namespace CnnSharp.Kernels;

/// <summary>
/// Convolution weights (K, C/G, KH, KW) packed once into the GEMM micro-panel layout that <see cref="ConvGemm"/> reads
/// (the A operand of <c>y_g = W_g · col</c>), for one SIMD level. Building it costs one pass over the weights; a session
/// or layer that runs the same weights many times packs them once instead of on every call.
/// </summary>
/// <remarks>
/// Layout: the <c>T = C/G·KH·KW</c> taps of each group are cut into KC-deep slices; within a slice the K/G output
/// channels form MR-tall micro-panels stored tap-major. With <c>Mp = ⌈(K/G)/MR⌉·MR</c>:
/// <c>packed[g·Mp·T + pc·Mp + ir·kc + p·MR + r] = w[g·K/G + ir + r, tap pc + p]</c> for the slice starting at tap pc
/// with depth kc, panel row ir (a multiple of MR) and r &lt; MR; rows past K/G are zero, so edge tiles need no special
/// packing. The buffer is pinned and 64-byte aligned.
/// </remarks>
internal sealed unsafe class PackedConvWeights
{
    private float[] _buffer = [];
    private int _offset;

    /// <summary>Packs <paramref name="weight"/> (shape (K, C/G, KH, KW), row-major) for <paramref name="level"/>.</summary>
    /// <param name="weight">The weights.</param>
    /// <param name="k">Output channels.</param>
    /// <param name="cPerGroup">Input channels per group.</param>
    /// <param name="kh">Kernel height.</param>
    /// <param name="kw">Kernel width.</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="level">The SIMD level (fixes MR and NR).</param>
    /// <param name="blocking">Cache blocks to use instead of the level's defaults (tuning); MR and NR must be the level's.</param>
    /// <exception cref="ArgumentException">The weight's length does not match the shape, or the blocking is invalid.</exception>
    public PackedConvWeights(ReadOnlySpan<float> weight, int k, int cPerGroup, int kh, int kw, int groups, IsaLevel level,
        ConvGemm.Blocking? blocking = null) => Pack(weight, k, cPerGroup, kh, kw, groups, level, blocking);

    /// <summary>An empty instance for <see cref="Pack"/> to fill (a per-thread buffer reused across calls).</summary>
    public PackedConvWeights() { }

    /// <summary>
    /// (Re)packs <paramref name="weight"/> into this instance, growing its buffer only when the new packing is larger;
    /// see the constructor for the parameters.
    /// </summary>
    /// <exception cref="ArgumentException">The weight's length does not match the shape, or the blocking is invalid.</exception>
    public void Pack(ReadOnlySpan<float> weight, int k, int cPerGroup, int kh, int kw, int groups, IsaLevel level,
        ConvGemm.Blocking? blocking = null)
    {
        if (k <= 0 || cPerGroup <= 0 || kh <= 0 || kw <= 0 || groups <= 0 || k % groups != 0)
            throw new ArgumentException($"PackedConvWeights: invalid shape K={k}, C/G={cPerGroup}, {kh}x{kw}, groups={groups}");
        long taps = (long)cPerGroup * kh * kw;
        if (weight.Length != k * taps)
            throw new ArgumentException($"PackedConvWeights: weight has {weight.Length} values, shape ({k}, {cPerGroup}, {kh}, {kw}) needs {k * taps}", nameof(weight));
        var blk = blocking ?? ConvGemm.BlockingFor(level);
        Gemm.MicroKernel(level, out int mr, out int nr);
        if (blk.MR != mr || blk.NR != nr || blk.KC <= 0 || blk.MC <= 0 || blk.MC % mr != 0 || blk.NC <= 0 || blk.NC % nr != 0)
            throw new ArgumentException($"PackedConvWeights: blocking {blk} does not fit the {mr}x{nr} tile of {level}", nameof(blocking));
        int kg = k / groups;
        int rowsPadded = (kg + mr - 1) / mr * mr;
        long size = (long)groups * rowsPadded * taps;
        if (size > Array.MaxLength - 16) throw new ArgumentException($"PackedConvWeights: {size} packed values exceed the array limit");
        if (_buffer.Length < size + 16)
        {
            _buffer = GC.AllocateUninitializedArray<float>((int)size + 16, pinned: true);
            fixed (float* p = _buffer)
            {
                nint misalign = (nint)p & 63;
                _offset = misalign == 0 ? 0 : (int)((64 - misalign) / sizeof(float));
            }
        }
        Level = level;
        K = k;
        CPerGroup = cPerGroup;
        KH = kh;
        KW = kw;
        Groups = groups;
        Taps = (int)taps;
        Blocking = blk;
        MR = mr;
        KC = blk.KC;
        RowsPadded = rowsPadded;

        var dst = _buffer.AsSpan(_offset, (int)size);
        for (int gi = 0; gi < groups; gi++)
        {
            var wG = weight.Slice(gi * kg * Taps, kg * Taps);
            var outG = dst.Slice(gi * RowsPadded * Taps, RowsPadded * Taps);
            for (int pc = 0; pc < Taps; pc += KC)
            {
                int kc = Math.Min(KC, Taps - pc);
                var slice = outG.Slice(pc * RowsPadded, RowsPadded * kc);
                for (int ir = 0; ir < RowsPadded; ir += MR)
                {
                    var panel = slice.Slice(ir * kc, MR * kc);
                    for (int r = 0; r < MR; r++)
                    {
                        int row = ir + r;
                        if (row < kg)
                        {
                            var src = wG.Slice(row * Taps + pc, kc);
                            for (int p = 0; p < kc; p++) panel[p * MR + r] = src[p];
                        }
                        else
                        {
                            for (int p = 0; p < kc; p++) panel[p * MR + r] = 0f;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The register tile and cache blocks the panels are cut for.</summary>
    public ConvGemm.Blocking Blocking { get; private set; }

    /// <summary>The SIMD level whose register tile the panels are cut for.</summary>
    public IsaLevel Level { get; private set; }

    /// <summary>Output channels (0 before the first <see cref="Pack"/>).</summary>
    public int K { get; private set; }

    /// <summary>Input channels per group.</summary>
    public int CPerGroup { get; private set; }

    /// <summary>Kernel height.</summary>
    public int KH { get; private set; }

    /// <summary>Kernel width.</summary>
    public int KW { get; private set; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; private set; }

    /// <summary>Taps per output channel, <c>C/G·KH·KW</c> (the GEMM's K).</summary>
    public int Taps { get; private set; }

    /// <summary>Rows of the register tile (output channels per micro-panel).</summary>
    public int MR { get; private set; }

    /// <summary>Depth of a tap slice.</summary>
    public int KC { get; private set; }

    /// <summary>Output channels per group rounded up to a multiple of <see cref="MR"/>.</summary>
    public int RowsPadded { get; private set; }

    /// <summary>Whether these weights serve the convolution <paramref name="g"/> at <paramref name="level"/>.</summary>
    public bool Matches(in Conv2dGeometry g, IsaLevel level) =>
        level == Level && g.K == K && g.CPerGroup == CPerGroup && g.KH == KH && g.KW == KW && g.Groups == Groups;

    /// <summary>The first packed value (the array is pinned, so the pointer stays valid while this object lives).</summary>
    internal float* Pointer => (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref _buffer[_offset]);

    /// <summary>Keeps the pinned buffer reachable until a kernel using <see cref="Pointer"/> has finished.</summary>
    internal void KeepAlive() => GC.KeepAlive(_buffer);
}
