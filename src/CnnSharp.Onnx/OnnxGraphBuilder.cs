using CnnSharp.IO;
using CnnSharp.Onnx.Protos;
using Google.Protobuf;

namespace CnnSharp.Onnx;

/// <summary>Accumulates the nodes and initializers of one ONNX graph with unique names (used by <see cref="OnnxExporter"/>).</summary>
internal sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph = new() { Name = "cnnsharp" };
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _int64Constants = new(StringComparer.Ordinal);

    public GraphProto Graph => _graph;

    /// <summary>Reserves <paramref name="wanted"/>, or the first free <c>wanted_1</c>, <c>wanted_2</c>, ...</summary>
    public string UniqueName(string wanted)
    {
        if (_names.Add(wanted)) return wanted;
        for (int i = 1; ; i++)
        {
            string candidate = $"{wanted}_{i}";
            if (_names.Add(candidate)) return candidate;
        }
    }

    /// <summary>
    /// Adds a node with one output and returns the output's name. <paramref name="scope"/> is the module path the node
    /// belongs to (names the node <c>/scope/Op</c> as PyTorch does).
    /// </summary>
    public string Node(string scope, string opType, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string prefix = scope.Length == 0 ? $"/{opType}" : $"/{scope.Replace('.', '/')}/{opType}";
        var node = new NodeProto { OpType = opType, Name = UniqueName(prefix) };
        node.Input.AddRange(inputs);
        string output = UniqueName(node.Name + "_output_0");
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        _producers.Add(output, node);
        return output;
    }

    /// <summary>Adds a FLOAT initializer holding a copy of <paramref name="tensor"/> and returns its (unique) name.</summary>
    public string Initializer(string wanted, Tensor tensor) => Initializer(wanted, tensor.Data, tensor.Shape.Dims.ToArray());

    /// <summary>Adds a FLOAT initializer with the given values and shape and returns its (unique) name.</summary>
    public string Initializer(string wanted, ReadOnlySpan<float> values, int[] dims)
    {
        string name = UniqueName(wanted);
        var proto = new TensorProto { Name = name, DataType = (int)OnnxDataType.Float, RawData = ByteString.CopyFrom(ElementCodec.FromFloat32(values, ElementKind.Float32)) };
        foreach (int d in dims) proto.Dims.Add(d);
        _graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>A 1-D INT64 initializer with <paramref name="values"/>, shared by every caller asking for the same values.</summary>
    public string Int64Vector(string wanted, params long[] values)
    {
        string key = string.Join(",", values);
        if (_int64Constants.TryGetValue(key, out var existing)) return existing;
        string name = UniqueName(wanted);
        var proto = new TensorProto { Name = name, DataType = (int)OnnxDataType.Int64, RawData = ByteString.CopyFrom(ElementCodec.FromInt64(values, ElementKind.Int64)) };
        proto.Dims.Add(values.Length);
        _graph.Initializer.Add(proto);
        _int64Constants.Add(key, name);
        return name;
    }

    /// <summary>Declares a FLOAT graph input; dimensions that are null are symbolic (<paramref name="symbolic"/>).</summary>
    public void Input(string name, IReadOnlyList<int?> dims, string symbolic)
    {
        _names.Add(name);
        _graph.Input.Add(ValueInfo(name, dims, symbolic));
    }

    /// <summary>Makes <paramref name="value"/> the graph output named <paramref name="name"/> (renaming its producer's output).</summary>
    public void Output(string value, string name, IReadOnlyList<int?> dims, string symbolic)
    {
        if (_producers.TryGetValue(value, out var producer) && !_graph.Node.Any(n => n.Input.Contains(value)))
        {
            int i = producer.Output.IndexOf(value);
            producer.Output[i] = UniqueName(name);
        }
        else
        {
            // The value is the graph input itself or feeds another node too: expose it through an Identity.
            var node = new NodeProto { OpType = "Identity", Name = UniqueName("/Identity_output") };
            node.Input.Add(value);
            node.Output.Add(UniqueName(name));
            _graph.Node.Add(node);
        }
        _graph.Output.Add(ValueInfo(name, dims, symbolic));
    }

    private static ValueInfoProto ValueInfo(string name, IReadOnlyList<int?> dims, string symbolic)
    {
        var shape = new TensorShapeProto();
        foreach (int? d in dims)
            shape.Dim.Add(d is int v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = symbolic });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)OnnxDataType.Float, Shape = shape } },
        };
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
