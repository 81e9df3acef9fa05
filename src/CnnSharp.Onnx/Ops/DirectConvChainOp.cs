using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx.Ops;

/// <summary>
/// One stage of a <see cref="DirectConvChainOp"/>: a Conv with constant weights (BatchNormalization already folded in),
/// its fused Relu if any, and optionally the 2x2/stride-2 MaxPool that consumes it.
/// </summary>
/// <param name="conv">The Conv operator as built (and prepacked) for the ordinary path.</param>
/// <param name="weight">The constant weight (K, C, k, k).</param>
/// <param name="bias">The constant bias (K), or null.</param>
/// <param name="padding">Zero padding on every side.</param>
/// <param name="pool">The MaxPool that follows, or null.</param>
internal sealed class DirectConvStage(ConvOp conv, OnnxValue weight, OnnxValue? bias, int padding, PoolOp? pool)
{
    /// <summary>
    /// Bound on |output| per unit of max |input|: the largest sum of |W| over one output channel's taps (∞ or NaN for
    /// a non-finite weight, which keeps every run on the ordinary path).
    /// </summary>
    public double Gain { get; } = MaxRowSum(weight);

    /// <summary>Largest |bias| (0 without one).</summary>
    public double BiasBound { get; } = bias is null ? 0 : bias.Floats.Max(v => Math.Abs((double)v));

    public ConvOp Conv { get; } = conv;
    public OnnxValue Weight { get; } = weight;
    public OnnxValue? Bias { get; } = bias;
    public int Padding { get; } = padding;
    public PoolOp? Pool { get; } = pool;
    public int OutChannels => Weight.Shape[0];
    public int InChannels => Weight.Shape[1];
    public int KernelSize => Weight.Shape[2];
    public bool Relu => Conv.FusedRelu;

    /// <summary>Whether the Conv has a residual Add fused in (<see cref="ConvOp.FusedResidual"/>): the Relu, if any, follows the Add.</summary>
    public bool Residual => Conv.FusedResidual;

    /// <summary>The same stage followed by <paramref name="maxPool"/>.</summary>
    public DirectConvStage WithPool(PoolOp maxPool) => new(Conv, Weight, Bias, Padding, maxPool);

    private static double MaxRowSum(OnnxValue w)
    {
        int k = w.Shape[0], per = w.Count / k;
        double max = 0;
        for (int o = 0; o < k; o++)
        {
            double sum = 0;
            for (int i = 0; i < per; i++) sum += Math.Abs((double)w.Floats[o * per + i]);
            if (!(sum <= max)) max = sum; // NaN sticks
        }
        return max;
    }
}

/// <summary>
/// A chain of Conv [+ Relu] [+ MaxPool 2x2/2] stages (see <see cref="GraphFusion.FuseDirectConvChains"/>) run image by
/// image on the training engine's direct convolution kernels (<see cref="DirectConv2d"/>, <see cref="BnReluPool"/>):
/// the activations stay in the channel-blocked, pre-padded layout <c>[C/16][H+2p][W+2p][16]</c> from the chain's NCHW
/// input to its NCHW output, each stage writing straight into the next one's padded input.
/// </summary>
/// <remarks>
/// <para>Why per image: the direct kernels compute one image on one thread. Batches are split over
/// <see cref="Parallelism.MaxThreads"/> threads of the <see cref="WorkerPool"/>, which claim images one at a time
/// (<see cref="WorkerPool.RunDynamic"/>).
/// A convolution of more than <see cref="ConvGemm.ParallelThresholdMacs"/> multiply-adds per image is one that the
/// GEMM path would split inside the image over the threads, so a chain with such a convolution (ResNet's layers, for
/// example) runs the original operators instead, one after the other, with results and errors exactly those of the
/// unfused graph. Except when every such large stage is a 3x3 conv with 16k input channels on the V256/V512 paths with
/// at least <see cref="MinSplitTiles"/> 4x4 output tiles: then the chain's 3x3 stages run Winograd F(4x4, 3x3)
/// (<see cref="WinogradConv2d"/>, 4x fewer multiplies). For a single image (batch 1) they are split inside the image
/// over the threads (<see cref="WinogradConv2d.ForwardPart"/>, parts claimed dynamically), and the layout conversions
/// at the chain's ends are split by channel block; the other stages of such a chain run on the calling thread. For
/// several images each thread runs whole images as above (<see cref="WinogradConv2d.ForwardImage"/>), which gives the
/// bits of the batch-1 split image by image. Results do not depend on the thread count. The same fallback takes any input the direct kernels do not cover (another rank or channel
/// count, an output that would be empty, a pool window that does not fit) and any input holding NaN, an infinity or values
/// large enough that a stage could overflow, so NaN and infinity follow the ordinary operators' rules.</para>
/// <para>Results match the unfused operators up to float32 summation order (the direct kernels accumulate the taps in
/// another order than the GEMM). MaxPool runs as <c>max(0, max of the window)</c> after the conv's own ReLU, which is
/// the same value.</para>
/// <para>A chain of one stage may carry a residual (<see cref="DirectConvStage.Residual"/>, the step's second input r):
/// <c>y = relu?((conv + bias) + r)</c>, the sums in the order of <see cref="ConvGemm"/>'s residual epilogue, added in
/// the final blocked-to-NCHW conversion. Only the Winograd plans (batch 1 split, or image by image) run it on the direct
/// kernels; every other run (a small convolution, a stage that is not Winograd-eligible, another SIMD level, r of another shape or type, NaN, an infinity or huge values
/// in x or r) runs the fused Conv+Add operator, exactly as without the chain.</para>
/// <para>Plans (tile choice, weights packed for the SIMD level, per-thread buffers) are built at the first run for an
/// input height, width and SIMD level and kept, so a run of a known shape allocates only its output tensor's shape.
/// Not re-entrant; the session serialises runs.</para>
/// </remarks>
internal sealed unsafe class DirectConvChainOp : OnnxOp
{
    private const int MaxCachedPlans = 4;

