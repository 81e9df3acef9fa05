using System.Globalization;
using CnnSharp.Modules;

namespace CnnSharp.Optimizers;

/// <summary>
/// Base class of optimizers (PyTorch's <c>torch.optim.Optimizer</c> with one parameter group): it holds the parameters,
/// the learning rate and per-parameter state, and updates the parameters from their gradients in <see cref="Step"/>.
/// </summary>
/// <remarks>
/// Per-parameter state is created lazily on the first step that sees a gradient and is then reused, so steps after
/// the first allocate nothing. <see cref="StateDict"/> exports it under PyTorch's names
/// (<c>state.{index}.{name}</c>, e.g. <c>state.0.exp_avg</c>, <c>state.0.step</c>) for checkpoints.
/// </remarks>
public abstract class Optimizer
{
    private readonly Tensor[] _parameters;
    private float _lr;

    /// <summary>Registers <paramref name="parameters"/> (in order; the order defines the state indices) and the learning rate.</summary>
    /// <exception cref="ArgumentException">The list is empty or contains a tensor twice.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lr"/> is negative or not finite.</exception>
    protected Optimizer(IEnumerable<Tensor> parameters, float lr)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = [.. parameters];
        if (_parameters.Length == 0) throw new ArgumentException($"{GetType().Name}: got an empty parameter list", nameof(parameters));
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_parameters[i] is null) throw new ArgumentException($"{GetType().Name}: parameter {i} is null", nameof(parameters));
            if (!seen.Add(_parameters[i])) throw new ArgumentException($"{GetType().Name}: parameter {i} appears more than once", nameof(parameters));
        }
        Lr = lr;
    }

    /// <summary>The parameters being optimised, in registration order.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>The learning rate; may be changed between steps (for schedules).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public float Lr
    {
        get => _lr;
        set
        {
            if (!(value >= 0f) || float.IsInfinity(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"{GetType().Name}: learning rate must be finite and >= 0");
            _lr = value;
            LrAsDouble = AsDecimalDouble(value);
        }
    }

    /// <summary>
    /// The learning rate as the double the update uses. Learning-rate schedulers read and write it (PyTorch's
    /// <c>group['lr']</c>, a Python float), so a schedule computes in double exactly as PyTorch's does; <see cref="Lr"/>
    /// then shows its float rounding.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public double LrExact
    {
        get => LrAsDouble;
        set
        {
            if (!(value >= 0) || double.IsInfinity(value) || float.IsInfinity((float)value))
                throw new ArgumentOutOfRangeException(nameof(value), value, $"{GetType().Name}: learning rate must be finite and >= 0");
            _lr = (float)value;
            LrAsDouble = value;
        }
    }

    /// <summary>
    /// The learning rate a schedule starts from (PyTorch's <c>group['initial_lr']</c>): set by the first scheduler attached
    /// to this optimizer (to the learning rate at that time) and shared by every later one, so schedulers chained in a
    /// <see cref="Schedulers.SequentialLr"/> all start from the same base. Null until a scheduler is attached.
    /// </summary>
    public double? InitialLr { get; internal set; }

    /// <summary><see cref="Lr"/> as the double nearest its shortest decimal form (0.001f gives 0.001), as PyTorch sees a Python float.</summary>
    protected double LrAsDouble { get; private set; }

    /// <summary>
    /// The double nearest the shortest decimal that round-trips <paramref name="value"/>. Hyperparameters are written as
    /// decimal literals and PyTorch computes with them as Python floats, e.g. <c>1 - 0.999**t</c>; 0.999f itself differs
    /// from 0.999 by 1.3e-8, which would change the first bias correction by 1.3e-5 relative.
    /// </summary>
    protected static double AsDecimalDouble(float value) =>
        double.Parse(value.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>
    /// The gradient with an L2 penalty, <c>g + weightDecay·w</c> (PyTorch's non-decoupled <c>weight_decay</c>), written into
    /// <paramref name="scratch"/> so the parameter's <c>Grad</c> stays untouched as in PyTorch; <paramref name="gradient"/>
    /// itself when <paramref name="weightDecay"/> is 0.
    /// </summary>
    protected static ReadOnlySpan<float> WithWeightDecay(ReadOnlySpan<float> gradient, ReadOnlySpan<float> weight, float weightDecay, float[] scratch)
    {
        if (weightDecay == 0f) return gradient;
        var s = scratch.AsSpan(0, weight.Length);
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(weight, weightDecay, gradient, s);
        return s;
    }

    /// <summary>Updates every parameter that has a gradient (parameters whose <see cref="Tensor.Grad"/> is null are skipped, as in PyTorch).</summary>
    public abstract void Step();

    /// <summary>
    /// Clears the gradients: sets them to null (PyTorch 2's default <c>set_to_none=True</c>; the next backward allocates
    /// them and <see cref="Step"/> skips parameters without one), or fills them with zeros in place when
    /// <paramref name="setToNone"/> is false (PyTorch 1.13's default, which reuses the buffers). Same semantics as
    /// <see cref="Modules.Module.ZeroGrad"/>.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in _parameters)
        {
            if (setToNone) p.Grad = null;
            else p.Grad?.Data.Clear();
        }
    }

    /// <summary>The names of the state entries each parameter has once stepped (e.g. <c>step</c>, <c>exp_avg</c>).</summary>
    protected abstract IReadOnlyList<string> StateNames { get; }

    /// <summary>Whether parameter <paramref name="index"/> has state (it has been stepped or its state was loaded).</summary>
    protected abstract bool HasState(int index);

    /// <summary>The live storage of state entry <paramref name="name"/> of parameter <paramref name="index"/> (one element for <c>step</c>, the parameter's size otherwise).</summary>
    protected abstract float[] GetState(int index, string name);

    /// <summary>Creates (if needed) the state of parameter <paramref name="index"/> and sets entry <paramref name="name"/> from <paramref name="values"/>.</summary>
    protected abstract void SetState(int index, string name, ReadOnlySpan<float> values);

    /// <summary>Drops the state of parameter <paramref name="index"/>.</summary>
    protected abstract void ClearState(int index);

    /// <summary>Whether state entry <paramref name="name"/> is a scalar (a step count) rather than a buffer shaped like the parameter.</summary>
    protected virtual bool IsScalarState(string name) => name == "step";

    /// <summary>
    /// The optimizer state as named tensors, <c>state.{index}.{name}</c>, for parameters that have state. Buffers are
    /// copies shaped like their parameter; step counts are scalars (float, as PyTorch 1.13 stores them).
    /// </summary>
    public StateDict StateDict()
    {
        var result = new StateDict();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (!HasState(i)) continue;
            foreach (var name in StateNames)
            {
                var values = (float[])GetState(i, name).Clone();
                var shape = IsScalarState(name) ? new Shape() : _parameters[i].Shape;
                result.Add(Key(i, name), new Tensor(values, shape));
            }
        }
        return result;
    }

    /// <summary>
    /// Replaces the optimizer state with <paramref name="state"/> (keys as produced by <see cref="StateDict"/>). A parameter
    /// with no entries starts fresh; a parameter must have all its entries or none.
    /// </summary>
    /// <exception cref="StateDictException">A key is unknown, a parameter's entries are incomplete, or a shape differs; nothing is changed.</exception>
    public void LoadStateDict(StateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var problems = new List<string>();
        var present = new bool[_parameters.Length];
        for (int i = 0; i < _parameters.Length; i++)
        {
            var names = StateNames;
            int found = 0;
            foreach (var name in names)
            {
                string key = Key(i, name);
                if (!state.TryGetValue(key, out var t)) continue;
                found++;
                var expected = IsScalarState(name) ? new Shape() : _parameters[i].Shape;
                if (t.Numel != expected.Numel || (!IsScalarState(name) && t.Shape != expected))
                    problems.Add($"{key}: shape {t.Shape}, expected {expected}");
                else if (IsScalarState(name) && !(t.Data[0] >= 0f && t.Data[0] == MathF.Round(t.Data[0]) && float.IsFinite(t.Data[0])))
                    problems.Add($"{key}: step count must be a whole number >= 0, got {t.Data[0].ToString(CultureInfo.InvariantCulture)}");
            }
            if (found != 0 && found != names.Count)
                problems.Add($"state.{i}: has {found} of the entries {string.Join(", ", names)}");
            present[i] = found == names.Count;
        }
        // Missing entries are allowed (a parameter without state starts fresh); unknown ones are not.
        var allKeys = Enumerable.Range(0, _parameters.Length).SelectMany(i => StateNames.Select(name => Key(i, name)));
        foreach (var key in CnnSharp.StateDict.MatchKeys(allKeys, state.Keys, state.ContainsKey).Unexpected)
            problems.Add($"unexpected key {key}");
        if (problems.Count > 0)
            throw new StateDictException($"{GetType().Name}.LoadStateDict: " + string.Join("; ", problems));
        for (int i = 0; i < _parameters.Length; i++)
        {
            ClearState(i);
            if (!present[i]) continue;
            foreach (var name in StateNames) SetState(i, name, state[Key(i, name)].Data);
        }
    }

    private static string Key(int index, string name) => string.Create(CultureInfo.InvariantCulture, $"state.{index}.{name}");
}
