using System.Collections.ObjectModel;
using CnnSharp.Compile;
using CnnSharp.Onnx.Runtime;

namespace CnnSharp.Onnx;

/// <summary>Settings of an <see cref="OnnxSession"/>.</summary>
public sealed class OnnxSessionOptions
{
    /// <summary>
    /// Fold an inference-mode BatchNormalization into the Conv before it when the Conv's output feeds nothing else and
    /// all parameters are constants (default true). Results differ from the unfused graph only by float32 rounding.
    /// </summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>
    /// Apply a Relu, or a Clip(0, max) with load-time bounds (PyTorch's ReLU6), in place on the output of the Conv
    /// before it when that output feeds nothing else (default true). The result is identical to running the two nodes.
    /// </summary>
    public bool FuseConvRelu { get; init; } = true;

    /// <summary>
    /// Add the other operand of an Add to the output of the Conv before it inside the convolution (a residual connection,
    /// with a Relu after the Add fused too when <see cref="FuseConvRelu"/> is set), when the Conv's output feeds nothing
    /// else (default true). The result is identical to running the nodes.
    /// </summary>
    public bool FuseConvAdd { get; init; } = true;

    /// <summary>
    /// Run chains of small convolutions (stride 1, square kernel, output channels a multiple of 16, input channels 1 or
    /// a multiple of 16, constant weights), each with its Relu and a following 2x2 MaxPool, on the direct convolution
    /// kernels in a channel-blocked layout (default true). Results differ from the unfused operators only by float32
    /// summation order; convolutions large enough to be split inside an image keep the ordinary path. A model in which
    /// this forms a chain of two or more stages (or a stage with its pool) runs on the ONNX runtime rather than a
    /// compiled plan: the chain keeps activations blocked from stage to stage, where the compiled plan converts layouts
    /// around every convolution (the tutorial's ConvNet ran 1.7x slower compiled).
    /// </summary>
    public bool FuseDirectConvolutions { get; init; } = true;

    /// <summary>
    /// Run the model through the compiled executor (<c>CnnSharp.Compile</c>, the one <c>Module.Compile</c> uses), planned
    /// once per input shape, when the graph maps onto it (default true). Graphs it cannot express, and runs that override
    /// an initializer or pass a non-float input, use the ONNX runtime; <see cref="OnnxSession.LastExecutionPath"/> and
    /// <see cref="OnnxSession.FallbackReason"/> say which ran and why. False always uses the ONNX runtime (its fusion
    /// options above apply to it only).
    /// </summary>
    public bool CompilePlan { get; init; } = true;

    /// <summary>
    /// Compile graphs with nodes that have no compiled form too, running each such node (Concat, Clip, Softmax, ...)
    /// inside the plan through its ONNX operator, an island (default false). Off by default because today the ONNX
    /// runtime runs such graphs faster: an island allocates its output and copies it into the plan, where the runtime
    /// fuses around those nodes (SqueezeNet's Concat islands ran 1.3x slower).
    /// </summary>
    public bool AllowGraphBreaks { get; init; }

    /// <summary>
    /// The most elements one tensor computed while running the model may have (default 2^28 = 268,435,456: 1 GiB of
    /// float32, 2 GiB of integer values, which are held as int64). A larger output, such as an Expand, Tile, Pad or
    /// ConstantOfShape to a shape read from the model, is refused before it is allocated: <see cref="OnnxSession.Run(Tensor)"/>
    /// throws a <see cref="ShapeException"/> naming the node, the shape and this limit.
    /// </summary>
    public long MaxTensorElements { get; init; } = 1L << 28;

    /// <summary>
    /// The budget, in elements summed over every value, for constant folding at load time (default 2^26 = 67,108,864:
    /// 256 MiB of float32). Every node whose inputs are all constants is computed once when the session is built; a
    /// model whose folded values would exceed this budget (a few bytes of ConstantOfShape can ask for gigabytes) is
    /// rejected with an <see cref="OnnxFormatException"/> naming the node, the shape and the budget, before the value is
    /// allocated. Constant nodes do not count: their values are already in the file. Raise it for a model that really
    /// computes large constants (for example a Transpose of a large weight stored untransposed).
    /// </summary>
    public long MaxFoldedElements { get; init; } = 1L << 26;
}

