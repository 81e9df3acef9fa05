using System.Numerics.Tensors;
using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;
using CnnSharp.Modules;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// A chain of direct-kernel convolution stages, each conv [+ batch norm] [+ ReLU] [+ 2x2/2 max pool], with the
/// activations channel-blocked from the chain's NCHW input to its NCHW output: the generalisation of the tutorial ConvNet's former
/// hand-fused engine to any such chain.
/// </summary>
/// <remarks>
/// <para>Forward, one step per stage and a last one: step s writes stage s − 1's epilogue (batch norm as an affine map,
/// ReLU, pooling: <see cref="BnReluPool"/>) straight into conv s's padded blocked input (phase 0 copies the NCHW input
/// there) and runs conv s (direct or Winograd), whose epilogue adds the batch-norm sums; after a training-mode batch
/// norm's step the batch statistics are finished and the running statistics updated (a barrier: the steps in between
/// run image by image in one parallel phase); the last step writes the last epilogue as NCHW.</para>
/// <para>Backward, from the last stage down: pass A of a training-mode batch norm (sums of dz and dz·xhat, the pooling
/// argmax and ReLU mask recomputed from the pre-norm conv output), then per stage pass B (the input gradient of the
/// epilogue, written into the padded layout of the conv's input-gradient kernel), the weight gradient, and the conv's
/// input gradient, which is the previous stage's output gradient, followed at once by that stage's pass A. The chain
/// input's gradient is computed only when the plan has one.</para>
/// <para>Threads: the batch is cut into a fixed number of image chunks (about <see cref="ImagesPerChunk"/> images each,
/// an even count where it can be, a function of the batch size only: <c>ConvChainOp.Chunking.cs</c>) that the worker pool's threads claim dynamically; each chunk has its own
/// statistics and weight-gradient accumulators, summed in chunk order, so every result is bit-identical for any thread
/// count.</para>
/// <para>Residual: with a residual operand (a plan value of the output's shape, <c>PlanBuilder</c>'s residual pass), the
/// last step adds it to the NCHW output image (then ReLU when fused), as <see cref="AddOp"/> does; backward's first phase
/// passes the output gradient (masked by the ReLU) to that operand's gradient and into the chain.</para>
/// <para>Downsampling blocks (inference plans): a strided stage after the first and a projection shortcut computed from
/// its phase image (<c>ConvChainOp.Projection.cs</c>).</para>
/// <para>Memory: per stage, in training plans, the conv output before batch norm, the padded conv input and the output
/// gradient for the batch; per thread one image of scratch. Inference plans keep conv inputs and outputs per thread,
/// except the conv output before a training-mode batch norm (its batch statistics come first).</para>
/// </remarks>
internal sealed unsafe partial class ConvChainOp : CompiledOp
{
    /// <summary>Images per work chunk (the former fused engine's measured balance of idle tail against accumulator cost).</summary>
    internal const int ImagesPerChunk = 5;

    private readonly ConvChainLayer[] _layers;
    private readonly bool _frozen;
    private bool _packedOnce;
    private readonly IsaLevel _level;
    private readonly int _n, _chunks, _statStride;
    private readonly AlignedBuffer[] _chunkStats;
    private readonly nint[] _chunkStatPointers;
    private readonly bool _differentiable;
    private readonly bool _residual, _residualRelu;
    private readonly Action<int, int> _forward, _backward;
    private readonly Action<int> _reduceRows;
    private ThreadScratch[] _threads = [];
    private ExecutionPlan? _exec;
    private int _phase, _phaseEnd, _active;
    private bool _inputGrad;