    /// <summary>Largest magnitude a stage may reach on the direct path (float.MaxValue is about 3.4e38).</summary>
    private const double OverflowLimit = 1e36;

    private readonly DirectConvStage[] _stages;
    private readonly Dictionary<(int H, int W, IsaLevel Level, PlanMode Mode), Plan> _plans = [];
    private readonly Action<int, int> _body;
    private readonly Action<int, int> _splitBody;

    // State of a split (batch-1) run: the phase (0 = NCHW to blocked, 1 = stage _stageIndex's Winograd parts, 2 = blocked to NCHW).
    private int _phase, _stageIndex, _groupsPerPart;

    // State of the run in progress (read by the workers).
    private Plan? _plan;
    private float[]? _input, _output, _residual;

    // Whether the (single) stage adds the step's second input before its Relu.
    private readonly bool _hasResidual;

    public DirectConvChainOp(IReadOnlyList<DirectConvStage> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (stages.Count == 0) throw new ArgumentException("DirectConvChainOp: no stages", nameof(stages));
        _stages = [.. stages];
        _hasResidual = _stages[0].Residual;
        if (_stages.Skip(1).Any(s => s.Residual) || (_hasResidual && (_stages.Length != 1 || _stages[0].Pool is not null)))
            throw new ArgumentException("DirectConvChainOp: a residual stage must be the chain's only stage, without a pool", nameof(stages));
        _body = Body;
        _splitBody = SplitBody;
    }

    /// <summary>The fused stages, first to last.</summary>
    public IReadOnlyList<DirectConvStage> Stages => _stages;

    /// <summary>Thread count to use instead of <see cref="Parallelism.MaxThreads"/> (tests; null follows the global setting).</summary>
    public int? ThreadsOverride { get; set; }

    /// <summary>Runs that took the direct kernels (tests and profiles).</summary>
    public long DirectRuns { get; private set; }

    /// <summary>Runs that fell back to the original operators.</summary>
    public long FallbackRuns { get; private set; }

    public override void Execute(OpContext ctx, ReadOnlySpan<OnnxValue?> inputs, Span<OnnxValue?> outputs)
    {
        var x = inputs[0]!;
        var residual = _hasResidual ? inputs[1] : null;
        var plan = TryPlan(x, residual);
        if (plan is null)
        {
            FallbackRuns++;
            outputs[0] = Fallback(ctx, x, residual);
            return;
        }
        int n = x.Shape[0];
        var y = ctx.Floats([n, plan.OutChannels, plan.OutHeight, plan.OutWidth]);
        int threads = Math.Max(1, plan.Split ? ThreadsOverride ?? Parallelism.MaxThreads : Math.Min(ThreadsOverride ?? Parallelism.MaxThreads, n));
        plan.EnsureScratch(threads);
        _plan = plan;
        _input = x.Floats;
        _output = y.Floats;
        _residual = residual?.Floats;
        try
        {
            // One image per claim: whichever thread is free takes the next image, so a thread that loses its core (or a
            // worker slow to wake) leaves the rest to the others; which thread ran an image cannot change its result.
            if (plan.Split) RunSplit(plan, threads);
            else WorkerPool.Shared.RunDynamic(threads, n, _body);
        }
        finally
        {
            _plan = null;
            _input = null;
            _output = null;
            _residual = null;
        }
        DirectRuns++;
        outputs[0] = y;
    }

