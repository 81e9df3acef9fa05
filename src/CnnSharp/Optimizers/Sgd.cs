using System.Numerics.Tensors;

namespace CnnSharp.Optimizers;

/// <summary>Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov momentum (PyTorch's <c>torch.optim.SGD</c>).</summary>
/// <remarks>
/// PyTorch 1.13's update, per parameter with gradient <c>g</c>:
/// <code>
/// d = g + weightDecay * p
/// if momentum != 0:
///     b = d                                    (first step: the buffer is initialised to d)
///     b = momentum * b + (1 - dampening) * d   (later steps)
///     d = nesterov ? d + momentum * b : b
/// p = p - lr * d
/// </code>
/// </remarks>
public sealed class Sgd : Optimizer
{
    private static readonly string[] s_momentumNames = ["momentum_buffer"];
    private readonly float[]?[] _momentum;
    private readonly float[] _scratch;
    private readonly float _oneMinusDampening;

    /// <summary>Creates the optimizer with PyTorch's defaults (no momentum, no weight decay).</summary>
    /// <param name="parameters">The tensors to update.</param>
    /// <param name="lr">Learning rate (required, as in PyTorch).</param>
    /// <param name="momentum">Momentum factor, >= 0.</param>
    /// <param name="dampening">Dampening of the momentum update.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, >= 0.</param>
    /// <param name="nesterov">Nesterov momentum (requires momentum &gt; 0 and dampening 0).</param>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is negative or not finite.</exception>
    /// <exception cref="ArgumentException">Nesterov without momentum or with dampening; an empty or duplicated parameter list.</exception>
    public Sgd(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters, lr)
    {
        if (!(momentum >= 0f) || float.IsInfinity(momentum)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Sgd: momentum must be finite and >= 0");
        if (!float.IsFinite(dampening)) throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "Sgd: dampening must be finite");
        if (!(weightDecay >= 0f) || float.IsInfinity(weightDecay)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "Sgd: weight decay must be finite and >= 0");
        if (nesterov && (momentum <= 0f || dampening != 0f))
            throw new ArgumentException($"Sgd: Nesterov momentum requires momentum > 0 and dampening 0 (momentum {momentum}, dampening {dampening})", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _oneMinusDampening = (float)(1 - AsDecimalDouble(dampening));
        _momentum = new float[]?[Parameters.Count];
        _scratch = new float[weightDecay != 0f || nesterov ? Parameters.Max(p => p.Numel) : 0];
    }

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>Dampening of the momentum update.</summary>
    public float Dampening { get; }

    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc />
    public override void Step()
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null) continue;
            Span<float> w = p.Data;
            ReadOnlySpan<float> d = p.Grad.Data;
            d = WithWeightDecay(d, w, WeightDecay, _scratch);
            if (Momentum != 0f)
            {
                var buf = _momentum[i];
                if (buf is null)
                {
                    buf = _momentum[i] = d.ToArray(); // the first step's buffer is d itself (no dampening)
                }
                else
                {
                    TensorPrimitives.Multiply(buf, Momentum, buf);
                    TensorPrimitives.MultiplyAdd(d, _oneMinusDampening, buf, buf);
                }
                if (Nesterov)
                {
                    // d = d + momentum * buf (d may already be the scratch, which is safe element-wise)
                    var s = _scratch.AsSpan(0, w.Length);
                    TensorPrimitives.MultiplyAdd(buf, Momentum, d, s);
                    d = s;
                }
                else
                {
                    d = buf;
                }
            }
            TensorPrimitives.MultiplyAdd(d, -Lr, w, w);
        }
    }

    /// <inheritdoc />
    protected override IReadOnlyList<string> StateNames => Momentum != 0f ? s_momentumNames : [];

    /// <inheritdoc />
    protected override bool HasState(int index) => _momentum[index] is not null;

    /// <inheritdoc />
    protected override float[] GetState(int index, string name) =>
        _momentum[index] ?? throw new InvalidOperationException($"Sgd: parameter {index} has no state");

    /// <inheritdoc />
    protected override void SetState(int index, string name, ReadOnlySpan<float> values) => _momentum[index] = values.ToArray();

    /// <inheritdoc />
    protected override void ClearState(int index) => _momentum[index] = null;
}