    // residual: the plan value added to the chain's output (the residual connection), or -1; residualRelu: ReLU after it.
    // inner: residual adds after inner stages or from a stage's blocked input (merged residual blocks, ConvChainOp.Inner.cs).
    public ConvChainOp(int input, int output, ConvChainSpec spec, bool differentiable, bool inputRequiresGrad, Func<BatchNormSpec, BatchNormBase?> modules,
        int residual = -1, bool residualRelu = false, IReadOnlyList<ChainResidual>? inner = null)
        : base(InputValues(input, residual, inner), output)
    {
        _residual = residual >= 0;
        _inner = PlanInner(inner, spec.Stages.Length, _residual);
        _residualRelu = (_residual && residualRelu) || _inner[^1] is { Relu: true };
        _level = Isa.Level;
        _differentiable = differentiable;
        _n = spec.Stages[0].Conv.Geometry.N;
        _chunks = ChunkCount(_n, differentiable);
        _layers = [.. spec.Stages.Select((s, i) => new ConvChainLayer(s, s.Norm is null ? null : modules(s.Norm), differentiable,
            i == 0 && inputRequiresGrad, _chunks, _level))];
        _projections = PlanProjections(_inner, _layers, differentiable, _level);
        _trainProjections = PlanTrainProjections(_inner, _layers, differentiable, _chunks, modules, _level);
        _statStride = (_layers.Max(l => l.Geometry.K) + 7) / 8 * 8;
        // Imported (ONNX) weights never change after planning: pack them, and the eval batch-norm affine maps, once.
        _frozen = !differentiable && spec.Stages.All(s => s.Conv.Frozen && (s.Norm is null || (s.Norm.Frozen && !s.Norm.Training)))
            && _projections.All(p => p is null || p.Spec.Frozen);
        // Doubles on the pinned heap (an AlignedBuffer of twice the floats): sums, sums of squares / pass-A sums, bias gradient.
        _chunkStats = [.. Enumerable.Range(0, _chunks).Select(_ => new AlignedBuffer(2 * StatRegions * 3 * _statStride))];
        _chunkStatPointers = [.. _chunkStats.Select(b => (nint)b.Pointer)];
        _trainProjections = [.. _trainProjections.Select(tp => tp with { Stats = [.. _chunkStatPointers.Select(q => q + 3 * tp.Region * _statStride * sizeof(double))] })];
        if (!differentiable && !_frozen && ReusePackedWeights) _packSources = new PackSourceSnapshot(PackSources());
        _forward = ForwardChunk;
        _backward = BackwardChunk;
        _reduceRows = ReduceRowsPart;
    }

    /// <summary>Whether a convolution can be a chain stage: one group, stride 1, dilation 1, a square kernel, the same
    /// padding on every side and at most kernel − 1, C from 1 to 15 (a planar first stage, e.g. an RGB stem) or a
    /// multiple of 16, K a multiple of 16.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        g.Groups == 1 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.KH == g.KW
        && g.PadTop == g.PadLeft && g.PadTop == g.PadBottom && g.PadTop == g.PadRight && g.PadTop <= g.KH - 1
        && g.C > 0 && (g.C < 16 || g.C % 16 == 0) && g.K % 16 == 0 && g.OutH > 0 && g.OutW > 0;

    /// <summary>Whether a max pooling can end a chain stage: 2x2, stride 2, no padding or dilation, floor mode.</summary>
    public static bool SupportsPool(in Pool2dGeometry g) =>
        g.KH == 2 && g.KW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0
        && g.DilationH == 1 && g.DilationW == 1 && !g.CeilMode && g.OutH > 0 && g.OutW > 0;

    public override string Name => "ConvChain[" + string.Join(" | ", _layers.Select((l, i) => l.Name + InnerName(i))) + "]"
        + (_residual ? _residualRelu ? "+Add+ReLU" : "+Add" : "");

    public override IEnumerable<Tensor> Parameters =>
        _layers.SelectMany(l => new[] { l.Weight, l.Bias, l.Stage.Norm?.Weight, l.Stage.Norm?.Bias })
            .Concat(_projections.SelectMany(p => new[] { p?.Spec.Conv.Weight, p?.Spec.Conv.Bias, p?.Spec.Norm?.Weight, p?.Spec.Norm?.Bias }))
            .Concat(_trainProjections.SelectMany(tp => new[] { tp.Layer.Weight, tp.Layer.Bias, tp.Layer.Stage.Norm?.Weight, tp.Layer.Stage.Norm?.Bias }))
            .Where(t => t is not null).Cast<Tensor>();

