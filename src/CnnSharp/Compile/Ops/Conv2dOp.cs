using CnnSharp.Kernels;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// 2-D convolution on the implicit-GEMM kernel, optionally with an eval-mode batch norm folded into its weights and bias,
/// a residual added and a ReLU (and an upper clamp: ReLU6) applied in the GEMM epilogue (<c>y = min(relu?(conv(x, w') + b' + r), max)</c>).
/// </summary>
/// <remarks>
/// Weights are packed on every forward (a training step changes them; packing is a small fraction of the convolution).
/// Depthwise and narrow grouped convolutions (<see cref="GroupedConv2d.Prefers"/>) run on the direct grouped kernel
/// instead (no packing), forward and backward (through <see cref="Conv2dKernels"/>).
/// Folding: <c>w'[k] = w[k]·γ[k]/√(var[k] + ε)</c>, <c>b'[k] = (b[k] − mean[k])·γ[k]/√(var[k] + ε) + β[k]</c>, recomputed
/// per forward from the module's current tensors, the one place the compiled path folds batch norm. Backward is only
/// defined for the unfused form (folding happens in inference plans only).
/// </remarks>
internal sealed class Conv2dOp : CompiledOp
{
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly Conv2dGeometry _g;
    private readonly BatchNormSpec? _fold;
    private readonly bool _relu;
    private readonly float _max;
    private readonly int _residual;
    private readonly PackedConvWeights _packed = new();
    private readonly float[]? _foldedWeight;
    private readonly float[]? _foldedBias;
    private readonly bool _frozen;
    private bool _packedOnce;
    private readonly bool _directStem;

    public Conv2dOp(int input, int output, Conv2dSpec spec, BatchNormSpec? fold = null, int residual = -1, bool relu = false,
        float max = float.PositiveInfinity)
        : base(residual >= 0 ? [input, residual] : [input], output)
    {
        _weight = spec.Weight;
        _bias = spec.Bias;
        _g = spec.Geometry;
        _fold = fold;
        _relu = relu;
        _max = max;
        _residual = residual;
        _frozen = spec.Frozen && (fold is null || fold.Frozen);
        if (fold is not null)
        {
            _foldedWeight = new float[_weight.Numel];
            _foldedBias = new float[_g.K];
        }
    }

    /// <summary>
    /// Inference plans: run a stem <see cref="StemConv3x3S2"/> computes (3×3 stride 2 over at most 4 channels, no
    /// residual) on that kernel instead of the GEMM, when <see cref="StemConv3x3S2.Enabled"/> at plan time. Decided once
    /// per op, so an op never mixes the two paths (the GEMM path's weights are packed on its first forward).
    /// </summary>
    internal bool DirectStem
    {
        get => _directStem;
        init => _directStem = value && _residual < 0 && StemConv3x3S2.Enabled && StemConv3x3S2.Applies(_g);
    }

    public override string Name => "Conv2d" + (_fold is null ? "" : "+BatchNorm(folded)") + (_residual >= 0 ? "+Add" : "") + (!_relu ? "" : _max == 6f ? "+ReLU6" : _max < float.PositiveInfinity ? "+Clamp" : "+ReLU")
        + (_directStem ? " (direct stem)" : "");

    public override IEnumerable<Tensor> Parameters => _bias is null ? [_weight] : [_weight, _bias];

    public override void Forward(ExecutionPlan plan)
    {
        ReadOnlySpan<float> r = _residual >= 0 ? plan.Data[_residual] : default;
        int threads = Parallelism.MaxThreads;
        if (_directStem)
        {
            var ws = PrepareWeights(out var bs, pack: false);
            StemConv3x3S2.Forward(plan.Data[Inputs[0]], ws, bs, plan.Data[Output], _g, _relu ? 0f : float.NegativeInfinity, _max, Isa.Level, threads);
            return;
        }
        bool grouped = GroupedConv2d.Prefers(_g);
        var w = PrepareWeights(out var b, pack: !grouped);
        if (grouped)
        {
            GroupedConv2d.Forward(plan.Data[Inputs[0]], w, b, r, plan.Data[Output], _g, _relu ? 0f : float.NegativeInfinity, _max,
                Isa.Level, threads, IntraImageSplit.GroupedThreshold(_g, threads), dedicated3x3: DepthwiseConv3x3.Enabled);
            return;
        }
        ConvGemm.Forward(plan.Data[Inputs[0]], _packed, b, r, plan.Data[Output], _g, _relu, threads, IntraImageSplit.GemmThreshold(_g, threads), _max);
    }

    /// <summary>The convolution's geometry.</summary>
    internal Conv2dGeometry Geometry => _g;

    /// <summary>Whether the epilogue clamps at zero (then <see cref="Max"/> is the upper clamp).</summary>
    internal bool Relu => _relu;

    /// <summary>Upper clamp of the epilogue (+∞ for none).</summary>
    internal float Max => _max;

    /// <summary>Whether a residual is added in the epilogue.</summary>
    internal bool HasResidual => _residual >= 0;

    /// <summary>The packed weights (valid after <see cref="PrepareWeights"/> with <c>pack</c>).</summary>
    internal PackedConvWeights Packed => _packed;

    /// <summary>
    /// The weights and bias the forward uses: batch norm folded in (when fused) and, with <paramref name="pack"/>, packed
    /// into <see cref="Packed"/>; done once for frozen parameters, on every call otherwise (they may have changed).
    /// </summary>
    internal ReadOnlySpan<float> PrepareWeights(out ReadOnlySpan<float> bias, bool pack)
    {
        ReadOnlySpan<float> w = _weight.Data;
        bias = _bias is null ? default : _bias.Data;
        if (_fold is not null)
        {
            if (!_packedOnce) Fold(_fold, _weight.Data, bias, _foldedWeight!, _foldedBias!);
            w = _foldedWeight;
            bias = _foldedBias;
        }
        if (pack && !_packedOnce) _packed.Pack(w, _g.K, _g.CPerGroup, _g.KH, _g.KW, _g.Groups, Isa.Level);
        _packedOnce = _frozen;
        return w;
    }

    /// <summary>Folds <paramref name="bn"/>'s current running statistics and affine parameters into a conv's weight and bias.</summary>
    internal static void Fold(BatchNormSpec bn, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> foldedWeight, Span<float> foldedBias) =>
        BatchNormFolding.Fold(weight, bias, bn.Weight is null ? default : bn.Weight.Data, bn.Bias is null ? default : bn.Bias.Data,
            bn.RunningMean!.Data, bn.RunningVar!.Data, bn.Eps, foldedWeight, foldedBias);

    public override void Backward(ExecutionPlan plan)
    {
        if (_fold is not null || _relu || _residual >= 0)
            throw new InvalidOperationException("Conv2dOp: fused inference form has no backward");
        var dy = plan.Grad[Output]!;
        if (plan.Grad[Inputs[0]] is { } dx) Conv2dKernels.BackwardInput(dy, _weight.Data, dx, _g);
        if (_weight.RequiresGrad) Conv2dKernels.BackwardWeight(plan.Data[Inputs[0]], dy, _weight.Grad!.Data, _g);
        if (_bias is { RequiresGrad: true }) Conv2dKernels.BackwardBias(dy, _bias.Grad!.Data, _g);
    }
}
