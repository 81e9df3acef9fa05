namespace CnnSharp.Onnx;

/// <summary>One operator application in an ONNX graph: <c>outputs = OpType[attributes](inputs)</c>.</summary>
public sealed class OnnxNode
{
    private readonly Dictionary<string, OnnxAttribute> _attributes;

    internal OnnxNode(int index, string name, string opType, string domain, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        IReadOnlyList<OnnxAttribute> attributes)
    {
        Index = index;
        Name = name;
        OpType = opType;
        Domain = domain;
        Inputs = inputs;
        Outputs = outputs;
        Attributes = attributes;
        _attributes = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        foreach (var a in attributes) _attributes[a.Name] = a;
    }

    /// <summary>Position of the node in the file's node list (before topological ordering).</summary>
    public int Index { get; }

    /// <summary>The node's name (may be empty; see <see cref="DisplayName"/>).</summary>
    public string Name { get; }

    /// <summary>The operator, e.g. <c>Conv</c>.</summary>
    public string OpType { get; }

    /// <summary>The operator's domain: empty (or <c>ai.onnx</c>) for the standard operators.</summary>
    public string Domain { get; }

    /// <summary>Input value names in order; an empty name marks an omitted optional input.</summary>
    public IReadOnlyList<string> Inputs { get; }

    /// <summary>Output value names in order; an empty name marks an omitted optional output.</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <summary>The attributes in file order.</summary>
    public IReadOnlyList<OnnxAttribute> Attributes { get; }

    /// <summary>How messages refer to the node: <c>node 'Conv_0' (Conv)</c>, or by index when unnamed.</summary>
    public string DisplayName => Name.Length > 0 ? $"node '{Name}' ({OpType})" : $"node #{Index} ({OpType})";

    /// <summary>The attribute named <paramref name="name"/>, or null.</summary>
    public OnnxAttribute? FindAttribute(string name) => _attributes.GetValueOrDefault(name);

    /// <inheritdoc />
    public override string ToString() =>
        $"{DisplayName}: ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})" +
        (Attributes.Count > 0 ? " [" + string.Join("; ", Attributes) + "]" : "");
}
