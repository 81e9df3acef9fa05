using CnnSharp.Kernels;
using CnnSharp.Modules;

namespace CnnSharp.Compile.Ops;

/// <summary>
/// Batch norm over (N, C, …) with an optional ReLU fused in (<see cref="FusedBatchNormKernels"/>): training mode uses the
/// batch statistics and updates the running ones exactly as <c>F.BatchNorm</c> and <see cref="BatchNormBase"/> do
/// (unbiased variance in running_var; num_batches_tracked and the cumulative-average factor when momentum is null).
/// </summary>
internal sealed class BatchNormOp : CompiledOp
{
    private readonly BatchNormSpec _spec;
    private readonly BatchNormBase? _module;
    private readonly bool _relu;
    private readonly int _n, _c, _s;
    private readonly float[] _mean, _invStd, _scale, _shift;
    private readonly double[] _sumDy, _sumDyX;
    private readonly Action<int, int> _statsBody, _normBody, _sumsBody, _inputBody;
    private ExecutionPlan? _plan;
    private float _momentum;

    public BatchNormOp(int input, int output, Shape shape, BatchNormSpec spec, BatchNormBase? module, bool relu) : base([input], output)
    {
        _spec = spec;
        _module = module;
        _relu = relu;
        _n = shape[0];
        _c = shape[1];
        _s = shape.Numel / Math.Max(1, _n * _c);
        _mean = new float[_c];
        _invStd = new float[_c];
        _scale = new float[_c];
        _shift = new float[_c];
        _sumDy = new double[_c];
        _sumDyX = new double[_c];
        _statsBody = Statistics;
        _normBody = Normalize;
        _sumsBody = Sums;
        _inputBody = InputGradient;
    }

    public override string Name => "BatchNorm" + (_spec.Training ? "(batch stats)" : "(running stats)") + (_relu ? "+ReLU" : "");

    public override IEnumerable<Tensor> Parameters =>
        new[] { _spec.Weight, _spec.Bias }.Where(t => t is not null).Cast<Tensor>();

    public override void Forward(ExecutionPlan plan)
    {
        _plan = plan;
        if (_spec.Training)
        {
            bool update = _module is { TrackRunningStats: true };
            float steps = update ? _module!.NumBatchesTracked!.Data[0] + 1 : 0;
            _momentum = _module is null ? _spec.Momentum : _module.Momentum ?? (update ? 1f / steps : 0f);
            Parallelism.For(_c, _statsBody);
            if (update) _module!.NumBatchesTracked!.Data[0] = steps;
        }
        else
        {
            ReadOnlySpan<float> rm = _spec.RunningMean!.Data, rv = _spec.RunningVar!.Data;
            for (int c = 0; c < _c; c++)
            {
                _mean[c] = rm[c];
                _invStd[c] = BatchNormKernels.InvStd(rv[c], _spec.Eps);
            }
        }
        ReadOnlySpan<float> gamma = _spec.Weight is null ? default : _spec.Weight.Data, beta = _spec.Bias is null ? default : _spec.Bias.Data;
        for (int c = 0; c < _c; c++)
        {
            _scale[c] = (gamma.IsEmpty ? 1f : gamma[c]) * _invStd[c];
            _shift[c] = (beta.IsEmpty ? 0f : beta[c]) - _mean[c] * _scale[c];
        }
        Parallelism.For(_n * _c, _normBody);
    }

    // Batch statistics per channel, then the running-statistics update of F.BatchNorm/BatchNormBase.Forward.
    private void Statistics(int c0, int c1)
    {
        var x = _plan!.Data[Inputs[0]];
        float momentum = _momentum;
        long m = (long)_n * _s;
        for (int c = c0; c < c1; c++)
        {
            var (mean, variance) = FusedBatchNormKernels.Statistics(x, _n, _c, _s, c);
            _mean[c] = (float)mean;
            _invStd[c] = BatchNormKernels.InvStd(variance, _spec.Eps);
            float runMean = _spec.RunningMean?.Data[c] ?? 0f, runVar = _spec.RunningVar?.Data[c] ?? 0f;
            BatchNormKernels.UpdateRunningStatistics(ref runMean, ref runVar, mean, variance, m, momentum);
            if (_spec.RunningMean is { } rm) rm.Data[c] = runMean;
            if (_spec.RunningVar is { } rv) rv.Data[c] = runVar;
        }
    }

    private void Normalize(int p0, int p1)
    {
        var x = _plan!.Data[Inputs[0]];
        var y = _plan.Data[Output];
        for (int p = p0; p < p1; p++)
        {
            int c = p % _c, i = p / _c;
            FusedBatchNormKernels.Normalize(x.AsSpan(i * _c * _s), y.AsSpan(i * _c * _s), 1, _c, _s, c, _scale[c], _shift[c], _relu);
        }
    }

    public override void Backward(ExecutionPlan plan)
    {
        _plan = plan;
        Parallelism.For(_c, _sumsBody);
        if (_spec.Weight is { RequiresGrad: true } w)
        {
            var gw = w.Grad!.Data;
            for (int c = 0; c < _c; c++) gw[c] += (float)(_sumDyX[c] * _invStd[c]);
        }
        if (_spec.Bias is { RequiresGrad: true } b)
        {
            var gb = b.Grad!.Data;
            for (int c = 0; c < _c; c++) gb[c] += (float)_sumDy[c];
        }
        if (plan.Grad[Inputs[0]] is not null) Parallelism.For(_c, _inputBody);
    }

    private void Sums(int c0, int c1)
    {
        var p = _plan!;
        ReadOnlySpan<float> y = _relu ? p.Data[Output] : default;
        for (int c = c0; c < c1; c++)
            (_sumDy[c], _sumDyX[c]) = FusedBatchNormKernels.BackwardSums(p.Data[Inputs[0]], y, p.Grad[Output], _n, _c, _s, c, _mean[c]);
    }

    private void InputGradient(int c0, int c1)
    {
        var p = _plan!;
        ReadOnlySpan<float> y = _relu ? p.Data[Output] : default;
        ReadOnlySpan<float> gamma = _spec.Weight is null ? default : _spec.Weight.Data;
        double m = (double)_n * _s;
        for (int c = c0; c < c1; c++)
        {
            double invStd = _invStd[c], k = (gamma.IsEmpty ? 1.0 : gamma[c]) * invStd;
            double a = k, b = 0, shift = 0;
            if (_spec.Training)
            {
                b = -k * invStd * invStd * _sumDyX[c] / m;
                shift = -b * _mean[c] - k * _sumDy[c] / m;
            }
            FusedBatchNormKernels.BackwardInput(p.Data[Inputs[0]], y, p.Grad[Output], p.Grad[Inputs[0]], _n, _c, _s, c, (float)a, (float)b, (float)shift);
        }
    }
}
