using System.Numerics.Tensors;

namespace CnnSharp.Optimizers;

/// <summary>The shared update of <see cref="Adam"/> and <see cref="AdamW"/> (PyTorch 1.13's <c>torch.optim.Adam</c>/<c>AdamW</c>); they differ only in how weight decay is applied.</summary>
/// <remarks>
/// Per parameter with gradient <c>g</c>, at step <c>t</c> (counted per parameter, from 1):
/// <code>
/// Adam:  g = g + weightDecay * p                 (L2 penalty added to the gradient)
/// AdamW: p = p * (1 - lr * weightDecay)          (decoupled weight decay, before the moment updates)
/// m  = beta1 * m + (1 - beta1) * g
/// v  = beta2 * v + (1 - beta2) * g * g
/// vh = amsgrad ? (vmax = max(vmax, v)) : v
/// denom = sqrt(vh) / sqrt(1 - beta2^t) + eps
/// p  = p - lr / (1 - beta1^t) * m / denom
/// </code>
/// The bias corrections are computed in double, as Python floats are in PyTorch. State entries (checkpoint keys):
/// <c>step</c>, <c>exp_avg</c>, <c>exp_avg_sq</c> and, with AMSGrad, <c>max_exp_avg_sq</c>.
/// </remarks>
public abstract class AdamBase : Optimizer
{
    private static readonly string[] s_names = ["step", "exp_avg", "exp_avg_sq"];
    private static readonly string[] s_amsgradNames = ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"];
    private readonly long[] _steps;
    private readonly float[]?[] _expAvg;
    private readonly float[]?[] _expAvgSq;
    private readonly float[]?[] _maxExpAvgSq;
    private readonly float[] _gradScratch;
    private readonly float[] _denom;
    private readonly double _beta1, _beta2;
    private readonly float _oneMinusBeta1, _oneMinusBeta2;
    private readonly bool _decoupled;