    /// <summary>The plan for <paramref name="x"/>, or null when the direct kernels do not apply to it.</summary>
    private Plan? TryPlan(OnnxValue x, OnnxValue? residual)
    {
        var level = Isa.Level;
        if (!x.IsFloat || x.Rank != 4 || x.Shape[0] <= 0 || x.Shape[1] != _stages[0].InChannels) return null;
        int h = x.Shape[2], w = x.Shape[3];
        if (h <= 0 || w <= 0) return null;
        // NaN: the direct kernels' ReLU and pooling use the hardware max, which may drop a NaN that the ordinary path
        // propagates. With finite weights, no NaN or infinity can arise inside the chain while every stage's output stays
        // within max|input|·Gain + BiasBound far from float.MaxValue (ReLU and max pooling never grow magnitudes), so such
        // inputs (NaN, ±∞, or values large enough to overflow) take the ordinary path. One vectorised pass over the input.
        double bound = TensorPrimitives.MaxMagnitude<float>(x.Floats);
        foreach (var s in _stages)
        {
            bound = Math.Abs(bound) * s.Gain + s.BiasBound;
            if (!(bound <= OverflowLimit)) return null;
        }
        bool winograd = false;
        foreach (var s in _stages)
        {
            int k = s.KernelSize, oh = h + 2 * s.Padding - k + 1, ow = w + 2 * s.Padding - k + 1;
            if (oh <= 0 || ow <= 0) return null;
            if ((long)oh * ow * s.OutChannels * s.InChannels * k * k > ConvGemm.ParallelThresholdMacs)
            {
                if (!SplitsWell(s, level, oh, ow)) return null;
                winograd = true;
            }
            (h, w) = (oh, ow);
            if (s.Pool is not null)
            {
                if (h < 2 || w < 2) return null;
                (h, w) = (h / 2, w / 2);
            }
        }
        if (_hasResidual)
        {
            // The residual runs only on the Winograd plans; it must have the output's shape and be finite and far from
            // overflow (with |conv + bias| bounded as above, the sum then stays finite too).
            if (!winograd || residual is not { IsFloat: true, Rank: 4 } r || r.Shape[0] != x.Shape[0] || r.Shape[1] != _stages[0].OutChannels
                || r.Shape[2] != h || r.Shape[3] != w || !(TensorPrimitives.MaxMagnitude<float>(r.Floats) <= (float)OverflowLimit))
                return null;
        }
        var mode = !winograd ? PlanMode.Direct : x.Shape[0] == 1 ? PlanMode.Split : PlanMode.Batched;
        var key = (x.Shape[2], x.Shape[3], level, mode);
        if (!_plans.TryGetValue(key, out var plan))
        {
            if (_plans.Count >= MaxCachedPlans) _plans.Clear();
            _plans[key] = plan = new Plan(_stages, key.Item1, key.Item2, level, mode);
        }
        return plan;
    }

    /// <summary>
    /// Fewest 4x4 output tiles for which a large stage runs Winograd F(4x4, 3x3) at batch 1. The transformed weight is 4x
    /// the weight and streams from memory once per block of tiles: ResNet-18's 512→512 layers on 7x7 pixels (4 tiles,
    /// 37.7 MB of transformed weight) measured no faster than the GEMM path (2.2 ms each), so they keep it; 14x14 (16
    /// tiles) and larger gained.
    /// </summary>
    private const int MinSplitTiles = 16;

    /// <summary>Whether a large stage can run Winograd F(4x4, 3x3) split over the threads (see <see cref="WinogradConv2d.For"/>).</summary>
    private static bool SplitsWell(DirectConvStage s, IsaLevel level, int outHeight, int outWidth) =>
        s.KernelSize == 3 && s.InChannels % 16 == 0 && level is (IsaLevel.V256 or IsaLevel.V512)
        && (outHeight + 3) / 4 * ((outWidth + 3) / 4) >= MinSplitTiles;

