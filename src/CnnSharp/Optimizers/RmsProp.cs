using System.Numerics.Tensors;

namespace CnnSharp.Optimizers;

/// <summary>RMSprop (PyTorch's <c>torch.optim.RMSprop</c>, PyTorch 1.13) with optional weight decay, momentum and centering.</summary>
/// <remarks>
/// Per parameter with gradient <c>g</c>:
/// <code>
/// g  = g + weightDecay * p                               (L2 penalty)
/// v  = alpha * v + (1 - alpha) * g * g                   (square_avg)
/// centered: a = alpha * a + (1 - alpha) * g;  avg = sqrt(v - a * a) + eps     (grad_avg)
/// else:     avg = sqrt(v) + eps
/// momentum > 0: b = momentum * b + g / avg;  p = p - lr * b                  (momentum_buffer)
/// else:         p = p - lr * g / avg
/// </code>
/// All buffers start at zero. State entries (checkpoint keys): <c>step</c>, <c>square_avg</c>, then <c>momentum_buffer</c>
/// when momentum &gt; 0 and <c>grad_avg</c> when centered, as PyTorch names them.
/// </remarks>
public sealed class RmsProp : Optimizer
{
    private readonly string[] _names;
    private readonly long[] _steps;
    private readonly float[]?[] _squareAvg;
    private readonly float[]?[] _momentumBuffer;
    private readonly float[]?[] _gradAvg;
    private readonly float[] _gradScratch;
    private readonly float[] _avg;
    private readonly float _oneMinusAlpha;

    /// <summary>Creates the optimizer; the defaults are PyTorch's.</summary>
    /// <param name="parameters">The tensors to update.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average, in [0, 1].</param>
    /// <param name="eps">Added to the denominator, finite and >= 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, >= 0.</param>
    /// <param name="momentum">Momentum factor, >= 0.</param>
    /// <param name="centered">Normalise by an estimate of the gradient's variance instead of its second moment.</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is out of range.</exception>
    /// <exception cref="ArgumentException">An empty or duplicated parameter list.</exception>
    public RmsProp(IEnumerable<Tensor> parameters, float lr = 1e-2f, float alpha = 0.99f, float eps = 1e-8f, float weightDecay = 0f,
        float momentum = 0f, bool centered = false)
        : base(parameters, lr)
    {
        if (!(alpha >= 0f && alpha <= 1f)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "RmsProp: alpha must be in [0, 1]");
        if (!(eps >= 0f) || float.IsInfinity(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "RmsProp: eps must be finite and >= 0");
        if (!(weightDecay >= 0f) || float.IsInfinity(weightDecay)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "RmsProp: weight decay must be finite and >= 0");
        if (!(momentum >= 0f) || float.IsInfinity(momentum)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "RmsProp: momentum must be finite and >= 0");
        Alpha = alpha;
        Eps = eps;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
        _oneMinusAlpha = (float)(1 - AsDecimalDouble(alpha));
        _names = [.. new[] { "step", "square_avg" }, .. momentum > 0f ? ["momentum_buffer"] : Array.Empty<string>(), .. centered ? ["grad_avg"] : Array.Empty<string>()];
        int n = Parameters.Count;
        _steps = new long[n];
        _squareAvg = new float[]?[n];
        _momentumBuffer = new float[]?[n];
        _gradAvg = new float[]?[n];
        int maxNumel = Parameters.Max(p => p.Numel);
        _gradScratch = new float[weightDecay != 0f ? maxNumel : 0];
        _avg = new float[maxNumel];
    }

    /// <summary>Smoothing constant.</summary>
    public float Alpha { get; }
    /// <summary>Term added to the denominator.</summary>
    public float Eps { get; }
    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public float WeightDecay { get; }
    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }
    /// <summary>Whether the centered variant is used.</summary>
    public bool Centered { get; }

    /// <inheritdoc />
    public override void Step()
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null) continue;
            Span<float> w = p.Data;
            ReadOnlySpan<float> g = p.Grad.Data;
            if (_squareAvg[i] is null) CreateState(i, w.Length);
            _steps[i]++;
            g = WithWeightDecay(g, w, WeightDecay, _gradScratch);
            Span<float> v = _squareAvg[i];
            var avg = _avg.AsSpan(0, w.Length);
            // v = alpha * v + (1 - alpha) * g * g  (g*g goes through the avg scratch)
            TensorPrimitives.Multiply(v, Alpha, v);
            TensorPrimitives.Multiply(g, g, avg);
            TensorPrimitives.MultiplyAdd(avg, _oneMinusAlpha, v, v);
            if (Centered)
            {
                Span<float> a = _gradAvg[i];
                TensorPrimitives.Multiply(a, Alpha, a);
                TensorPrimitives.MultiplyAdd(g, _oneMinusAlpha, a, a);
                // avg = sqrt(v - a * a)
                TensorPrimitives.Multiply(a, a, avg);
                TensorPrimitives.Subtract(v, avg, avg);
                TensorPrimitives.Sqrt(avg, avg);
            }
            else
            {
                TensorPrimitives.Sqrt(v, avg);
            }
            TensorPrimitives.Add(avg, Eps, avg);
            if (Momentum > 0f)
            {
                Span<float> b = _momentumBuffer[i];
                TensorPrimitives.Multiply(b, Momentum, b);
                TensorPrimitives.Divide(g, avg, avg);
                TensorPrimitives.Add(b, avg, b);
                TensorPrimitives.MultiplyAdd(b, -Lr, w, w);
            }
            else
            {
                TensorPrimitives.Divide(g, avg, avg);
                TensorPrimitives.MultiplyAdd(avg, -Lr, w, w);
            }
        }
    }

    private void CreateState(int i, int length)
    {
        _steps[i] = 0;
        _squareAvg[i] = new float[length];
        if (Momentum > 0f) _momentumBuffer[i] = new float[length];
        if (Centered) _gradAvg[i] = new float[length];
    }

    /// <summary>The number of steps taken for parameter <paramref name="index"/> (0 before its first gradient).</summary>
    public long StepCount(int index) => _steps[index];

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => _names;

    /// <inheritdoc />
    protected override bool HasState(int index) => _squareAvg[index] is not null;

    /// <inheritdoc />
    protected override float[] GetState(int index, string name) => name switch
    {
        "step" => [_steps[index]],
        "square_avg" => _squareAvg[index]!,
        "momentum_buffer" => _momentumBuffer[index]!,
        "grad_avg" => _gradAvg[index]!,
        _ => throw new ArgumentException($"RmsProp: unknown state entry '{name}'", nameof(name)),
    };

    /// <inheritdoc />
    protected override void SetState(int index, string name, ReadOnlySpan<float> values)
    {
        if (_squareAvg[index] is null) CreateState(index, Parameters[index].Numel);
        switch (name)
        {
            case "step": _steps[index] = (long)values[0]; break;
            case "square_avg": values.CopyTo(_squareAvg[index]); break;
            case "momentum_buffer": values.CopyTo(_momentumBuffer[index]); break;
            case "grad_avg": values.CopyTo(_gradAvg[index]); break;
            default: throw new ArgumentException($"RmsProp: unknown state entry '{name}'", nameof(name));
        }
    }

    /// <inheritdoc />
    protected override void ClearState(int index)
    {
        _steps[index] = 0;
        _squareAvg[index] = _momentumBuffer[index] = _gradAvg[index] = null;
    }
}
