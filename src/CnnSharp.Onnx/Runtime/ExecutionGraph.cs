using System.Text;
using CnnSharp.Onnx.Ops;

namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// A compiled ONNX graph: every node built into an <see cref="OnnxOp"/> (so unsupported operators and attributes fail
/// here, at load time), constants folded, BatchNormalization, a residual Add and Relu fused into a preceding Conv, chains
/// of small Conv/Relu/MaxPool stages fused onto the direct convolution kernels
/// (<see cref="GraphFusion.FuseDirectConvChains"/>), value lifetimes computed for buffer reuse, and shape-only subgraphs
/// marked so they are computed once per input-shape signature.
/// </summary>
/// <remarks>
/// <para>Value classes: <em>constants</em> (initializers that are not graph inputs, and outputs of nodes whose inputs are
/// all constants, computed at load); <em>inputs</em> (runtime inputs and initializers that are also graph inputs, the
/// latter with their initializer as default); <em>static</em> values, which depend only on the shapes of the inputs (a
/// <c>Shape</c> node and whatever is computed from it and constants), cached per input-shape signature; and
/// <em>dynamic</em> values, whose storage comes from the <see cref="BufferPool"/> and returns to it after the value's
/// last consumer ran.</para>
/// <para>Run is not re-entrant; <see cref="OnnxSession"/> serialises calls.</para>
/// </remarks>
internal sealed class ExecutionGraph
{
    private const int MaxCachedSignatures = 8;

    private readonly string _source;
    private readonly Dictionary<string, int> _ids;
    private readonly OnnxValue?[] _constants;
    private readonly Step[] _steps;
    private readonly (int Id, OnnxValue? Default)[] _inputs;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly int[] _outputIds;
    private readonly bool[] _staticValue;
    private readonly int _valueCount;
    private readonly BufferPool _pool = new();
    private readonly long _maxTensorElements;
    private readonly Dictionary<string, OnnxValue?[]> _staticCache = new(StringComparer.Ordinal);
    private string? _lastSignature;
    // The input shapes _lastSignature was built from, so a run with the same shapes skips formatting the key.
    private int[][] _lastShapes = [];
    // Reused by every run (Run is not re-entrant): the value slots, cleared after each run so no buffer stays referenced.
    private OnnxValue?[]? _slots;