    /// <summary>One image with every Winograd stage, and the conversions at the ends, split over <paramref name="threads"/>.</summary>
    private void RunSplit(Plan plan, int threads)
    {
        var scratch = plan.Scratch[0];
        var convs = plan.Convs;
        _phase = 0;
        WorkerPool.Shared.RunDynamic(threads, convs[0].InChannels == 1 ? 1 : convs[0].InChannels / 16, _splitBody);
        for (int i = 0; i < convs.Length; i++)
        {
            if (plan.Winograd[i] is { } wino && _stages[i].Pool is null)
            {
                _phase = 1;
                _stageIndex = i;
                _groupsPerPart = plan.GroupsPerPart(i, threads);
                WorkerPool.Shared.RunDynamic(threads, wino.PartCount(_groupsPerPart), _splitBody);
                continue;
            }
            RunStage(plan, scratch, i);
        }
        _phase = 2;
        WorkerPool.Shared.RunDynamic(threads, plan.OutChannels / 16, _splitBody);
    }

    private void SplitBody(int unit, int thread)
    {
        var plan = _plan!;
        var scratch = plan.Scratch[0];
        fixed (float* src = _input, dst = _output)
        {
            if (_phase == 0)
            {
                var first = plan.Convs[0];
                int channels = first.InChannels == 1 ? 1 : 16;
                BlockedLayout.ToPaddedInput(src, first, scratch.X[0].Pointer, unit * channels, channels);
            }
            else if (_phase == 1)
            {
                int i = _stageIndex;
                var (target, plane, row) = Target(plan, scratch, i);
                float* bias = plan.Biases[i] is { } b ? b.Pointer : null;
                plan.Winograd[i]!.ForwardPart(unit, _groupsPerPart, scratch.X[i].Pointer, plan.Weights[i].Pointer, bias,
                    (float*)target, plane, row, _stages[i].Relu && !_hasResidual, plan.Scratch[thread].Winograd.Pointer);
            }
            else if (_residual is null)
            {
                long q = (long)plan.OutHeight * plan.OutWidth;
                BlockedLayout.ToChannelMajor(scratch.Final.Pointer + unit * q * 16, dst + unit * q * 16, 16, (int)q);
            }
            else
            {
                fixed (float* r = _residual)
                    AddResidualToChannelMajor(scratch.Final.Pointer, r, dst, unit, (long)plan.OutHeight * plan.OutWidth, _stages[0].Relu);
            }
        }
    }

    /// <summary>
    /// Channel block <paramref name="block"/> of the blocked conv output (bias included) plus the NCHW residual, clamped
    /// at zero when <paramref name="relu"/>, written as NCHW: <c>relu?(y + r)</c>, as <see cref="ConvGemm"/>'s epilogue.
    /// </summary>
    private static void AddResidualToChannelMajor(float* src, float* residual, float* dst, int block, long q, bool relu)
    {
        for (int c = block * 16; c < block * 16 + 16; c++)
        {
            float* s = src + block * q * 16 + c % 16;
            float* r = residual + c * q;
            float* d = dst + c * q;
            if (relu)
                for (long i = 0; i < q; i++) d[i] = MathF.Max(s[i * 16] + r[i], 0f);
            else
                for (long i = 0; i < q; i++) d[i] = s[i * 16] + r[i];
        }
    }

    /// <summary>The original operators one after the other (intermediate values go back to the pool).</summary>
    private OnnxValue Fallback(OpContext ctx, OnnxValue x, OnnxValue? residual)
    {
        var current = x;
        var one = new OnnxValue?[1];
        foreach (var s in _stages)
        {
            if (s.Residual) s.Conv.Execute(ctx, [current, s.Weight, s.Bias, residual], one);
            else s.Conv.Execute(ctx, [current, s.Weight, s.Bias], one);
            var y = one[0]!;
            if (!ReferenceEquals(current, x)) ctx.Return(current);
            current = y;
            if (s.Pool is not null)
            {
                // The fused step requests one output, so the pool's Indices output is not computed.
                s.Pool.Execute(ctx, [current], one);
                ctx.Return(current);
                current = one[0]!;
            }
        }
        return current;
    }