/// <summary>Which executor ran an <see cref="OnnxSession"/>'s most recent run.</summary>
public enum OnnxExecutionPath
{
    /// <summary>The session has not run yet.</summary>
    None,

    /// <summary>The compiled executor's plan for the input shape (<see cref="OnnxSessionOptions.CompilePlan"/>).</summary>
    CompiledPlan,

    /// <summary>The ONNX runtime (operator by operator, with its own fusions); <see cref="OnnxSession.FallbackReason"/> says why.</summary>
    Runtime,
}

/// <summary>
/// Runs an ONNX model on CnnSharp's kernels (inference). Building a session validates every node (operator, opset,
/// attributes and their values), folds constants and plans buffer reuse, so an unsupported model fails here, not
/// mid-run.
/// </summary>
/// <remarks>
/// <para>Supported: the standard ONNX domain, opsets 1 to 17, the operators in <see cref="SupportedOperators"/> with
/// 1-D and 2-D convolution and pooling. Floating-point tensors (FLOAT, DOUBLE, FLOAT16, BFLOAT16) compute in float32;
/// integer and BOOL tensors (shape arithmetic, Gather indices) in int64.</para>
/// <para>Initializers that are also listed as graph inputs are defaults: a run may override them by name.</para>
/// <para>Execution: a model with one input and one output whose graph maps onto the compiled executor runs through an
/// execution plan built once per input shape (the same planner, fusions and kernels as <c>Module.Compile</c>; nodes
/// without a compiled form run inside the plan as islands, <see cref="GraphBreaks"/>); anything else runs on the ONNX
/// runtime (<see cref="LastExecutionPath"/>, <see cref="FallbackReason"/>). Both give the same results within float32
/// rounding.</para>
/// <para>Runs are serialised (one at a time per session); intermediate buffers are reused from run to run while the
/// input shapes stay the same. Outputs are fresh tensors owned by the caller.</para>
/// </remarks>
/// <example>
/// <code>
/// var session = OnnxSession.Load("resnet18.onnx");
/// Tensor logits = session.Run(image);                       // one input, one output
/// var outputs = session.Run(new Dictionary&lt;string, Tensor&gt; { ["input"] = image });
/// </code>
/// </example>
public sealed class OnnxSession
{
    private const int MaxCachedPlans = 8;

    private readonly ExecutionGraph _graph;
    private readonly Lock _gate = new();
    private readonly OnnxPlanner? _planner;
    private readonly Dictionary<Shape, (ExecutionPlan? Plan, string? Failure)> _plans = [];
    private readonly bool _allowGraphBreaks;
    private readonly string? _runtimeFaster;