    /// <summary>Validates and stores the hyperparameters; <paramref name="decoupled"/> selects AdamW's weight decay.</summary>
    private protected AdamBase(IEnumerable<Tensor> parameters, float lr, (float Beta1, float Beta2)? betas, float eps,
        float weightDecay, bool amsgrad, bool decoupled)
        : base(parameters, lr)
    {
        string name = GetType().Name;
        var (beta1, beta2) = betas ?? (0.9f, 0.999f);
        if (!(beta1 >= 0f && beta1 < 1f)) throw new ArgumentOutOfRangeException(nameof(betas), beta1, $"{name}: beta1 must be in [0, 1)");
        if (!(beta2 >= 0f && beta2 < 1f)) throw new ArgumentOutOfRangeException(nameof(betas), beta2, $"{name}: beta2 must be in [0, 1)");
        if (!(eps >= 0f) || float.IsInfinity(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{name}: eps must be finite and >= 0");
        if (!(weightDecay >= 0f) || float.IsInfinity(weightDecay)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"{name}: weight decay must be finite and >= 0");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        AmsGrad = amsgrad;
        _decoupled = decoupled;
        _beta1 = AsDecimalDouble(beta1);
        _beta2 = AsDecimalDouble(beta2);
        _oneMinusBeta1 = (float)(1 - _beta1);
        _oneMinusBeta2 = (float)(1 - _beta2);
        int n = Parameters.Count;
        _steps = new long[n];
        _expAvg = new float[]?[n];
        _expAvgSq = new float[]?[n];
        _maxExpAvgSq = new float[]?[n];
        int maxNumel = Parameters.Max(p => p.Numel);
        _gradScratch = new float[weightDecay != 0f && !decoupled ? maxNumel : 0];
        _denom = new float[maxNumel];
    }

    /// <summary>Decay rate of the first moment estimate.</summary>
    public float Beta1 { get; }

    /// <summary>Decay rate of the second moment estimate.</summary>
    public float Beta2 { get; }

    /// <summary>Term added to the denominator.</summary>
    public float Eps { get; }

    /// <summary>Weight decay coefficient: an L2 penalty added to the gradient (<see cref="Adam"/>) or a decoupled decay of the weights (<see cref="AdamW"/>).</summary>
    public float WeightDecay { get; }

    /// <summary>Whether the AMSGrad variant is used.</summary>
    public bool AmsGrad { get; }

    /// <inheritdoc />
    public override void Step()
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null) continue;
            Span<float> w = p.Data;
            ReadOnlySpan<float> g = p.Grad.Data;
            if (_expAvg[i] is null) CreateState(i, w.Length);
            Span<float> m = _expAvg[i], v = _expAvgSq[i];
            long t = ++_steps[i];

            if (_decoupled)
            {
                // AdamW: p = p * (1 - lr * weightDecay), the factor computed in double as PyTorch's Python float is.
                if (WeightDecay != 0f) TensorPrimitives.Multiply(w, (float)(1 - LrAsDouble * AsDecimalDouble(WeightDecay)), w);
            }
            else
            {
                g = WithWeightDecay(g, w, WeightDecay, _gradScratch);
            }

            // m = beta1 * m + (1 - beta1) * g
            TensorPrimitives.Multiply(m, Beta1, m);
            TensorPrimitives.MultiplyAdd(g, _oneMinusBeta1, m, m);

            // v = beta2 * v + (1 - beta2) * g * g   (g*g goes through the denominator scratch)
            var denom = _denom.AsSpan(0, w.Length);
            TensorPrimitives.Multiply(v, Beta2, v);
            TensorPrimitives.Multiply(g, g, denom);
            TensorPrimitives.MultiplyAdd(denom, _oneMinusBeta2, v, v);

            ReadOnlySpan<float> vHat = v;
            if (AmsGrad)
            {
                Span<float> vMax = _maxExpAvgSq[i];
                TensorPrimitives.Max(vMax, v, vMax);
                vHat = vMax;
            }

            double biasCorrection1 = 1 - Math.Pow(_beta1, t);
            double biasCorrection2 = 1 - Math.Pow(_beta2, t);
            float stepSize = (float)(LrAsDouble / biasCorrection1);
            float bias2Sqrt = (float)Math.Sqrt(biasCorrection2);

            // denom = sqrt(vHat) / sqrt(bc2) + eps; p -= stepSize * m / denom
            TensorPrimitives.Sqrt(vHat, denom);
            TensorPrimitives.Divide(denom, bias2Sqrt, denom);
            TensorPrimitives.Add(denom, Eps, denom);
            TensorPrimitives.Divide(m, denom, denom);
            TensorPrimitives.MultiplyAdd(denom, -stepSize, w, w);
        }
    }

    private void CreateState(int i, int length)
    {
        _steps[i] = 0;
        _expAvg[i] = new float[length];
        _expAvgSq[i] = new float[length];
        if (AmsGrad) _maxExpAvgSq[i] = new float[length];
    }

    /// <summary>The number of steps taken for parameter <paramref name="index"/> (0 before its first gradient).</summary>
    public long StepCount(int index) => _steps[index];

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => AmsGrad ? s_amsgradNames : s_names;

    /// <inheritdoc />
    protected override bool HasState(int index) => _expAvg[index] is not null;

    /// <inheritdoc />
    protected override float[] GetState(int index, string name) => name switch
    {
        "step" => [_steps[index]],
        "exp_avg" => _expAvg[index]!,
        "exp_avg_sq" => _expAvgSq[index]!,
        "max_exp_avg_sq" => _maxExpAvgSq[index]!,
        _ => throw new ArgumentException($"{GetType().Name}: unknown state entry '{name}'", nameof(name)),
    };

    /// <inheritdoc />
    protected override void SetState(int index, string name, ReadOnlySpan<float> values)
    {
        if (_expAvg[index] is null) CreateState(index, Parameters[index].Numel);
        switch (name)
        {
            case "step":
                _steps[index] = (long)values[0];
                break;
            case "exp_avg": values.CopyTo(_expAvg[index]); break;
            case "exp_avg_sq": values.CopyTo(_expAvgSq[index]); break;
            case "max_exp_avg_sq": values.CopyTo(_maxExpAvgSq[index]); break;
            default: throw new ArgumentException($"{GetType().Name}: unknown state entry '{name}'", nameof(name));
        }
    }

    /// <inheritdoc />
    protected override void ClearState(int index)
    {
        _steps[index] = 0;
        _expAvg[index] = _expAvgSq[index] = _maxExpAvgSq[index] = null;
    }
}