    private void Body(int image, int thread)
    {
        var plan = _plan!;
        var first = plan.Convs[0];
        long inImage = (long)first.InChannels * first.Height * first.Width;
        long outImage = (long)plan.OutChannels * plan.OutHeight * plan.OutWidth;
        fixed (float* x = _input, y = _output, r = _residual)
            RunImage(plan, plan.Scratch[thread], x + image * inImage, y + image * outImage, r == null ? null : r + image * outImage);
    }

    /// <summary>One image on the calling thread; <paramref name="residual"/> (NCHW, or null) is added in the final conversion.</summary>
    private void RunImage(Plan plan, Scratch scratch, float* src, float* dst, float* residual)
    {
        var convs = plan.Convs;
        var first = convs[0];
        BlockedLayout.ToPaddedInput(src, first, scratch.X[0].Pointer, 0, first.InChannels);
        for (int i = 0; i < convs.Length; i++) RunStage(plan, scratch, i);
        if (residual == null)
        {
            BlockedLayout.ToChannelMajor(scratch.Final.Pointer, dst, plan.OutChannels, plan.OutHeight * plan.OutWidth);
            return;
        }
        for (int block = 0; block < plan.OutChannels / 16; block++)
            AddResidualToChannelMajor(scratch.Final.Pointer, residual, dst, block, (long)plan.OutHeight * plan.OutWidth, _stages[^1].Relu);
    }

    /// <summary>
    /// Stage <paramref name="i"/> of one image on the calling thread, into the next stage's padded input (or the final
    /// buffer): the conv (with its ReLU, unless a residual is still to be added), then the pool when the stage has one.
    /// </summary>
    private void RunStage(Plan plan, Scratch scratch, int i)
    {
        var c = plan.Convs[i];
        var stage = _stages[i];
        float* x = scratch.X[i].Pointer;
        float* bias = plan.Biases[i] is { } b ? b.Pointer : null;
        var (target, plane, row) = Target(plan, scratch, i);
        if (stage.Pool is null)
        {
            Convolve(plan, scratch, i, x, bias, (float*)target, plane, row, stage.Relu && !_hasResidual);
            return;
        }
        float* y = scratch.Y[i]!.Pointer;
        Convolve(plan, scratch, i, x, bias, y, c.OutputPlane, c.OutWidth * 16, stage.Relu);
        // Identity affine map: the conv already applied its bias (and the folded BN) and ReLU, so this is the pool.
        BnReluPool.Forward(plan.Level, y, c.OutChannels / 16, c.OutHeight, c.OutWidth, plan.One.Pointer, plan.Zero.Pointer, (float*)target, plane, row);
    }

    private static void Convolve(Plan plan, Scratch scratch, int i, float* x, float* bias, float* y, nint plane, nint row, bool relu)
    {
        if (plan.Winograd[i] is { } wino)
            wino.ForwardImage(x, plan.Weights[i].Pointer, bias, y, plane, row, null, null, relu, scratch.Winograd.Pointer);
        else
            plan.Convs[i].ForwardImage(x, plan.Weights[i].Pointer, bias, y, plane, row, null, null, relu);
    }

    /// <summary>Where stage <paramref name="i"/> writes its result: the interior of the next stage's padded input, or the final buffer.</summary>
    private static (nint Target, nint Plane, nint Row) Target(Plan plan, Scratch scratch, int i)
    {
        if (i + 1 < plan.Convs.Length)
        {
            var next = plan.Convs[i + 1];
            return ((nint)(scratch.X[i + 1].Pointer + next.Padding * next.InputRow + next.Padding * 16), next.InputPlane, next.InputRow);
        }
        return ((nint)scratch.Final.Pointer, (nint)plan.OutHeight * plan.OutWidth * 16, plan.OutWidth * 16);
    }

    /// <summary>How a plan runs its large stages.</summary>
    private enum PlanMode
    {
        /// <summary>No large stage: whole images on the direct kernels (5x5 stages on Winograd F(2x2, 5x5)).</summary>
        Direct,

        /// <summary>One image, its Winograd stages split over the threads (<see cref="RunSplit"/>).</summary>
        Split,

        /// <summary>Several images, one per claim, every 3x3 stage (large ones included) on Winograd F(4x4, 3x3) per image.</summary>
        Batched,
    }