    public ExecutionGraph(OnnxModel model, OnnxSessionOptions options)
    {
        _source = model.Source;
        _maxTensorElements = options.MaxTensorElements;
        var graph = model.Graph;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int Id(string name)
        {
            if (!ids.TryGetValue(name, out int id)) ids[name] = id = ids.Count;
            return id;
        }

        var graphInputs = new HashSet<string>(graph.Inputs.Select(i => i.Name), StringComparer.Ordinal);
        foreach (var t in graph.Initializers) Id(t.Name);
        foreach (var i in graph.Inputs) Id(i.Name);
        foreach (var n in graph.Nodes)
            foreach (string o in n.Outputs)
                if (o.Length > 0) Id(o);
        _valueCount = ids.Count;
        _ids = ids;

        var constants = new OnnxValue?[_valueCount];
        foreach (var t in graph.Initializers)
        {
            // An initializer that is also a graph input is only a default: the caller may override it.
            if (!graphInputs.Contains(t.Name)) constants[ids[t.Name]] = OnnxValue.FromTensor(t);
        }
        _inputs = graph.Inputs.Select(i => (ids[i.Name], graph.TryGetInitializer(i.Name, out var t) ? OnnxValue.FromTensor(t) : null)).ToArray();
        _inputIndex = graph.Inputs.Select((v, index) => (v.Name, index)).ToDictionary(p => p.Name, p => p.index, StringComparer.Ordinal);
        _outputIds = graph.Outputs.Select(o => ids[o.Name]).ToArray();

        var steps = new List<Step>();
        // Folding spends one budget over all nodes: each value is checked against what is left before it is allocated.
        long budget = options.MaxFoldedElements, folded = 0;
        var folding = new OpContext(null, budget, left =>
            $"the {left} elements left of the constant-folding budget (OnnxSessionOptions.MaxFoldedElements = {budget})");
        foreach (var node in graph.Nodes)
        {
            var op = OpRegistry.Create(node, model.Opset, _source, index => constants[ids[node.Inputs[index]]]);
            int[] inputIds = node.Inputs.Select(n => n.Length == 0 ? -1 : ids[n]).ToArray();
            int[] outputIds = node.Outputs.Select(n => n.Length == 0 ? -1 : ids[n]).ToArray();
            var step = new Step(node, op, inputIds, outputIds);
            if (op.IsDeterministic && inputIds.All(i => i < 0 || constants[i] is not null))
            {
                // A Constant node's value is already in the file (and in memory): it does not spend the budget.
                bool counts = op is not ConstantOp;
                folding.MaxElements = counts ? budget - folded : long.MaxValue;
                var results = Execute(folding, step, constants, outputIds.Select(o => o >= 0).ToArray(), atLoad: true);
                for (int k = 0; k < outputIds.Length; k++)
                {
                    if (outputIds[k] < 0) continue;
                    constants[outputIds[k]] = results[k];
                    if (counts && results[k] is { } value) folded += value.Count;
                }
                // Each value was checked against what was left; several outputs of one node may still add up past it.
                if (folded > budget)
                    throw new OnnxFormatException(_source, $"{node.DisplayName}: its outputs bring the constants folded at load time to {folded} elements, more than the budget of {budget} (OnnxSessionOptions.MaxFoldedElements)", null);
                continue;
            }
            steps.Add(step);
        }

        if (options.FoldBatchNorm) steps = GraphFusion.FoldBatchNorm(steps, ref constants, _outputIds);
        if (options.FuseConvAdd) steps = GraphFusion.FuseConvAdd(steps, _outputIds);
        if (options.FuseConvRelu) steps = GraphFusion.FuseConvRelu(steps, _outputIds, constants);
        foreach (var s in steps)
        {
            // Constant convolution weights are packed for the GEMM once, here, instead of on every run.
            if (s.Op is ConvOp conv && s.Inputs.Length > 1 && s.Inputs[1] >= 0 && constants[s.Inputs[1]] is { } weight)
                conv.Prepack(weight);
        }
        // After prepacking, so a fused chain's fallback runs the very same (prepacked) Conv operators.
        if (options.FuseDirectConvolutions) steps = GraphFusion.FuseDirectConvChains(steps, constants, _outputIds);
        _constants = constants;
        _valueCount = constants.Length;

        // Static values: known once the input shapes are known.
        var shapeKnown = new bool[_valueCount];
        _staticValue = new bool[_valueCount];
        for (int v = 0; v < _valueCount; v++)
        {
            shapeKnown[v] = true; // inputs and constants; node outputs are decided below
            _staticValue[v] = constants[v] is not null;
        }
        foreach (var s in steps)
            foreach (int o in s.Outputs)
                if (o >= 0) shapeKnown[o] = false;
        foreach (var s in steps)
        {
            var present = s.Inputs.Where(i => i >= 0).ToArray();
            bool inputsShapeKnown = present.All(i => shapeKnown[i]);
            bool known = inputsShapeKnown && s.Op.ShapeInputs.All(k => k >= s.Inputs.Length || s.Inputs[k] < 0 || _staticValue[s.Inputs[k]]);
            bool isStatic = s.Op.IsDeterministic && (present.All(i => _staticValue[i]) || (s.Op.DependsOnlyOnShapes && inputsShapeKnown));
            s.IsStatic = isStatic;
            foreach (int o in s.Outputs)
            {
                if (o < 0) continue;
                shapeKnown[o] = known;
                _staticValue[o] = isStatic;
            }
        }

        // Lifetimes: a dynamic value returns to the pool after its last consumer (or right away if nothing reads it).
        // Static steps are skipped once their signature is cached, so they do not extend lifetimes: the only dynamic
        // values they read are inputs of Shape-like operators, which look at the shape and never at the storage.
        var lastUse = Enumerable.Repeat(-1, _valueCount).ToArray();
        for (int k = 0; k < steps.Count; k++)
        {
            foreach (int o in steps[k].Outputs) if (o >= 0) lastUse[o] = k;
            if (steps[k].IsStatic) continue;
            foreach (int i in steps[k].Inputs) if (i >= 0) lastUse[i] = k;
        }
        var isOutput = new bool[_valueCount];
        foreach (int o in _outputIds) isOutput[o] = true;
        var consumed = new bool[_valueCount];
        foreach (var s in steps) foreach (int i in s.Inputs) if (i >= 0) consumed[i] = true;
        for (int k = 0; k < steps.Count; k++)
        {
            var s = steps[k];
            s.Requested = s.Outputs.Select(o => o >= 0 && (consumed[o] || isOutput[o])).ToArray();
            if (s.IsStatic) continue;
            s.Release = s.Inputs.Concat(s.Outputs)
                .Where(v => v >= 0 && lastUse[v] == k && !isOutput[v] && !_staticValue[v] && constants[v] is null && !IsInputId(v))
                .Distinct().ToArray();
        }
        _steps = steps.ToArray();
    }