    // Chunk statistics regions of 3·stride doubles: the stages', and a training projection's.
    private int StatRegions => 1 + _trainProjections.Length;

    private (int Start, int End) Chunk(int chunk) => ((int)((long)_n * chunk / _chunks), (int)((long)_n * (chunk + 1) / _chunks));

    private void Run(Action<int, int> body) => WorkerPool.Shared.RunDynamic(_active, _chunks, body);

    private void BeginStep(ExecutionPlan plan)
    {
        _exec = plan;
        _active = Math.Max(1, Math.Min(Parallelism.MaxThreads, _chunks));
        EnsureThreads(_active);
    }

    private void EnsureThreads(int count)
    {
        if (count <= _threads.Length) return;
        var grown = new ThreadScratch[count];
        Array.Copy(_threads, grown, _threads.Length);
        int projection = _projections.Max(p => p?.OutputImage ?? 0);
        var trainProjections = _trainProjections.Select(tp => tp.Layer).ToArray();
        projection = Math.Max(projection, trainProjections.Max(l => (int?)l.OutputImage) ?? 0);
        for (int t = _threads.Length; t < count; t++) grown[t] = new ThreadScratch(_layers, _differentiable, _residualRelu, projection, trainProjections);
        _threads = grown;
    }

    public override void Forward(ExecutionPlan plan)
    {
        BeginStep(plan);
        if (!_packedOnce && _packSources?.Unchanged() != true)
        {
            PackLayers(forward: true);
            foreach (var l in _layers)
                if (l.Stage.Norm is { Training: false }) l.SetRunningAffine();
            PackProjections();
            _packSources?.Take();
            Interlocked.Increment(ref ForwardPackings);
        }
        _packedOnce = _frozen;
        if (SplitsImages())
        {
            ForwardSplit();
            if (_pooled >= 0) for (int n = 0; n < _n; n++) PoolImage(n);
            return;
        }
        // Step j < L writes conv j's input and runs conv j; step L writes the chain's output. Only a training-mode batch
        // norm needs a barrier (its batch statistics) before the next step, so the steps in between share one phase.
        for (int a = 0, b; a <= _layers.Length; a = b + 1)
        {
            for (b = a; b < _layers.Length && !_layers[b].TrainNorm; b++) { }
            (_phase, _phaseEnd) = (a, b);
            long t = ForwardNow();
            Run(_forward);
            t = ForwardMark(t, Math.Min(b, _layers.Length - 1), 4);
            if (b < _layers.Length) _layers[b].FinishStatistics(_chunkStatPointers, _chunks, _statStride);
            if (b < _layers.Length) FinishProjectionStatistics(b);
            ForwardMark(t, Math.Min(b, _layers.Length - 1), 3);
        }
    }

    private void ForwardChunk(int chunk, int thread)
    {
        var ts = _threads[thread];
        double* stats = (double*)_chunkStats[chunk].Pointer;
        var (start, end) = Chunk(chunk);
        if (_phaseEnd < _layers.Length) new Span<double>(stats, 2 * _statStride).Clear();
        if (_trainProjections.Length > 0) new Span<double>(stats + 3 * _statStride, 3 * _statStride * _trainProjections.Length).Clear();
        fixed (float* input = _exec!.Data[Inputs[0]], output = _exec.Data[Output], residual = _residual ? _exec.Data[Inputs[1]] : null)
        {
            for (int n = start; n < end; n++)
                for (int s = _phase; s <= _phaseEnd; s++) ForwardStep(s, n, ts, stats, input, output, residual);
        }
    }

