namespace CnnSharp.Modules;

/// <summary>
/// Base class of layers and models, mirroring <c>torch.nn.Module</c>: it owns named parameters (trainable), buffers
/// (state such as running statistics, never returned by <see cref="Parameters"/>) and child modules, and a train/eval mode.
/// </summary>
/// <remarks>
/// Names compose with dots exactly as in PyTorch, so <see cref="StateDict"/> keys match <c>model.state_dict()</c>
/// (e.g. <c>layer1.0.weight</c>, <c>layer1.1.running_mean</c>). Order: a module's own parameters, then its buffers, then
/// its children in registration order (PyTorch's order).
/// </remarks>
public abstract class Module
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> _buffers = [];
    private readonly List<KeyValuePair<string, Module>> _children = [];

    /// <summary>True in training mode (the default), false after <see cref="CnnSharp.ModuleExtensions.Eval{T}"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Computes the module's output from one input; every one-input module overrides this.</summary>
    /// <remarks>
    /// A module whose forward takes several tensors overrides <see cref="Forward(Tensor[])"/> instead; calling this
    /// one-input form on it throws (like PyTorch's <c>nn.Module.forward</c>, which raises when a module does not define it).
    /// </remarks>
    /// <exception cref="NotImplementedException">The module does not define a one-input forward.</exception>
    public virtual Tensor Forward(Tensor input) =>
        throw new NotImplementedException($"{GetType().Name} does not define Forward(Tensor); if its forward takes several inputs, call Forward(a, b, ...)");

    /// <summary>
    /// Computes the module's output from several inputs (PyTorch's <c>forward(*args)</c>), e.g. <c>head.Forward(a, b)</c>
    /// for a two-input head. Override this in a module that takes several tensors and check their number there.
    /// </summary>
    /// <remarks>
    /// The base accepts exactly one input and calls <see cref="Forward(Tensor)"/>, so one-input modules need not override
    /// it. <c>Sequential</c>, <c>Module.Compile</c>, the trainer and the ONNX exporter feed one tensor: multi-input modules
    /// are for eager use, or as the top of a model whose one-input parts are compiled.
    /// </remarks>
    /// <exception cref="ArgumentException">The number of inputs is not one (for modules that do not override this).</exception>
    public virtual Tensor Forward(params Tensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length != 1)
            throw new ArgumentException($"{GetType().Name}.Forward takes one input, got {inputs.Length}", nameof(inputs));
        return Forward(inputs[0]);
    }

    /// <summary>Same as <see cref="Forward(Tensor)"/> (PyTorch's <c>module(x)</c>).</summary>
    /// <remarks>
    /// Like PyTorch's <c>__call__</c>, this is where per-call observation (e.g. <see cref="ModelSummary"/>) happens:
    /// composite modules call their children with <c>Call</c> so that each child's output is seen; a direct
    /// <c>Forward</c> call runs the same computation unobserved.
    /// </remarks>
    public Tensor Call(Tensor input)
    {
        var observer = ForwardObserver.Current;
        if (observer is null) return Forward(input);
        observer.Enter(this, new ReadOnlySpan<Tensor>(in input));
        var output = Forward(input);
        observer.Exit(this, output);
        return output;
    }

    /// <summary>Same as <see cref="Forward(Tensor[])"/> (PyTorch's <c>module(a, b)</c>); observed as <see cref="Call(Tensor)"/>.</summary>
    public Tensor Call(params Tensor[] inputs)
    {
        var observer = ForwardObserver.Current;
        if (observer is null) return Forward(inputs);
        observer.Enter(this, inputs);
        var output = Forward(inputs);
        observer.Exit(this, output);
        return output;
    }

    /// <summary>Registers a trainable parameter (its <see cref="Tensor.RequiresGrad"/> is set) and returns it.</summary>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        EnsureNewName(name);
        value.RequiresGrad = true;
        _parameters.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a non-trainable state tensor (PyTorch's <c>register_buffer</c>) and returns it.</summary>
    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        EnsureNewName(name);
        _buffers.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/> and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        EnsureNewName(name);
        _children.Add(new(name, module));
        return module;
    }

    private void EnsureNewName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.', StringComparison.Ordinal)) throw new ArgumentException($"{GetType().Name}: name '{name}' must not contain '.'", nameof(name));
        if (_parameters.Any(p => p.Key == name) || _buffers.Any(p => p.Key == name) || _children.Any(p => p.Key == name))
            throw new ArgumentException($"{GetType().Name}: '{name}' is already registered", nameof(name));
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _children;

    /// <summary>All trainable parameters, recursively, with dotted names.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters(string prefix = "")
    {
        foreach (var p in _parameters) yield return new(prefix + p.Key, p.Value);
        foreach (var c in _children)
            foreach (var p in c.Value.NamedParameters(prefix + c.Key + "."))
                yield return p;
    }

    /// <summary>All buffers, recursively, with dotted names.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedBuffers(string prefix = "")
    {
        foreach (var b in _buffers) yield return new(prefix + b.Key, b.Value);
        foreach (var c in _children)
            foreach (var b in c.Value.NamedBuffers(prefix + c.Key + "."))
                yield return b;
    }

    /// <summary>All trainable parameters, recursively.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Value);

    /// <summary>This module and all descendants, depth-first, with dotted names ("" for this one).</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedModules(string prefix = "")
    {
        yield return new(prefix.TrimEnd('.'), this);
        foreach (var c in _children)
            foreach (var m in c.Value.NamedModules(prefix + c.Key + "."))
                yield return m;
    }

    /// <summary>
    /// Parameters and buffers by PyTorch state-dict key, in PyTorch's order. The tensors are the live ones (not copies).
    /// </summary>
    public StateDict StateDict() => new(StateDictEntries(""));

    private IEnumerable<KeyValuePair<string, Tensor>> StateDictEntries(string prefix)
    {
        foreach (var p in _parameters) yield return new(prefix + p.Key, p.Value);
        foreach (var b in _buffers) yield return new(prefix + b.Key, b.Value);
        foreach (var c in _children)
            foreach (var e in c.Value.StateDictEntries(prefix + c.Key + "."))
                yield return e;
    }

    /// <summary>
    /// Copies values into this module's parameters and buffers by key (PyTorch's <c>load_state_dict</c>), e.g. from
    /// another module's <see cref="StateDict()"/>, a safetensors file or a <c>.pt</c> file. With <paramref name="strict"/>,
    /// missing and unexpected keys are errors; shapes must always match, except that a batch counter
    /// (<c>num_batches_tracked</c>) takes any one-element value (PyTorch's is shape (), and may be an int64 scalar). Every
    /// problem is reported in one exception and the module is left unchanged.
    /// </summary>
    /// <param name="stateDict">The values by PyTorch key (not kept: values are copied).</param>
    /// <param name="strict">Require the keys to match the module's exactly (PyTorch's default).</param>
    /// <returns>The keys left unmatched (both empty after a strict load).</returns>
    /// <exception cref="StateDictException">Keys are missing or unexpected (strict), a shape differs, or an int64 scalar is not under a batch counter.</exception>
    public StateDictLoadResult LoadStateDict(StateDict stateDict, bool strict = true) =>
        LoadStateDict(stateDict, strict, $"LoadStateDict into {GetType().Name}", "the state dict", [], []);

    /// <summary>
    /// The load behind every module state load (<see cref="LoadStateDict(CnnSharp.StateDict, bool)"/>, safetensors, .pt
    /// files): <paramref name="unusable"/> are keys the source holds but could not turn into tensors, whose problems
    /// <paramref name="earlier"/> already states; they count as present (not missing) and, if the module lacks them,
    /// as unexpected.
    /// </summary>
    internal StateDictLoadResult LoadStateDict(StateDict stateDict, bool strict, string context, string source,
        IReadOnlyCollection<string> unusable, IReadOnlyList<string> earlier)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var own = StateDict();
        var counters = CounterKeys();
        var (missing, unexpected) = CnnSharp.StateDict.MatchKeys(own.Keys, stateDict.Keys.Concat(unusable),
            k => stateDict.ContainsKey(k) || unusable.Contains(k));
        var problems = new List<string>();
        if (strict && missing.Count > 0) problems.Add("missing keys: " + string.Join(", ", missing));
        if (strict && unexpected.Count > 0) problems.Add("unexpected keys: " + string.Join(", ", unexpected));
        problems.AddRange(earlier);
        foreach (var (key, target) in own)
        {
            if (!stateDict.TryGetValue(key, out var value)) continue;
            bool counter = counters.Contains(key);
            if (counter ? value.Numel != 1 : value.Shape != target.Shape)
                problems.Add($"{key}: shape {value.Shape} in {source}, {target.Shape} in the model");
            else if (!counter && stateDict.IsInt64(key))
                problems.Add($"{key}: dtype I64 cannot be loaded into a float32 tensor (expected F32, F16, BF16 or F64)");
        }
        if (problems.Count > 0)
            throw new StateDictException($"{context}: " + string.Join("; ", problems));
        foreach (var (key, target) in own)
            if (stateDict.TryGetValue(key, out var value)) value.Data.CopyTo(target.Data);
        return new StateDictLoadResult(strict ? [] : missing, strict ? [] : unexpected);
    }

    /// <summary>Keys of buffers that PyTorch stores as int64 batch counters: one-element buffers named <c>num_batches_tracked</c>.</summary>
    internal HashSet<string> CounterKeys()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, buffer) in NamedBuffers())
        {
            if (buffer.Numel == 1 && (key == "num_batches_tracked" || key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)))
                keys.Add(key);
        }
        return keys;
    }

    /// <summary>Sets training mode on this module and all descendants (what <see cref="CnnSharp.ModuleExtensions.Train{T}"/> and
    /// <see cref="CnnSharp.ModuleExtensions.Eval{T}"/> call; they return the module as its own type).</summary>
    /// <param name="mode">True for training mode, false for evaluation mode.</param>
    public void SetTraining(bool mode)
    {
        Training = mode;
        foreach (var c in _children) c.Value.SetTraining(mode);
    }

    /// <summary>
    /// Compiles this module into planned, fused execution (like <c>torch.compile</c>): see <see cref="Compile.CompiledModel"/>.
    /// </summary>
    /// <param name="inputShape">An input shape to plan now (e.g. <c>100, 1, 28, 28</c>); other shapes are planned on first use.</param>
    /// <returns>The compiled model, sharing this module's parameters and buffers.</returns>
    public Compile.CompiledModel Compile(params int[] inputShape)
    {
        var compiled = new Compile.CompiledModel(this);
        return inputShape.Length == 0 ? compiled : compiled.Prepare(inputShape);
    }

    /// <summary>
    /// Clears the gradients of all parameters: sets them to null (PyTorch 2's default <c>set_to_none=True</c>), or fills them
    /// with zeros in place when <paramref name="setToNone"/> is false. Same semantics as <see cref="Optimizers.Optimizer.ZeroGrad"/>.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters())
        {
            if (setToNone) p.Grad = null;
            else p.Grad?.Data.Clear();
        }
    }

    /// <summary>A one-line description of this module's settings, used by <see cref="ToString"/>.</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>PyTorch-style nested description of the module tree.</summary>
    public override string ToString() => Describe(0);

    private string Describe(int indent)
    {
        string head = GetType().Name + "(" + ExtraRepr();
        if (_children.Count == 0) return head + ")";
        var pad = new string(' ', (indent + 1) * 2);
        var lines = _children.Select(c => $"{pad}({c.Key}): {c.Value.Describe(indent + 1)}");
        return head + "\n" + string.Join("\n", lines) + "\n" + new string(' ', indent * 2) + ")";
    }
}