    /// <summary>Plans, packed weights and per-thread buffers for one input height, width, SIMD level and mode.</summary>
    private sealed class Plan
    {
        public Plan(DirectConvStage[] stages, int height, int width, IsaLevel level, PlanMode mode)
        {
            Level = level;
            Split = mode == PlanMode.Split;
            Convs = new DirectConv2d[stages.Length];
            Weights = new AlignedBuffer[stages.Length];
            Biases = new AlignedBuffer?[stages.Length];
            Winograd = new WinogradConv2d?[stages.Length];
            int h = height, w = width, widest = 0;
            for (int i = 0; i < stages.Length; i++)
            {
                var s = stages[i];
                var c = new DirectConv2d(s.InChannels, s.OutChannels, s.KernelSize, s.Padding, h, w, level);
                Convs[i] = c;
                // 5x5 stages with 16k input channels run Winograd F(2x2, 5x5) where the SIMD level allows (as the
                // compiled conv chains do): 2.8x fewer multiplies, ~1.5x faster measured. In a split
                // (batch-1) plan, 3x3 stages run F(4x4, 3x3) over the threads; in a batched plan, image by image.
                var wino = s.KernelSize == 5 || mode != PlanMode.Direct ? WinogradConv2d.For(c) : null;
                Winograd[i] = wino;
                Weights[i] = new AlignedBuffer(wino?.PackedLength ?? c.WeightLength);
                if (wino is not null) wino.PackWeights(s.Weight.Floats, transposeAndFlip: false, Weights[i].Pointer);
                else c.PackWeights(s.Weight.Floats, transposeAndFlip: false, Weights[i].Pointer);
                WinogradScratch = Math.Max(WinogradScratch, wino?.ScratchLength ?? 0);
                if (s.Bias is { } bias)
                {
                    Biases[i] = new AlignedBuffer(s.OutChannels);
                    bias.Floats.AsSpan().CopyTo(Biases[i]!.Span);
                }
                (h, w) = s.Pool is null ? (c.OutHeight, c.OutWidth) : (c.OutHeight / 2, c.OutWidth / 2);
                widest = Math.Max(widest, s.OutChannels);
            }
            OutChannels = stages[^1].OutChannels;
            OutHeight = h;
            OutWidth = w;
            HasPool = stages.Select(s => s.Pool is not null).ToArray();
            One = new AlignedBuffer(widest);
            One.Span.Fill(1f);
            Zero = new AlignedBuffer(widest);
        }

        public IsaLevel Level { get; }

        /// <summary>One image whose Winograd stages are split over the threads (see <see cref="RunSplit"/>).</summary>
        public bool Split { get; }

        /// <summary>
        /// Output channel groups per part of stage <paramref name="i"/>: whole groups while there are at least 3 blocks
        /// of tiles per thread, else as many splits of the groups as bring the parts to about that count (a split
        /// repeats the block's input transform, small against its GEMM). Any value gives the same results.
        /// </summary>
        public int GroupsPerPart(int i, int threads)
        {
            var wino = Winograd[i]!;
            int groups = wino.OutChannels / 16;
            int splits = Math.Clamp((3 * threads + wino.BlockCount - 1) / wino.BlockCount, 1, groups);
            return (groups + splits - 1) / splits;
        }
        public DirectConv2d[] Convs { get; }
        public AlignedBuffer[] Weights { get; }
        public AlignedBuffer?[] Biases { get; }
        public WinogradConv2d?[] Winograd { get; }
        public int WinogradScratch { get; }
        public bool[] HasPool { get; }
        public AlignedBuffer One { get; }
        public AlignedBuffer Zero { get; }
        public int OutChannels { get; }
        public int OutHeight { get; }
        public int OutWidth { get; }
        public List<Scratch> Scratch { get; } = [];

        public void EnsureScratch(int threads)
        {
            while (Scratch.Count < threads) Scratch.Add(new Scratch(this));
        }
    }

    /// <summary>One thread's buffers: each stage's padded input (zero border), conv output before a pool, the chain's blocked output.</summary>
    private sealed class Scratch
    {
        public Scratch(Plan plan)
        {
            X = plan.Convs.Select(c => new AlignedBuffer(c.InputImage)).ToArray();
            Y = plan.Convs.Select((c, i) => plan.HasPool[i] ? new AlignedBuffer(c.OutputImage) : null).ToArray();
            Final = new AlignedBuffer(plan.OutChannels * plan.OutHeight * plan.OutWidth);
            Winograd = new AlignedBuffer(plan.WinogradScratch);
        }

        public AlignedBuffer Winograd { get; }

        public AlignedBuffer[] X { get; }
        public AlignedBuffer?[] Y { get; }
        public AlignedBuffer Final { get; }
    }
}