    private void ForwardStep(int s, int n, ThreadScratch ts, double* stats, float* input, float* output, float* residual)
    {
        var layer = s < _layers.Length ? _layers[s] : null;
        long t = ForwardNow();
        float* x = layer is null ? null : _differentiable ? layer.X!.Pointer + (long)n * layer.Plan.InputImage : ts.Inputs[s].Pointer;
        if (s == 0)
        {
            var g = layer!.Geometry;
            float* image = input + (long)n * g.C * g.H * g.W;
            if (layer.Strided is { } strided) strided.ToPhaseImage(image, x);
            else BlockedLayout.ToPaddedInput(image, layer.Plan, x, 0, g.C);
        }
        else
        {
            var prev = _layers[s - 1];
            float* y = PreNorm(s - 1, n, ts);
            if (layer is null)
            {
                // The chain's output: the last epilogue as one blocked image, then PyTorch's (C, H, W) order.
                int q = prev.PoolH * prev.PoolW;
                BnReluPool.Forward(_level, prev.Stage.Relu, prev.Stage.Pool is not null, y, prev.Blocks, prev.OutH, prev.OutW, prev.Scale.Pointer,
                    prev.Shift.Pointer, ts.Output.Pointer, q * 16, prev.PoolW * 16);
                int length = prev.Geometry.K * q;
                if (_inner[s - 1] is { } last) AddInner(last, n, ts.Output.Pointer, q * 16, prev.PoolW * 16, ts);
                BlockedLayout.ToChannelMajor(ts.Output.Pointer, output + (long)n * length, prev.Geometry.K, q);
                if (residual != null)
                {
                    // The residual add (+ ReLU) on the image just written, while it is in cache; AddOp's arithmetic.
                    var sum = new Span<float>(output + (long)n * length, length);
                    TensorPrimitives.Add(sum, new ReadOnlySpan<float>(residual + (long)n * length, length), sum);
                    if (_residualRelu) TensorPrimitives.Max(sum, 0f, sum);
                }
                if (_pooled >= 0) PoolImage(n);
                ForwardMark(t, s - 1, 2);
                return;
            }
            var p = layer.Plan;
            if (layer.Strided is { } strided)
            {
                // A strided inner stage (ConvChainOp.Projection.cs): the epilogue as one dense blocked image, then its phase image.
                int plane = prev.PoolH * prev.PoolW * 16, row = prev.PoolW * 16;
                float* staged = ts.Staging.Pointer;
                BnReluPool.Forward(_level, prev.Stage.Relu, prev.Stage.Pool is not null, y, prev.Blocks, prev.OutH, prev.OutW, prev.Scale.Pointer,
                    prev.Shift.Pointer, staged, plane, row);
                if (_inner[s - 1] is { } rs) AddInner(rs, n, staged, plane, row, ts);
                strided.BlockedToPhaseImage(staged, x);
            }
            else
            {
                BnReluPool.Forward(_level, prev.Stage.Relu, prev.Stage.Pool is not null, y, prev.Blocks, prev.OutH, prev.OutW, prev.Scale.Pointer,
                    prev.Shift.Pointer, x + p.Padding * p.InputRow + p.Padding * 16, p.InputPlane, p.InputRow);
                if (_inner[s - 1] is { } r) AddInner(r, n, x + p.Padding * p.InputRow + p.Padding * 16, p.InputPlane, p.InputRow, ts);
            }
        }
        t = ForwardMark(t, s, 0);
        ConvolveImage(layer, x, PreNorm(s, n, ts), ts, layer.TrainNorm ? stats : null);
        if (_trainProjections.Length > 0) ProjectForward(s, n, x, ts, stats);
        ForwardMark(t, s, 1);
    }

    // Stage s's conv output for image n: in the batch buffer, or (inference plans, no batch statistics) per thread.
    private float* PreNorm(int s, int n, ThreadScratch ts) =>
        _layers[s].Y is { } y ? y.Pointer + (long)n * _layers[s].Plan.OutputImage : ts.PreNorm[s].Pointer;

    private void ConvolveImage(ConvChainLayer layer, float* x, float* y, ThreadScratch ts, double* stats)
    {
        var p = layer.Plan;
        float* bias = layer.Bias16 is null ? null : layer.Bias16.Pointer;
        float* sum = null, sumSq = null;
        if (stats != null)
        {
            ts.Sum.Clear();
            ts.SumSq.Clear();
            sum = ts.Sum.Pointer;
            sumSq = ts.SumSq.Pointer;
        }
        if (layer.Wino is not null)
            layer.Wino.ForwardImage(x, layer.Packed.Pointer, bias, y, p.OutputPlane, p.OutWidth * 16, sum, sumSq, relu: false, ts.Winograd.Pointer);
        else p.ForwardImage(x, layer.Packed.Pointer, bias, y, p.OutputPlane, p.OutWidth * 16, sum, sumSq, relu: false);
        if (stats == null) return;
        for (int c = 0; c < p.OutChannels; c++)
        {
            stats[c] += sum[c];
            stats[_statStride + c] += sumSq[c];
        }
    }

