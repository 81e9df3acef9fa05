using CnnSharp.Compile;
using CnnSharp.Onnx.Ops;

namespace CnnSharp.Onnx.Runtime;

/// <summary>
/// Maps an ONNX graph onto the compiled executor for one input shape: the graph becomes an <see cref="OpGraph"/> (the
/// same node list a traced module produces) and <see cref="PlanBuilder.BuildFromGraph"/> drops dead nodes, fuses
/// (batch norm folded into the conv, residual Add and ReLU in the conv epilogue, ...) and plans every buffer.
/// </summary>
/// <remarks>
/// <para>Dependency direction: the ONNX layer depends on <c>CnnSharp.Compile</c> (its specs, graph and plan); the
/// compiler knows nothing about ONNX.</para>
/// <para>Mapped (compiled ops): Conv (1-D and 2-D; any pads, auto_pad, strides, dilations and groups), BatchNormalization
/// (inference), Relu, Sigmoid, Tanh, MaxPool and AveragePool (1-D and 2-D, padding at most half the kernel; AveragePool without
/// ceil_mode), GlobalAveragePool (1-D and 2-D), Add of two same-shape values (or a value and a same-shape constant), Gemm
/// (alpha 1, no transA; transB either way) and MatMul by a constant matrix as Linear, MatMul + Add of a bias as one
/// Linear, Flatten/Reshape/Squeeze/Unsqueeze as buffer aliases, Identity and inference Dropout as nothing.</para>
/// <para>Folded per input shape: nodes whose inputs are all constants (at load, by <see cref="ExecutionGraph"/>) and
/// shape-only nodes (Shape, Size) with what is computed from them, so PyTorch's <c>x.view(x.size(0), -1)</c> becomes a
/// static reshape.</para>
/// <para>Everything else with float inputs and one used float output runs as an island (a graph break): the node's
/// own <see cref="OnnxOp"/> on the plan's buffers, through <see cref="EagerSpec"/>. A graph the plan cannot express
/// (several runtime inputs or outputs, integer values computed at run time, a node with several used outputs, a
/// shape error) is refused with a reason, and the session runs the ONNX runtime instead.</para>
/// </remarks>
internal sealed partial class OnnxPlanner(OnnxModel model, ExecutionGraph runtime, long maxTensorElements)
{
    private static readonly Tensor s_placeholder = new([], new Shape(0));
    private readonly Dictionary<string, OnnxValue> _defaults = new(StringComparer.Ordinal);
    private readonly Dictionary<OnnxValue, Tensor> _tensors = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<OnnxValue, Tensor> _transposed = new(ReferenceEqualityComparer.Instance);

    /// <summary>A graph value while mapping: a plan value id, or a value known at plan time.</summary>
    private readonly record struct Slot(int Value, OnnxValue? Constant);

    /// <summary>Plans the model for inputs of <paramref name="inputShape"/>, or returns null with the reason.</summary>
    public ExecutionPlan? Plan(Shape inputShape, out string? failure)
    {
        try
        {
            var graph = Map(inputShape, out failure);
            return graph is null ? null : PlanBuilder.BuildFromGraph(graph, differentiable: false, inputRequiresGrad: false, []);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or OnnxFormatException or OnnxUnsupportedException)
        {
            // A shape the model rejects: the runtime reports it with its own message when it runs.
            failure = $"planning for input {inputShape} failed: {e.Message}";
            return null;
        }
    }

    private OpGraph? Map(Shape inputShape, out string? failure)
    {
        var g = model.Graph;
        failure = g.RuntimeInputs.Count != 1 ? $"the model has {g.RuntimeInputs.Count} runtime inputs (a compiled plan reads one)"
            : g.Outputs.Count != 1 ? $"the model has {g.Outputs.Count} outputs (a compiled plan computes one)"
            : null;
        if (failure is not null) return null;

        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in g.Nodes)
            foreach (string i in n.Inputs)
                uses[i] = uses.GetValueOrDefault(i) + 1;
        uses[g.Outputs[0].Name] = uses.GetValueOrDefault(g.Outputs[0].Name) + 1;

