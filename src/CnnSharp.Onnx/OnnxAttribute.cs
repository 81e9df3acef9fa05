namespace CnnSharp.Onnx;

/// <summary>Types of ONNX node attributes, with the numeric values the format uses.</summary>
public enum OnnxAttributeType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>One float.</summary>
    Float = 1,
    /// <summary>One int64.</summary>
    Int = 2,
    /// <summary>A byte string (usually UTF-8 text).</summary>
    String = 3,
    /// <summary>A tensor.</summary>
    Tensor = 4,
    /// <summary>A subgraph (If, Loop, Scan).</summary>
    Graph = 5,
    /// <summary>A list of floats.</summary>
    Floats = 6,
    /// <summary>A list of int64.</summary>
    Ints = 7,
    /// <summary>A list of byte strings.</summary>
    Strings = 8,
    /// <summary>A list of tensors.</summary>
    Tensors = 9,
    /// <summary>A list of subgraphs.</summary>
    Graphs = 10,
    /// <summary>A sparse tensor (kept as its type only).</summary>
    SparseTensor = 11,
    /// <summary>A list of sparse tensors (kept as its type only).</summary>
    SparseTensors = 12,
    /// <summary>A type description (kept as its type only).</summary>
    TypeProto = 13,
    /// <summary>A list of type descriptions (kept as its type only).</summary>
    TypeProtos = 14,
}

/// <summary>A node attribute: its name, type and value. Only the accessor matching <see cref="Type"/> holds data.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix",
    Justification = "ONNX's own term (AttributeProto); this is not a .NET attribute.")]
public sealed class OnnxAttribute
{
    internal OnnxAttribute(string name, OnnxAttributeType type)
    {
        Name = name;
        Type = type;
    }

    /// <summary>The attribute name, e.g. <c>kernel_shape</c>.</summary>
    public string Name { get; }

    /// <summary>Which value the attribute holds.</summary>
    public OnnxAttributeType Type { get; }

    /// <summary>The value of a <see cref="OnnxAttributeType.Float"/> attribute.</summary>
    public float Float { get; internal init; }

    /// <summary>The value of an <see cref="OnnxAttributeType.Int"/> attribute.</summary>
    public long Int { get; internal init; }

    /// <summary>The value of a <see cref="OnnxAttributeType.String"/> attribute, decoded as UTF-8.</summary>
    public string String { get; internal init; } = "";

    /// <summary>The value of a <see cref="OnnxAttributeType.Tensor"/> attribute.</summary>
    public OnnxTensor? Tensor { get; internal init; }

    /// <summary>The value of a <see cref="OnnxAttributeType.Graph"/> attribute.</summary>
    public OnnxGraph? Graph { get; internal init; }

    /// <summary>The value of a <see cref="OnnxAttributeType.Floats"/> attribute.</summary>
    public IReadOnlyList<float> Floats { get; internal init; } = [];

    /// <summary>The value of an <see cref="OnnxAttributeType.Ints"/> attribute.</summary>
    public IReadOnlyList<long> Ints { get; internal init; } = [];

    /// <summary>The value of a <see cref="OnnxAttributeType.Strings"/> attribute, decoded as UTF-8.</summary>
    public IReadOnlyList<string> Strings { get; internal init; } = [];

    /// <summary>The value of a <see cref="OnnxAttributeType.Tensors"/> attribute.</summary>
    public IReadOnlyList<OnnxTensor> Tensors { get; internal init; } = [];

    /// <summary>The value of a <see cref="OnnxAttributeType.Graphs"/> attribute.</summary>
    public IReadOnlyList<OnnxGraph> Graphs { get; internal init; } = [];

    /// <inheritdoc />
    public override string ToString() => Type switch
    {
        OnnxAttributeType.Float => $"{Name}={Float}",
        OnnxAttributeType.Int => $"{Name}={Int}",
        OnnxAttributeType.String => $"{Name}=\"{String}\"",
        OnnxAttributeType.Floats => $"{Name}=[{string.Join(", ", Floats)}]",
        OnnxAttributeType.Ints => $"{Name}=[{string.Join(", ", Ints)}]",
        OnnxAttributeType.Strings => $"{Name}=[{string.Join(", ", Strings.Select(s => "\"" + s + "\""))}]",
        OnnxAttributeType.Tensor => $"{Name}={Tensor}",
        _ => $"{Name} ({Type})",
    };
}