    /// <summary>
    /// The load-time value of <paramref name="name"/>: an initializer that is not a graph input, or the output of a
    /// node folded at load; null otherwise. Shared, not to be modified.
    /// </summary>
    internal OnnxValue? Constant(string name) => _ids.TryGetValue(name, out int id) ? _constants[id] : null;

    /// <summary>Number of nodes left to execute after constant folding and operator fusion.</summary>
    public int StepCount => _steps.Length;

    /// <summary>The operators left to execute, in order (fused steps show as their fused operator).</summary>
    internal IEnumerable<OnnxOp> Ops => _steps.Select(s => s.Op);

    /// <summary>
    /// When set, called after every executed (non-cached) step with the node, the operator instance that ran (fused
    /// nodes show as their fused op), the shapes of its inputs (null for omitted ones) and the elapsed
    /// <see cref="System.Diagnostics.Stopwatch"/> ticks: a per-operator profile for benchmarks. Null (the default)
    /// costs one test per step.
    /// </summary>
    internal Action<OnnxNode, OnnxOp, int[]?[], long>? StepObserver { get; set; }

    /// <summary>
    /// Runs the graph. <paramref name="inputs"/>[i] belongs to graph input i (null: use the initializer default, which
    /// must exist). Returns one value per graph output, owned by the caller.
    /// </summary>
    public OnnxValue[] Run(OnnxValue?[] inputs)
    {
        var slots = _slots ??= new OnnxValue?[_valueCount];
        try
        {
            return Run(inputs, slots);
        }
        finally
        {
            Array.Clear(slots);
        }
    }

    private OnnxValue[] Run(OnnxValue?[] inputs, OnnxValue?[] slots)
    {
        Array.Copy(_constants, slots, _valueCount);
        bool sameShapes = _lastSignature is not null && _lastShapes.Length == _inputs.Length;
        for (int i = 0; i < _inputs.Length; i++)
        {
            var value = inputs[i] ?? _inputs[i].Default ?? throw new InvalidOperationException($"graph input #{i} has no value");
            slots[_inputs[i].Id] = value;
            sameShapes = sameShapes && value.Shape.AsSpan().SequenceEqual(_lastShapes[i]);
        }
        if (!sameShapes)
        {
            var signature = new StringBuilder();
            _lastShapes = new int[_inputs.Length][];
            for (int i = 0; i < _inputs.Length; i++)
            {
                var shape = slots[_inputs[i].Id]!.Shape;
                _lastShapes[i] = (int[])shape.Clone();
                signature.Append(Shape.Format(shape)).Append(';');
            }
            string signatureKey = signature.ToString();
            if (_lastSignature != signatureKey) _pool.Clear();
            _lastSignature = signatureKey;
        }
        string key = _lastSignature!;
        bool cached = _staticCache.TryGetValue(key, out var staticValues);
        if (cached)
        {
            for (int v = 0; v < _valueCount; v++)
                if (staticValues![v] is { } sv) slots[v] = sv;
        }
        else
        {
            staticValues = new OnnxValue?[_valueCount];
        }

        var ctx = new OpContext(_pool, _maxTensorElements, DescribeRunLimit);
        var observer = StepObserver;
        var staticCtx = new OpContext(null, _maxTensorElements, DescribeRunLimit);
        foreach (var step in _steps)
        {
            if (step.IsStatic)
            {
                if (cached) continue;
                var results = Execute(staticCtx, step, slots, step.Requested, atLoad: false);
                for (int k = 0; k < step.Outputs.Length; k++)
                {
                    if (step.Outputs[k] < 0) continue;
                    slots[step.Outputs[k]] = results[k];
                    staticValues![step.Outputs[k]] = results[k];
                }
                continue;
            }
            long started = observer is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
            var outputs = Execute(ctx, step, slots, step.Requested, atLoad: false, step.Scratch());
            if (observer is not null)
            {
                long elapsed = System.Diagnostics.Stopwatch.GetTimestamp() - started;
                observer(step.Node, step.Op, step.Inputs.Select(i => i < 0 ? null : slots[i]?.Shape).ToArray(), elapsed);
            }
            for (int k = 0; k < step.Outputs.Length; k++)
                if (step.Outputs[k] >= 0) slots[step.Outputs[k]] = outputs[k];
            step.ClearScratch();
            // The slot keeps its value object: a later Shape-like step may still read its shape (never its storage).
            foreach (int v in step.Release)
                if (slots[v] is { } dead) _pool.Return(dead);
        }
        if (!cached)
        {
            if (_staticCache.Count >= MaxCachedSignatures) _staticCache.Clear();
            _staticCache[key] = staticValues!;
        }

        var result = new OnnxValue[_outputIds.Length];
        for (int k = 0; k < _outputIds.Length; k++)
        {
            int id = _outputIds[k];
            var value = slots[id] ?? throw new InvalidOperationException($"graph output #{k} was not computed");
            // Constants, inputs and cached values stay with the session; a value listed twice is handed out twice.
            bool owned = !_staticValue[id] && _constants[id] is null && !IsInputId(id);
            result[k] = owned && Array.IndexOf(result, value, 0, k) < 0 ? value : value.Clone();
        }
        return result;
    }

