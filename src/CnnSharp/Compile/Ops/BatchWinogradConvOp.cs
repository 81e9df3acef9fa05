using CnnSharp.Kernels;
using CnnSharp.Kernels.Direct;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// Inference form of a 3x3 stride-1 padding-1 convolution over the whole batch on batch-folded Winograd F(4x4, 3x3)
/// (<see cref="BatchWinogradConv2d"/>), with an eval-mode batch norm folded into its weights and bias, a residual added
/// and a ReLU (or clamp) applied in the output transform: <c>y = min(relu?(conv(x, w') + b' + r), max)</c>, as
/// <see cref="Conv2dOp"/>. Planned by <c>PlanBuilder.BatchWinograd</c>; no backward.
/// </summary>
/// <remarks>The transformed weights U (36·C·K floats, 4x the weight) are computed once for frozen parameters (an imported
/// model's), on every forward otherwise (they may have changed).</remarks>
internal sealed class BatchWinogradConvOp : CompiledOp
{
    private readonly Tensor _weight;
    private readonly Tensor? _bias;
    private readonly BatchNormSpec? _fold;
    private readonly bool _relu;
    private readonly float _max;
    private readonly int _residual;
    private readonly bool _frozen;
    private readonly BatchWinogradConv2d _kernel;
    private readonly float[] _packed;
    private readonly float[] _foldedWeight;
    private readonly float[] _foldedBias;
    private readonly IsaLevel _level;
    private bool _packedOnce;

    public BatchWinogradConvOp(int input, int output, Conv2dSpec spec, BatchNormSpec? fold, int residual, bool relu, float max)
        : base(residual >= 0 ? [input, residual] : [input], output)
    {
        var g = spec.Geometry;
        _weight = spec.Weight;
        _bias = spec.Bias;
        _fold = fold;
        _relu = relu;
        _max = max;
        _residual = residual;
        _frozen = spec.Frozen && (fold is null || fold.Frozen);
        _level = Isa.Level;
        _kernel = new BatchWinogradConv2d(g.N, g.C, g.K, g.H, g.W, BatchWinogradConv2d.WideFor(_level));
        _packed = new float[_kernel.PackedLength];
        _foldedWeight = new float[_weight.Numel];
        _foldedBias = new float[g.K];
    }

    public override string Name => "Conv2d(batch Winograd)" + (_fold is null ? "" : "+BatchNorm(folded)") + (_residual >= 0 ? "+Add" : "")
        + (!_relu ? "" : _max == 6f ? "+ReLU6" : _max < float.PositiveInfinity ? "+Clamp" : "+ReLU");

    public override IEnumerable<Tensor> Parameters => _bias is null ? [_weight] : [_weight, _bias];

    public override void Forward(ExecutionPlan plan)
    {
        if (!_packedOnce)
        {
            ReadOnlySpan<float> bias = _bias is null ? default : _bias.Data;
            if (_fold is not null) Conv2dOp.Fold(_fold, _weight.Data, bias, _foldedWeight, _foldedBias);
            else
            {
                _weight.Data.CopyTo(_foldedWeight);
                if (bias.IsEmpty) Array.Clear(_foldedBias);
                else bias.CopyTo(_foldedBias);
            }
            _kernel.PackWeights(_foldedWeight, _packed);
            _packedOnce = _frozen;
        }
        ReadOnlySpan<float> r = _residual >= 0 ? plan.Data[_residual] : default;
        _kernel.Forward(plan.Data[Inputs[0]], _packed, _foldedBias, r, plan.Data[Output], _relu ? 0f : float.NegativeInfinity, _max, _level);
    }

    public override void Backward(ExecutionPlan plan) =>
        throw new InvalidOperationException("BatchWinogradConvOp: inference op has no backward");
}
