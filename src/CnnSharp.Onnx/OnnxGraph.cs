using CnnSharp.Onnx.Protos;

namespace CnnSharp.Onnx;

/// <summary>
/// A validated ONNX graph: nodes in a topological order, decoded initializers, declared inputs and outputs.
/// </summary>
/// <remarks>
/// Loading checks the graph's structure: initializer, input and node-output names are unique; every node input is
/// produced by a graph input, an initializer, an earlier node or (in a subgraph) the enclosing graph; every graph
/// output is produced; the data flow has no cycle. Nodes listed out of order are sorted (file order is kept
/// wherever the data flow allows). Each violation is an <see cref="OnnxFormatException"/> naming the node and value.
/// </remarks>
public sealed class OnnxGraph
{
    /// <summary>Subgraph nesting (If/Loop bodies) allowed below the main graph.</summary>
    internal const int MaxNesting = 32;

    private readonly Dictionary<string, OnnxTensor> _initializers;

    private OnnxGraph(string name, IReadOnlyList<OnnxNode> nodes, IReadOnlyList<OnnxTensor> initializers, IReadOnlyList<OnnxValueInfo> inputs,
        IReadOnlyList<OnnxValueInfo> outputs, IReadOnlyList<OnnxValueInfo> valueInfo, IReadOnlySet<string> outerReferences)
    {
        Name = name;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs;
        Outputs = outputs;
        ValueInfo = valueInfo;
        OuterReferences = outerReferences;
        _initializers = initializers.ToDictionary(t => t.Name, StringComparer.Ordinal);
        RuntimeInputs = inputs.Where(i => !_initializers.ContainsKey(i.Name)).ToArray();
    }

    /// <summary>The graph's name (may be empty).</summary>
    public string Name { get; }

    /// <summary>The nodes in a topological order (every node after the producers of its inputs).</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>The initializers (weights and constants), decoded and size-checked.</summary>
    public IReadOnlyList<OnnxTensor> Initializers { get; }

    /// <summary>The declared graph inputs, including any that are also initializers (older exporters list weights here).</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>The inputs a caller must feed: <see cref="Inputs"/> minus those that have an initializer.</summary>
    public IReadOnlyList<OnnxValueInfo> RuntimeInputs { get; }

    /// <summary>The declared graph outputs.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Declared types of intermediate values (optional in ONNX; often empty).</summary>
    public IReadOnlyList<OnnxValueInfo> ValueInfo { get; }

    /// <summary>Names a subgraph uses from its enclosing graph (empty for a main graph).</summary>
    internal IReadOnlySet<string> OuterReferences { get; }

    /// <summary>The initializer named <paramref name="name"/>, if any.</summary>
    public bool TryGetInitializer(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out OnnxTensor tensor) =>
        _initializers.TryGetValue(name, out tensor);

    /// <summary>Decodes and validates <paramref name="g"/>. <paramref name="outerScope"/> holds the names visible from enclosing graphs.</summary>
    internal static OnnxGraph Decode(GraphProto g, string source, IReadOnlySet<string> outerScope, int depth)
    {
        string graphLabel = g.Name.Length > 0 ? $"graph '{g.Name}'" : "graph";
        OnnxFormatException Fail(string detail) => new(source, $"{graphLabel}: {detail}", null);
        if (depth > MaxNesting) throw Fail($"subgraphs are nested more than {MaxNesting} deep");
        if (g.SparseInitializer.Count > 0)
            throw Fail($"sparse initializer '{g.SparseInitializer[0].Values?.Name}' is not supported");

        var initializers = new List<OnnxTensor>(g.Initializer.Count);
        var initializerNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in g.Initializer)
        {
            if (t.Name.Length == 0) throw Fail($"initializer #{initializers.Count} has no name");
            if (!initializerNames.Add(t.Name)) throw Fail($"two initializers are named '{t.Name}'");
            initializers.Add(OnnxTensors.Decode(t, source, $"{graphLabel}: initializer '{t.Name}'"));
        }