    private static string DescribeRunLimit(long limit) => $"the limit of {limit} elements per tensor (OnnxSessionOptions.MaxTensorElements)";

    private bool IsInputId(int id)
    {
        foreach (var (inputId, _) in _inputs) if (inputId == id) return true;
        return false;
    }

    /// <summary>Index of a graph input by name, or -1.</summary>
    public int InputIndex(string name) => _inputIndex.GetValueOrDefault(name, -1);

    private OnnxValue?[] Execute(OpContext ctx, Step step, OnnxValue?[] slots, bool[] requested, bool atLoad,
        (OnnxValue?[] Inputs, OnnxValue?[] Outputs)? scratch = null)
    {
        // Dynamic steps reuse their operand arrays from run to run (no allocation per step); others get fresh ones.
        var inputs = scratch?.Inputs ?? new OnnxValue?[step.Inputs.Length];
        for (int k = 0; k < inputs.Length; k++) inputs[k] = step.Inputs[k] < 0 ? null : slots[step.Inputs[k]];
        var outputs = scratch?.Outputs ?? new OnnxValue?[step.Outputs.Length];
        ctx.Begin(step.Node, requested);
        try
        {
            step.Op.Execute(ctx, inputs, outputs);
        }
        catch (ArgumentException e)
        {
            // ShapeException is an ArgumentException; kernels' argument checks land here too.
            string message = $"{_source}: {step.Node.DisplayName}: {e.Message}";
            if (atLoad) throw new OnnxFormatException($"{message} (while folding constants at load time)", e);
            if (e is ShapeException) throw new ShapeException(message, e);
            throw new ArgumentException(message, e);
        }
        for (int k = 0; k < outputs.Length; k++)
        {
            if (requested[k] && outputs[k] is null)
                throw new InvalidOperationException($"{_source}: {step.Node.DisplayName}: output #{k} was not produced");
        }
        return outputs;
    }

    /// <summary>One node to execute with its value ids (-1 for omitted inputs/outputs).</summary>
    internal sealed class Step(OnnxNode node, OnnxOp op, int[] inputs, int[] outputs)
    {
        public OnnxNode Node { get; } = node;
        public OnnxOp Op { get; set; } = op;
        public int[] Inputs { get; set; } = inputs;
        public int[] Outputs { get; set; } = outputs;
        public bool IsStatic { get; set; }
        public bool[] Requested { get; set; } = [];
        public int[] Release { get; set; } = [];

        private OnnxValue?[]? _inputValues, _outputValues;

        /// <summary>This step's operand arrays for a run (sized on first use; Inputs and Outputs are fixed by then).</summary>
        public (OnnxValue?[] Inputs, OnnxValue?[] Outputs) Scratch() =>
            (_inputValues ??= new OnnxValue?[Inputs.Length], _outputValues ??= new OnnxValue?[Outputs.Length]);

        /// <summary>Drops the references the operand arrays hold after the step ran.</summary>
        public void ClearScratch()
        {
            if (_inputValues is not null) Array.Clear(_inputValues);
            if (_outputValues is not null) Array.Clear(_outputValues);
        }
    }
}