    /// <summary>Builds a session for <paramref name="model"/>.</summary>
    /// <param name="model">A loaded model (see <see cref="OnnxModel.Load"/>).</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="OnnxUnsupportedException">The model uses an operator, opset, attribute or attribute value CnnSharp does not support; the message names the node, operator and attribute.</exception>
    /// <exception cref="OnnxFormatException">A node breaks its operator's specification (wrong input count, attribute type, invalid constant shapes), or constant folding would exceed <see cref="OnnxSessionOptions.MaxFoldedElements"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A limit in <paramref name="options"/> is not positive.</exception>
    public OnnxSession(OnnxModel model, OnnxSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxSessionOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxTensorElements, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxFoldedElements, nameof(options));
        if (model.Opset is < OpRegistry.MinOpset or > OpRegistry.MaxOpset)
            throw new OnnxUnsupportedException(model.Source, null, null,
                $"opset {model.Opset} is not supported (CnnSharp runs opsets {OpRegistry.MinOpset} to {OpRegistry.MaxOpset})");
        foreach (var input in model.Graph.Inputs)
        {
            if (!input.IsTensor)
                throw new OnnxUnsupportedException(model.Source, null, null, $"graph input '{input.Name}' is not a tensor (sequences, maps and optionals are not supported)");
        }
        Model = model;
        _graph = new ExecutionGraph(model, options);
        if (options.CompilePlan) _planner = new OnnxPlanner(model, _graph, options.MaxTensorElements);
        _allowGraphBreaks = options.AllowGraphBreaks;
        // The one case where the runtime is known to be faster for a whole graph (see FuseDirectConvolutions).
        _runtimeFaster = _graph.Ops.OfType<Ops.DirectConvChainOp>().Any(c => c.Stages.Count > 1 || c.Stages[0].Pool is not null)
            ? "the ONNX runtime fuses this model's convolutions into direct-kernel chains (DirectConvChainOp), faster than the compiled plan today (OnnxSessionOptions.FuseDirectConvolutions = false compiles it)"
            : null;
        InputNames = new ReadOnlyCollection<string>(model.Graph.RuntimeInputs.Select(i => i.Name).ToArray());
        OutputNames = new ReadOnlyCollection<string>(model.Graph.Outputs.Select(o => o.Name).ToArray());
    }

    /// <summary>Loads an <c>.onnx</c> file and builds a session for it.</summary>
    /// <exception cref="OnnxFormatException">The file is not a valid ONNX model.</exception>
    /// <exception cref="OnnxUnsupportedException">The model uses something CnnSharp does not support.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OnnxSession Load(string path, OnnxSessionOptions? options = null) => new(OnnxModel.Load(path), options);

    /// <summary>The model this session runs.</summary>
    public OnnxModel Model { get; }

    /// <summary>Names of the inputs a run must provide (graph inputs without an initializer).</summary>
    public IReadOnlyList<string> InputNames { get; }

    /// <summary>Names of the graph outputs, in order.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>The compiled graph (benchmarks attach a per-step observer to it).</summary>
    internal ExecutionGraph Graph => _graph;

    /// <summary>Which executor ran the most recent run.</summary>
    public OnnxExecutionPath LastExecutionPath { get; private set; }

    /// <summary>Why the most recent run used the ONNX runtime instead of a compiled plan; null when it ran a plan (or none ran).</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>The nodes the most recent run's plan ran as islands (graph breaks: their ONNX operator inside the plan), by display name.</summary>
    public IReadOnlyList<string> GraphBreaks { get; private set; } = [];

    /// <summary>
    /// The compiled plan for an input of <paramref name="inputShape"/>: one line per fused op with its output shape, or
    /// <c>runtime: </c> and the reason the ONNX runtime runs that shape instead. Plans it (and caches the plan) if needed.
    /// </summary>
    public string Describe(params int[] inputShape)
    {
        lock (_gate)
        {
            if (_planner is null) return "runtime: OnnxSessionOptions.CompilePlan is false";
            var (plan, failure) = Resolve(new Shape(inputShape));
            return plan is null ? "runtime: " + failure
                : string.Join(Environment.NewLine, plan.Ops.Select(o => $"{o.Name} -> {plan.Shapes[o.Output]}"));
        }
    }

    /// <summary>Number of nodes executed per run, after constant folding and operator fusion.</summary>
    public int ExecutedNodeCount => _graph.StepCount;

    /// <summary>The operators CnnSharp executes, sorted by name.</summary>
    public static IReadOnlyList<string> SupportedOperators => OpRegistry.Names;

    /// <summary>Runs a model that has one required input and returns its first output.</summary>
    /// <param name="input">The input tensor, shaped as the model declares.</param>
    /// <exception cref="InvalidOperationException">The model does not have exactly one required input.</exception>
    /// <exception cref="ShapeException">The input's shape disagrees with the declaration, or an operator rejects the shapes it meets or would produce a tensor above <see cref="OnnxSessionOptions.MaxTensorElements"/> (the message names the node).</exception>
    public Tensor Run(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (InputNames.Count != 1)
            throw new InvalidOperationException($"{Model.Source}: Run(Tensor) needs a model with one input, but this one has {InputNames.Count} ({string.Join(", ", InputNames)}); pass a dictionary");
        return Run(new Dictionary<string, Tensor> { [InputNames[0]] = input })[OutputNames[0]];
    }

    /// <summary>Runs the model on float tensors and returns every graph output by name.</summary>
    /// <param name="inputs">One tensor per required input (and optionally per overridable initializer), by name.</param>
    /// <returns>The outputs; integer and BOOL outputs are converted to float32 (use the <see cref="OnnxTensor"/> overload to keep their types).</returns>
    /// <exception cref="ArgumentException">An input is missing, unknown, or declared with a non-float type.</exception>
    /// <exception cref="ShapeException">An input's shape disagrees with the declaration, or an operator rejects the shapes it meets or would produce a tensor above <see cref="OnnxSessionOptions.MaxTensorElements"/> (the message names the node).</exception>
    public IReadOnlyDictionary<string, Tensor> Run(IReadOnlyDictionary<string, Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var values = inputs.ToDictionary(p => p.Key, p => OnnxValue.FromTensor(
            p.Value ?? throw new ArgumentException($"{Model.Source}: input '{p.Key}' is null", nameof(inputs))));
        var results = RunValues(values);
        var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int k = 0; k < results.Length; k++)
        {
            var v = results[k];
            outputs[OutputNames[k]] = v.IsFloat ? v.AsTensor() : v.AsLongTensor().ToFloat();
        }
        return outputs;
    }

    /// <summary>Runs the model on typed tensors (for integer inputs such as indices) and returns typed outputs.</summary>
    /// <param name="inputs">One tensor per required input (and optionally per overridable initializer), by name.</param>
    /// <returns>The outputs by name: floating-point results as FLOAT, integer and BOOL results with their ONNX type.</returns>
    /// <exception cref="ArgumentException">An input is missing, unknown, or of a type the declaration does not allow.</exception>
    /// <exception cref="ShapeException">An input's shape disagrees with the declaration, or an operator rejects the shapes it meets or would produce a tensor above <see cref="OnnxSessionOptions.MaxTensorElements"/> (the message names the node).</exception>
    public IReadOnlyDictionary<string, OnnxTensor> Run(IReadOnlyDictionary<string, OnnxTensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var values = inputs.ToDictionary(p => p.Key, p => OnnxValue.FromTensor(
            p.Value ?? throw new ArgumentException($"{Model.Source}: input '{p.Key}' is null", nameof(inputs))));
        var results = RunValues(values);
        var outputs = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        for (int k = 0; k < results.Length; k++) outputs[OutputNames[k]] = results[k].ToOnnxTensor(OutputNames[k]);
        return outputs;
    }

    private OnnxValue[] RunValues(Dictionary<string, OnnxValue> given)
    {
        var declared = Model.Graph.Inputs;
        var bound = new OnnxValue?[declared.Count];
        foreach (var (name, value) in given)
        {
            int index = _graph.InputIndex(name);
            if (index < 0)
                throw new ArgumentException($"{Model.Source}: unknown input '{name}'; the model's inputs are {DescribeInputs()}", nameof(given));
            bound[index] = value;
        }
        var missing = Model.Graph.RuntimeInputs.Where(i => bound[_graph.InputIndex(i.Name)] is null).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"{Model.Source}: missing input{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(Describe))}; the model's inputs are {DescribeInputs()}", nameof(given));

        var symbols = new Dictionary<string, (int Size, string Input)>(StringComparer.Ordinal);
        for (int i = 0; i < declared.Count; i++)
        {
            if (bound[i] is { } value) Check(declared[i], value, symbols);
        }
        lock (_gate)
        {
            if (RunPlan(given) is { } result) return result;
            LastExecutionPath = OnnxExecutionPath.Runtime;
            GraphBreaks = [];
            return _graph.Run(bound);
        }
    }

    /// <summary>Runs the compiled plan for the input's shape, or returns null (reason in <see cref="FallbackReason"/>).</summary>
    private OnnxValue[]? RunPlan(Dictionary<string, OnnxValue> given)
    {
        if (_planner is null)
        {
            FallbackReason = "OnnxSessionOptions.CompilePlan is false";
            return null;
        }
        if (Model.Graph.RuntimeInputs.Count != 1)
        {
            FallbackReason = $"the model has {Model.Graph.RuntimeInputs.Count} runtime inputs (a compiled plan reads one)";
            return null;
        }
        string input = Model.Graph.RuntimeInputs[0].Name;
        if (given.Count != 1 || !given.TryGetValue(input, out var x))
        {
            FallbackReason = "the run overrides an initializer";
            return null;
        }
        if (!x.IsFloat)
        {
            FallbackReason = $"input '{input}' is {x.DataType} (a compiled plan reads float32)";
            return null;
        }
        var (plan, failure) = Resolve(new Shape(x.Shape));
        if (plan is null)
        {
            FallbackReason = failure;
            return null;
        }
        plan.Forward(x.Floats);
        LastExecutionPath = OnnxExecutionPath.CompiledPlan;
        FallbackReason = null;
        GraphBreaks = plan.GraphBreaks;
        return [OnnxValue.FromFloats((float[])plan.Data[plan.Output].Clone(), plan.Shapes[plan.Output].ToArray())];
    }

    /// <summary>The compiled plan for <paramref name="shape"/>, or null (tests and benchmarks inspect it).</summary>
    internal ExecutionPlan? PlanFor(Shape shape)
    {
        lock (_gate) return _planner is null ? null : Resolve(shape).Plan;
    }

    private (ExecutionPlan? Plan, string? Failure) Resolve(Shape shape)
    {
        if (_runtimeFaster is not null) return (null, _runtimeFaster);
        if (_plans.TryGetValue(shape, out var entry)) return entry;
        if (_plans.Count >= MaxCachedPlans) _plans.Clear();
        var plan = _planner!.Plan(shape, out var failure);
        if (plan is { GraphBreaks.Count: > 0 } && !_allowGraphBreaks)
        {
            failure = $"nodes without a compiled form ({string.Join(", ", plan.GraphBreaks.Distinct())}) would run as islands (OnnxSessionOptions.AllowGraphBreaks allows that)";
            plan = null;
        }
        return _plans[shape] = (plan, failure);
    }

    private void Check(OnnxValueInfo info, OnnxValue value, Dictionary<string, (int Size, string Input)> symbols)
    {
        if (info.ElementType != OnnxDataType.Undefined)
        {
            bool wantFloat = OnnxValue.IsFloatingType(info.ElementType);
            if (wantFloat != value.IsFloat || (!wantFloat && value.DataType != info.ElementType && !(IsInteger(info.ElementType) && IsInteger(value.DataType))))
                throw new ArgumentException($"{Model.Source}: input '{info.Name}' is declared {Upper(info.ElementType)} but a {Upper(value.DataType)} tensor was given", info.Name);
        }
        if (info.Shape is not { } shape) return;
        string Mismatch() => $"{Model.Source}: input '{info.Name}' has shape {Shape.Format(value.Shape)} but the model declares {Declared(info)}";
        if (shape.Count != value.Rank) throw new ShapeException(Mismatch());
        for (int d = 0; d < shape.Count; d++)
        {
            int actual = value.Shape[d];
            if (shape[d].Value is long fixedSize && fixedSize != actual) throw new ShapeException(Mismatch());
            if (shape[d].Param is { Length: > 0 } symbol)
            {
                if (symbols.TryGetValue(symbol, out var seen) && seen.Size != actual)
                    throw new ShapeException($"{Mismatch()}, and dimension '{symbol}' is {actual} here but {seen.Size} in input '{seen.Input}'");
                symbols[symbol] = (actual, info.Name);
            }
        }
    }

    private static bool IsInteger(OnnxDataType t) => t is OnnxDataType.Int8 or OnnxDataType.Int16 or OnnxDataType.Int32 or OnnxDataType.Int64
        or OnnxDataType.UInt8 or OnnxDataType.UInt16 or OnnxDataType.UInt32 or OnnxDataType.UInt64;

    private static string Upper(OnnxDataType t) => t.ToString().ToUpperInvariant();

    private static string Declared(OnnxValueInfo info) =>
        info.Shape is null ? "(any shape)" : "(" + string.Join(", ", info.Shape) + ")";

    private static string Describe(OnnxValueInfo info) => $"'{info.Name}' ({Upper(info.ElementType)} {Declared(info)})";

    private string DescribeInputs() => string.Join(", ", Model.Graph.RuntimeInputs.Select(Describe));
}