        var inputs = g.Input.Select(DecodeValueInfo).ToArray();
        var inputNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in inputs)
        {
            if (i.Name.Length == 0) throw Fail("a graph input has no name");
            if (!inputNames.Add(i.Name)) throw Fail($"two graph inputs are named '{i.Name}'");
        }

        // Everything visible before any node runs.
        var available = new HashSet<string>(outerScope, StringComparer.Ordinal);
        available.UnionWith(inputNames);
        available.UnionWith(initializerNames);

        // Producers of node outputs; names must be unique within the graph (SSA form).
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int n = 0; n < g.Node.Count; n++)
        {
            foreach (string output in g.Node[n].Output)
            {
                if (output.Length == 0) continue;
                if (producer.TryGetValue(output, out int other))
                    throw Fail($"value '{output}' is produced twice: by {Describe(g.Node[other], other)} and by {Describe(g.Node[n], n)}");
                if (inputNames.Contains(output) || initializerNames.Contains(output))
                    throw Fail($"{Describe(g.Node[n], n)} output '{output}' redefines a graph {(inputNames.Contains(output) ? "input" : "initializer")}");
                producer.Add(output, n);
            }
        }

        // Names visible inside this graph's subgraphs: everything defined here plus the outer scope.
        var scopeForSubgraphs = new HashSet<string>(available, StringComparer.Ordinal);
        scopeForSubgraphs.UnionWith(producer.Keys);

        var outerReferences = new HashSet<string>(StringComparer.Ordinal);
        var nodes = new OnnxNode[g.Node.Count];
        var dependencies = new List<int>[g.Node.Count];
        for (int n = 0; n < g.Node.Count; n++)
        {
            var proto = g.Node[n];
            if (proto.OpType.Length == 0) throw Fail($"{Describe(proto, n)} has no op_type");
            var attributes = proto.Attribute.Select(a => DecodeAttribute(a, proto, n, source, graphLabel, scopeForSubgraphs, depth)).ToArray();
            var node = new OnnxNode(n, proto.Name, proto.OpType, proto.Domain, proto.Input.ToArray(), proto.Output.ToArray(), attributes);
            nodes[n] = node;

            // Explicit inputs plus the outer values its subgraphs use (they must be computed first too).
            var used = proto.Input.Where(i => i.Length > 0)
                .Concat(attributes.SelectMany(a => a.Graph is null ? a.Graphs : [a.Graph]).SelectMany(sub => sub.OuterReferences));
            var deps = new List<int>();
            foreach (string input in used)
            {
                if (producer.TryGetValue(input, out int p))
                {
                    if (p == n) throw Fail($"{node.DisplayName} consumes its own output '{input}'");
                    deps.Add(p);
                }
                else if (!available.Contains(input))
                    throw Fail($"{node.DisplayName} input '{input}' is not produced by any node, graph input or initializer");
                if (outerScope.Contains(input) && !producer.ContainsKey(input) && !inputNames.Contains(input) && !initializerNames.Contains(input))
                    outerReferences.Add(input);
            }
            dependencies[n] = deps;
        }

        foreach (var output in g.Output)
        {
            if (output.Name.Length == 0) throw Fail("a graph output has no name");
            if (!available.Contains(output.Name) && !producer.ContainsKey(output.Name))
                throw Fail($"graph output '{output.Name}' is not produced by any node, graph input or initializer");
            if (outerScope.Contains(output.Name) && !producer.ContainsKey(output.Name) && !inputNames.Contains(output.Name) && !initializerNames.Contains(output.Name))
                outerReferences.Add(output.Name);
        }

        var ordered = TopologicalOrder(nodes, dependencies, graphLabel, source);
        return new OnnxGraph(g.Name, ordered, initializers, inputs, g.Output.Select(DecodeValueInfo).ToArray(),
            g.ValueInfo.Select(DecodeValueInfo).ToArray(), outerReferences);
    }

    /// <summary>Kahn's algorithm, always taking the lowest file index that is ready, so sorted files keep their order.</summary>
    private static OnnxNode[] TopologicalOrder(OnnxNode[] nodes, List<int>[] dependencies, string graphLabel, string source)
    {
        int count = nodes.Length;
        var remaining = new int[count];
        var dependents = new List<int>[count];
        for (int n = 0; n < count; n++) dependents[n] = [];
        for (int n = 0; n < count; n++)
        {
            foreach (int d in dependencies[n].Distinct())
            {
                remaining[n]++;
                dependents[d].Add(n);
            }
        }
        var ready = new PriorityQueue<int, int>();
        for (int n = 0; n < count; n++) if (remaining[n] == 0) ready.Enqueue(n, n);
        var order = new List<OnnxNode>(count);
        while (ready.TryDequeue(out int n, out _))
        {
            order.Add(nodes[n]);
            foreach (int m in dependents[n])
                if (--remaining[m] == 0) ready.Enqueue(m, m);
        }
        if (order.Count == count) return order.ToArray();

        // Every node left waits on another node left, so following dependencies must come back to a node: a cycle.
        int start = Array.FindIndex(remaining, r => r > 0);
        var path = new List<int>();
        var seenAt = new Dictionary<int, int>();
        int current = start;
        while (!seenAt.ContainsKey(current))
        {
            seenAt[current] = path.Count;
            path.Add(current);
            current = dependencies[current].First(d => remaining[d] > 0);
        }
        var cycle = path.Skip(seenAt[current]).Reverse().Append(path[^1]).Select(i => nodes[i].DisplayName);
        throw new OnnxFormatException(source, $"{graphLabel}: the data flow has a cycle: {string.Join(" -> ", cycle)}", null);
    }

    private static OnnxAttribute DecodeAttribute(AttributeProto a, NodeProto node, int index, string source, string graphLabel,
        IReadOnlySet<string> scope, int depth)
    {
        string context = $"{graphLabel}: {Describe(node, index)} attribute '{a.Name}'";
        OnnxFormatException Fail(string detail) => new(source, $"{context} {detail}", null);
        if (a.Name.Length == 0) throw new OnnxFormatException(source, $"{graphLabel}: {Describe(node, index)} has an attribute with no name", null);
        var type = a.Type != AttributeProto.Types.AttributeType.Undefined ? (OnnxAttributeType)(int)a.Type : InferType(a);
        if (!Enum.IsDefined(type)) throw Fail($"has unknown type {(int)a.Type}");
        return type switch
        {
            OnnxAttributeType.Float => new OnnxAttribute(a.Name, type) { Float = a.F },
            OnnxAttributeType.Int => new OnnxAttribute(a.Name, type) { Int = a.I },
            OnnxAttributeType.String => new OnnxAttribute(a.Name, type) { String = a.S.ToStringUtf8() },
            OnnxAttributeType.Tensor => new OnnxAttribute(a.Name, type)
            {
                Tensor = OnnxTensors.Decode(a.T ?? throw Fail("is TENSOR but holds no tensor"), source, $"{context} tensor"),
            },
            OnnxAttributeType.Graph => new OnnxAttribute(a.Name, type)
            {
                Graph = Decode(a.G ?? throw Fail("is GRAPH but holds no graph"), source, scope, depth + 1),
            },
            OnnxAttributeType.Floats => new OnnxAttribute(a.Name, type) { Floats = a.Floats.ToArray() },
            OnnxAttributeType.Ints => new OnnxAttribute(a.Name, type) { Ints = a.Ints.ToArray() },
            OnnxAttributeType.Strings => new OnnxAttribute(a.Name, type) { Strings = a.Strings.Select(s => s.ToStringUtf8()).ToArray() },
            OnnxAttributeType.Tensors => new OnnxAttribute(a.Name, type)
            {
                Tensors = a.Tensors.Select((t, i) => OnnxTensors.Decode(t, source, $"{context} tensor #{i}")).ToArray(),
            },
            OnnxAttributeType.Graphs => new OnnxAttribute(a.Name, type)
            {
                Graphs = a.Graphs.Select(sub => Decode(sub, source, scope, depth + 1)).ToArray(),
            },
            OnnxAttributeType.Undefined => throw Fail("has no type and no value"),
            _ => new OnnxAttribute(a.Name, type),
        };
    }

    /// <summary>Old files may leave <c>type</c> unset; the populated field tells which value the attribute holds.</summary>
    private static OnnxAttributeType InferType(AttributeProto a) =>
        a.HasF ? OnnxAttributeType.Float
        : a.HasI ? OnnxAttributeType.Int
        : a.HasS ? OnnxAttributeType.String
        : a.T is not null ? OnnxAttributeType.Tensor
        : a.G is not null ? OnnxAttributeType.Graph
        : a.Floats.Count > 0 ? OnnxAttributeType.Floats
        : a.Ints.Count > 0 ? OnnxAttributeType.Ints
        : a.Strings.Count > 0 ? OnnxAttributeType.Strings
        : a.Tensors.Count > 0 ? OnnxAttributeType.Tensors
        : a.Graphs.Count > 0 ? OnnxAttributeType.Graphs
        : OnnxAttributeType.Undefined;

    private static OnnxValueInfo DecodeValueInfo(ValueInfoProto v)
    {
        var tensorType = v.Type?.TensorType;
        if (tensorType is null) return new OnnxValueInfo(v.Name, false, OnnxDataType.Undefined, null);
        var elementType = tensorType.ElemType is >= 0 and <= 16 ? (OnnxDataType)tensorType.ElemType : OnnxDataType.Undefined;
        var shape = tensorType.Shape?.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => new OnnxDimension(d.DimValue, null),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => new OnnxDimension(null, d.DimParam),
            _ => new OnnxDimension(null, null),
        }).ToArray();
        return new OnnxValueInfo(v.Name, true, elementType, shape);
    }

    private static string Describe(NodeProto node, int index) =>
        node.Name.Length > 0 ? $"node '{node.Name}' ({node.OpType})" : $"node #{index} ({node.OpType})";
}