        var slots = new Dictionary<string, Slot>(StringComparer.Ordinal);
        foreach (var t in g.Initializers) slots[t.Name] = new Slot(-1, runtime.Constant(t.Name) ?? Default(t));
        slots[g.RuntimeInputs[0].Name] = new Slot(0, null);
        var shapes = new List<Shape> { inputShape };
        var constants = new Dictionary<int, float[]>();
        var nodes = new List<PlanBuilder.GraphNode>();
        var producer = new Dictionary<int, int>();
        var padded = new Dictionary<int, (int Source, int Top, int Left, int Bottom, int Right)>();

        int Emit(OpSpec spec, int[] inputs, string output, Shape shape)
        {
            shapes.Add(shape);
            int id = shapes.Count - 1;
            producer[id] = nodes.Count;
            nodes.Add(new PlanBuilder.GraphNode(spec, inputs, id));
            slots[output] = new Slot(id, null);
            return id;
        }

        foreach (var node in g.Nodes)
        {
            var inputs = new Slot?[node.Inputs.Count];
            for (int i = 0; i < inputs.Length; i++)
            {
                if (node.Inputs[i].Length == 0) continue;
                if (!slots.TryGetValue(node.Inputs[i], out var s))
                {
                    failure = $"{node.DisplayName} reads '{node.Inputs[i]}', which the graph does not compute";
                    return null;
                }
                inputs[i] = s;
            }
            var op = OpRegistry.Create(node, model.Opset, model.Source, i => inputs[i]?.Constant);
            bool constantInputs = inputs.All(s => s is null || s.Value.Constant is not null);
            if ((op.IsDeterministic && constantInputs) || op.DependsOnlyOnShapes)
            {
                // Folded at load (the runtime holds the value) or here, per input shape (shape arithmetic).
                var known = node.Outputs.Select(o => o.Length == 0 ? null : runtime.Constant(o)).ToArray();
                if (known.Where((v, k) => v is null && node.Outputs[k].Length > 0).Any()) known = Execute(op, node, Operands(inputs, shapes));
                for (int k = 0; k < known.Length; k++)
                    if (node.Outputs[k].Length > 0 && known[k] is { } v) slots[node.Outputs[k]] = new Slot(-1, v);
                continue;
            }
            if (MapNode(node, op, inputs, shapes, constants, nodes, producer, uses, Emit, slots, padded)) continue;
            if (!OnlyFirstOutputUsed(node, uses))
            {
                failure = $"{node.DisplayName} has no compiled form and more than one used output";
                return null;
            }
            // An island: the node's own operator on the plan's buffers.
            var result = Execute(op, node, Operands(inputs, shapes))[0];
            if (result is not { IsFloat: true })
            {
                failure = $"{node.DisplayName} computes a {result?.DataType.ToString() ?? "missing"} value at run time (a compiled plan holds float values)";
                return null;
            }
            var planSlots = new List<(int Slot, int Value)>();
            var where = new int[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                where[i] = inputs[i] is { Value: >= 0 } s ? planSlots.Count : -1;
                if (where[i] >= 0) planSlots.Add((planSlots.Count, inputs[i]!.Value.Value));
            }
            var fixedInputs = inputs.Select(s => s?.Constant).ToArray();
            var spec = new EagerSpec(args => Island(op, node, fixedInputs, where, args));
            shapes.Add(new Shape(result.Shape));
            nodes.Add(new PlanBuilder.GraphNode(spec, [.. planSlots.Select(s => s.Value).Distinct()], shapes.Count - 1)
            {
                Traced = new TracedOp(node.DisplayName, [.. planSlots.Select(_ => s_placeholder)], s_placeholder),
                Slots = [.. planSlots],
            });
            slots[node.Outputs[0]] = new Slot(shapes.Count - 1, null);
            // A zero Pad of the spatial dimensions: a Conv or AveragePool reading it takes the padding itself, and the
            // island becomes dead.
            if (op is PadOp pad && inputs[0] is { Value: >= 0 } source && shapes[source.Value].Rank == 4
                && pad.ZeroPads(inputs.ElementAtOrDefault(1)?.Constant, inputs.ElementAtOrDefault(2)?.Constant) is [0, 0, var t, var l, 0, 0, var b, var r]
                && t >= 0 && l >= 0 && b >= 0 && r >= 0 && Math.Max(Math.Max(t, l), Math.Max(b, r)) <= 64)
                padded[shapes.Count - 1] = (source.Value, (int)t, (int)l, (int)b, (int)r);
        }