    /// <summary>One thread's per-image scratch (its contents never outlive one image; padded borders stay zero).</summary>
    private sealed class ThreadScratch
    {
        public ThreadScratch(ConvChainLayer[] layers, bool differentiable, bool residualRelu, int projection, ConvChainLayer[] trainProjections)
        {
            ProjectionDy = new AlignedBuffer(trainProjections.Max(l => (int?)(l.DyImage * l.WeightGradGroup)) ?? 0);
            ProjectionDx = new AlignedBuffer(trainProjections.Max(l => l.DxPlan?.OutputImage) ?? 0);
            PhaseDx = new AlignedBuffer(differentiable ? layers.Skip(1).Select(l => l.Strided is null ? 0 : l.DxPlan!.OutputImage).DefaultIfEmpty(0).Max() : 0);
            Staging = new AlignedBuffer(StagingLength(layers));
            Projection = new AlignedBuffer(projection);
            int k = layers.Max(l => l.Geometry.K);
            Sum = new AlignedBuffer(k);
            SumSq = new AlignedBuffer(k);
            var last = layers[^1];
            Output = new AlignedBuffer(last.OutputImage);
            Winograd = new AlignedBuffer(layers.Max(l => Math.Max(l.Wino?.ScratchLength ?? 0, l.WinoDx?.ScratchLength ?? 0)));
            Inputs = differentiable ? [] : [.. layers.Select(l => new AlignedBuffer(l.Plan.InputImage))];
            PreNorm = [.. layers.Select(l => new AlignedBuffer(l.Y is null ? l.Plan.OutputImage : 0))];
            Dy = differentiable ? [.. layers.Select(l => new AlignedBuffer(l.DyImage * l.WeightGradGroup))] : [];
            Dx = differentiable && layers[0].DxPlan is { } dx ? new AlignedBuffer(dx.OutputImage) : null;
            Masked = new AlignedBuffer(differentiable && residualRelu ? last.OutputImage : 0);
            WeightGrad = new AlignedBuffer(layers.Max(l => l.WinoWeightGrad is { } w ? w.AccumulatorLength + w.ScratchLength : 0));
        }

        public AlignedBuffer Sum { get; }
        public AlignedBuffer SumSq { get; }
        public AlignedBuffer Output { get; }
        public AlignedBuffer Winograd { get; }
        public AlignedBuffer[] Inputs { get; }
        public AlignedBuffer[] PreNorm { get; }
        public AlignedBuffer[] Dy { get; }
        public AlignedBuffer? Dx { get; }

        /// <summary>One image of the output gradient masked by the residual ReLU (NCHW).</summary>
        public AlignedBuffer Masked { get; }

        /// <summary>One image of the stage output before a strided inner stage (dense blocked; gathered into its phase image).</summary>
        public AlignedBuffer Staging { get; }

        /// <summary>One image of a projection shortcut's conv output (<see cref="ProjectionShortcut.OutputImage"/>).</summary>
        public AlignedBuffer Projection { get; }

        /// <summary>A training projection's padded conv output gradients (its weight-gradient group) and one image of its
        /// phase-image input gradient.</summary>
        public AlignedBuffer ProjectionDy { get; }
        public AlignedBuffer ProjectionDx { get; }

        /// <summary>One image of a strided inner stage's phase-image input gradient (training plans).</summary>
        public AlignedBuffer PhaseDx { get; }

        /// <summary>A Winograd weight gradient's transform-domain accumulator (one chunk's) and its block scratch.</summary>
        public AlignedBuffer WeightGrad { get; }
    }
}