        var output = slots.GetValueOrDefault(g.Outputs[0].Name, new Slot(-1, null));
        if (output.Value <= 0 || constants.ContainsKey(output.Value))
        {
            failure = "the output is a constant or the input itself (nothing to compile)";
            return null;
        }
        // The runtime refuses such a value with its limit in the message; the plan would allocate it up front.
        if (shapes.FirstOrDefault(s => s.Numel > maxTensorElements) is { } large)
        {
            failure = $"a value of shape {large} exceeds OnnxSessionOptions.MaxTensorElements ({maxTensorElements})";
            return null;
        }
        return new OpGraph(shapes, constants, nodes, output.Value);
    }

    /// <summary>Maps a node with a compiled form onto the graph; false when it has none (it becomes an island).</summary>
    private bool MapNode(OnnxNode node, OnnxOp op, Slot?[] inputs, List<Shape> shapes, Dictionary<int, float[]> constants,
        List<PlanBuilder.GraphNode> nodes, Dictionary<int, int> producer, Dictionary<string, int> uses,
        Func<OpSpec, int[], string, Shape, int> emit, Dictionary<string, Slot> slots,
        Dictionary<int, (int Source, int Top, int Left, int Bottom, int Right)> padded)
    {
        if (inputs.Length == 0 || inputs[0] is not { Value: >= 0 } xs) return false;
        int x = xs.Value;
        var xShape = shapes[x];
        OnnxValue? Const(int i) => i < inputs.Length ? inputs[i]?.Constant : null;
        bool Float(OnnxValue? v, int rank) => v is { IsFloat: true } && (rank < 0 || v.Rank == rank);
        string output = node.Outputs[0];
        if (!OnlyFirstOutputUsed(node, uses)) return false;
        switch (op)
        {
            case ConvOp conv when xShape.Rank == 4 && Float(Const(1), 4) && (Const(2) is null ? inputs.Length < 3 || inputs[2] is null : Float(Const(2), 1))
                && conv.Window.SpatialRank is null or 2:
            {
                var w = Const(1)!;
                var window = conv.Window;
                var (top, bottom) = window.Padding(0, 2, xShape[2], w.Shape[2]);
                var (left, right) = window.Padding(1, 2, xShape[3], w.Shape[3]);
                if (padded.TryGetValue(x, out var pad) && uses.GetValueOrDefault(node.Inputs[0]) == 1)
                {
                    (x, top, left, bottom, right) = (pad.Source, top + pad.Top, left + pad.Left, bottom + pad.Bottom, right + pad.Right);
                    xShape = shapes[x];
                }
                var geometry = Conv2dGeometry.Create(xShape.ToArray(), w.Shape, (window.Strides?[0] ?? 1, window.Strides?[1] ?? 1),
                    (top, left, bottom, right), (window.Dilations?[0] ?? 1, window.Dilations?[1] ?? 1), conv.Groups, node.DisplayName);
                if (Const(2) is { } b && b.Count != geometry.K) return false;
                emit(new Conv2dSpec(TensorOf(w), Const(2) is { } bias ? TensorOf(bias) : null, geometry) { Frozen = true }, [x], output,
                    new Shape(geometry.N, geometry.K, geometry.OutH, geometry.OutW));
                return true;
            }
            case ConvOp conv when xShape.Rank == 3 && Float(Const(1), 3) && (Const(2) is null ? inputs.Length < 3 || inputs[2] is null : Float(Const(2), 1))
                && conv.Window.SpatialRank is null or 1:
            {
                // A 1-D Conv is the height-1 2-D conv on the same data, as F.Conv1d traces it: (N, C, L) in, (N, K, OutL) out.
                var w = Const(1)!;
                var geometry = conv.Geometry(xShape.ToArray(), w.Shape, node.DisplayName);
                if (Const(2) is { } b && b.Count != geometry.K) return false;
                emit(new Conv2dSpec(TensorOf(w), Const(2) is { } bias ? TensorOf(bias) : null, geometry) { Frozen = true }, [x], output,
                    new Shape(geometry.N, geometry.K, geometry.OutW));
                return true;
            }
            case BatchNormOp bn when !bn.IsTraining && xShape.Rank >= 2 && Enumerable.Range(1, 4).All(i => Float(Const(i), -1) && Const(i)!.Count == xShape[1]):
                emit(new BatchNormSpec(TensorOf(Const(3)!), TensorOf(Const(4)!), TensorOf(Const(1)!), TensorOf(Const(2)!), false, 0f, bn.Epsilon) { Frozen = true },
                    [x], output, xShape);
                return true;
            case UnaryOp { Kind: UnaryKind.Relu or UnaryKind.Sigmoid or UnaryKind.Tanh } unary:
                var kind = unary.Kind switch { UnaryKind.Relu => ActivationKind.Relu, UnaryKind.Sigmoid => ActivationKind.Sigmoid, _ => ActivationKind.Tanh };
                emit(new ActivationSpec(kind), [x], output, xShape);
                return true;
            case PoolOp pool when xShape.Rank == 4 && pool.Window.Kernel is [int kh, int kw] && (pool.IsMax || !pool.CeilMode):
            {
                var window = pool.Window;
                var (top, bottom) = window.Padding(0, 2, xShape[2], kh);
                var (left, right) = window.Padding(1, 2, xShape[3], kw);
                bool countPad = pool.CountIncludePad;
                // PyTorch exports AvgPool2d(padding, count_include_pad=True) as a zero Pad and an unpadded AveragePool.
                if (!pool.IsMax && top == 0 && left == 0 && bottom == 0 && right == 0 && padded.TryGetValue(x, out var pad)
                    && uses.GetValueOrDefault(node.Inputs[0]) == 1)
                {
                    (x, top, left, bottom, right, countPad) = (pad.Source, pad.Top, pad.Left, pad.Bottom, pad.Right, true);
                    xShape = shapes[x];
                }
                // The compiled pooling kernels assume PyTorch's rule: no window lies wholly in the padding.
                if (Math.Max(top, bottom) > kh / 2 || Math.Max(left, right) > kw / 2) return false;
                var g = Pool2dGeometry.Create(xShape.ToArray(), (kh, kw), (window.Strides?[0] ?? 1, window.Strides?[1] ?? 1),
                    (top, left, bottom, right), (window.Dilations?[0] ?? 1, window.Dilations?[1] ?? 1), pool.CeilMode, node.DisplayName);
                OpSpec spec = pool.IsMax ? new MaxPool2dSpec(g) : new AvgPool2dSpec(g, countPad, 0);
                emit(spec, [x], output, new Shape(g.N, g.C, g.OutH, g.OutW));
                return true;
            }
            case PoolOp pool when xShape.Rank == 3 && pool.Window.Kernel is [int kl] && (pool.IsMax || !pool.CeilMode):
            {
                // A 1-D pool is the height-1 2-D pool on the same data: (N, C, L) in, (N, C, OutL) out.
                var window = pool.Window;
                var (left, right) = window.Padding(0, 1, xShape[2], kl);
                if (Math.Max(left, right) > kl / 2) return false;
                var g = Pool2dGeometry.Create([xShape[0], xShape[1], 1, xShape[2]], (1, kl), (1, window.Strides?[0] ?? 1), (0, left, 0, right),
                    (1, window.Dilations?[0] ?? 1), pool.CeilMode, node.DisplayName);
                OpSpec spec = pool.IsMax ? new MaxPool2dSpec(g) : new AvgPool2dSpec(g, pool.CountIncludePad, 0);
                emit(spec, [x], output, new Shape(g.N, g.C, g.OutW));
                return true;
            }
            case GlobalPoolOp { IsMax: false } when xShape.Rank == 3:
                emit(new AdaptiveAvgPool2dSpec(AdaptivePool2dGeometry.Create([xShape[0], xShape[1], 1, xShape[2]], (1, 1), node.DisplayName)), [x], output,
                    new Shape(xShape[0], xShape[1], 1));
                return true;
            case GlobalPoolOp { IsMax: false } when xShape.Rank == 4:
                emit(new AdaptiveAvgPool2dSpec(AdaptivePool2dGeometry.Create(xShape.ToArray(), (1, 1), node.DisplayName)), [x], output,
                    new Shape(xShape[0], xShape[1], 1, 1));
                return true;
            case BinaryOp { Kind: Kernels.Arithmetic.Add } when inputs.Length == 2 && inputs[1] is { } ys:
                return MapAdd(x, ys, output, shapes, constants, nodes, producer, uses, emit, slots, node);
            case FlattenOp or ReshapeOp or SqueezeOp when inputs.Skip(1).All(s => s is null || s.Value.Constant is not null):
            {
                // Shape inference by running the (copying) operator once on zeros; the plan aliases the buffer.
                var shape = Execute(op, node, Operands(inputs, shapes))[0]!.Shape;
                emit(new ReshapeSpec(), [x], output, new Shape(shape));
                return true;
            }
            case IdentityOp:
            case DropoutOp when inputs.Length < 3 || inputs[2] is null || (Const(2) is { } t && t.ScalarAsDouble("Dropout training_mode") == 0):
                slots[output] = xs;
                return true;
            case GemmOp gemm when xShape.Rank == 2 && Float(Const(1), 2) && gemm.Attributes is { Alpha: 1f, TransA: false } a:
            {
                var w = Const(1)!;
                int inFeatures = a.TransB ? w.Shape[1] : w.Shape[0], outFeatures = a.TransB ? w.Shape[0] : w.Shape[1];
                var c = Const(2);
                if (inFeatures != xShape[1]) return false;
                if (inputs.Length > 2 && inputs[2] is not null && (a.Beta != 1f || !IsBias(c, outFeatures))) return false;
                emit(new LinearSpec(a.TransB ? TensorOf(w) : Transposed(w), c is null ? null : TensorOf(c)), [x], output, new Shape(xShape[0], outFeatures));
                return true;
            }
            case MatMulOp when xShape.Rank >= 2 && Float(Const(1), 2) && Const(1)!.Shape[0] == xShape[^1]:
                emit(new LinearSpec(Transposed(Const(1)!), null), [x], output, new Shape([.. xShape.ToArray()[..^1], Const(1)!.Shape[1]]));
                return true;
            default:
                return MapDataMovement(node, op, inputs, shapes, emit);
        }
    }

    /// <summary>Add: of two same-shape values, of a value and a same-shape constant, or of a bias to a bias-less Linear.</summary>
    private bool MapAdd(int x, Slot ys, string output, List<Shape> shapes, Dictionary<int, float[]> constants, List<PlanBuilder.GraphNode> nodes,
        Dictionary<int, int> producer, Dictionary<string, int> uses, Func<OpSpec, int[], string, Shape, int> emit, Dictionary<string, Slot> slots, OnnxNode node)
    {
        if (ys.Value >= 0)
        {
            if (!shapes[x].Equals(shapes[ys.Value])) return false;
            emit(new AddSpec(), [x, ys.Value], output, shapes[x]);
            return true;
        }
        var c = ys.Constant!;
        if (!c.IsFloat) return false;
        // MatMul + Add (PyTorch's Linear exported without Gemm): the bias joins the Linear when nothing else reads its output.
        if (producer.TryGetValue(x, out int at) && nodes[at] is { Spec: LinearSpec { Bias: null } linear } n && n.Output == x
            && uses.GetValueOrDefault(node.Inputs[0]) == 1 && IsBias(c, shapes[x][^1]))
        {
            nodes.RemoveAt(at);
            producer.Remove(x);
            foreach (var (v, i) in producer.Where(p => p.Value > at).ToList()) producer[v] = i - 1;
            emit(new LinearSpec(linear.Weight, TensorOf(c)), n.Inputs, output, shapes[x]);
            return true;
        }
        if (!c.Shape.AsSpan().SequenceEqual(shapes[x].ToArray())) return false;
        shapes.Add(shapes[x]);
        constants[shapes.Count - 1] = c.Floats;
        emit(new AddSpec(), [x, shapes.Count - 1], output, shapes[x]);
        return true;
    }

    /// <summary>True for a float constant of <paramref name="features"/> elements laid out as a bias: (F) or (1, ..., 1, F).</summary>
    private static bool IsBias(OnnxValue? c, int features) =>
        c is { IsFloat: true } && c.Count == features && c.Rank >= 1 && c.Shape[^1] == features;

    private static bool OnlyFirstOutputUsed(OnnxNode node, Dictionary<string, int> uses) =>
        node.Outputs.Skip(1).All(o => o.Length == 0 || uses.GetValueOrDefault(o) == 0);

    /// <summary>The operands for running a node at plan time: constants as they are, plan values as zeros of their shape.</summary>
    private static OnnxValue?[] Operands(Slot?[] inputs, List<Shape> shapes) =>
        [.. inputs.Select(s => s is not { } v ? null : v.Constant ?? OnnxValue.FromFloats(new float[shapes[v.Value].Numel], shapes[v.Value].ToArray()))];

    private OnnxValue?[] Execute(OnnxOp op, OnnxNode node, OnnxValue?[] inputs)
    {
        var ctx = new OpContext(null, maxTensorElements, limit => $"the limit of {limit} elements per tensor (OnnxSessionOptions.MaxTensorElements)");
        ctx.Begin(node, [.. node.Outputs.Select(o => o.Length > 0)]);
        var outputs = new OnnxValue?[node.Outputs.Count];
        op.Execute(ctx, inputs, outputs);
        return outputs;
    }

    /// <summary>Runs an island: the plan's buffers (<paramref name="args"/>) in their input slots, constants in theirs.</summary>
    private Tensor Island(OnnxOp op, OnnxNode node, OnnxValue?[] fixedInputs, int[] where, Tensor[] args)
    {
        var operands = (OnnxValue?[])fixedInputs.Clone();
        for (int i = 0; i < where.Length; i++)
            if (where[i] >= 0) operands[i] = OnnxValue.FromFloats(args[where[i]].Storage, args[where[i]].Shape.ToArray());
        var y = Execute(op, node, operands)[0]!;
        return new Tensor(y.Floats, new Shape(y.Shape));
    }

    private OnnxValue Default(OnnxTensor t)
    {
        if (!_defaults.TryGetValue(t.Name, out var v)) _defaults[t.Name] = v = OnnxValue.FromTensor(t);
        return v;
    }

    /// <summary>The constant as a tensor (no copy; constants never require grad), shared by every plan.</summary>
    private Tensor TensorOf(OnnxValue v)
    {
        if (!_tensors.TryGetValue(v, out var t)) _tensors[v] = t = new Tensor(v.Floats, new Shape(v.Shape));
        return t;
    }

    /// <summary>A (rows, cols) constant transposed to (cols, rows): MatMul's and Gemm's B as a Linear weight.</summary>
    private Tensor Transposed(OnnxValue v)
    {
        if (_transposed.TryGetValue(v, out var t)) return t;
        int rows = v.Shape[0], cols = v.Shape[1];
        var data = new float[v.Count];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                data[c * rows + r] = v.Floats[r * cols + c];
        return _transposed[v] = new Tensor(data, new Shape(cols, rows));
    }
}
