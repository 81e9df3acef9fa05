using CnnSharp.Onnx;
using CnnSharp.Onnx.Protos;
using Google.Protobuf;

namespace CnnSharp.Tests.Onnx;

/// <summary>Builds small ONNX models in memory for runtime tests (inputs, initializers, nodes with attributes, outputs).</summary>
internal sealed class OnnxTestGraph
{
    private readonly GraphProto _graph = new() { Name = "test" };
    private readonly List<OperatorSetIdProto> _opsets = [];

    public OnnxTestGraph(int opset = 13) => _opsets.Add(new OperatorSetIdProto { Domain = "", Version = opset });

    /// <summary>A graph input; a dimension of -1 is left unknown, a string dimension is symbolic.</summary>
    public OnnxTestGraph Input(string name, params object[] dims) => Input(name, TensorProto.Types.DataType.Float, dims);

    public OnnxTestGraph Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        _graph.Input.Add(Value(name, type, dims));
        return this;
    }

    /// <summary>A float graph input of unknown rank.</summary>
    public OnnxTestGraph InputOfAnyShape(string name)
    {
        _graph.Input.Add(new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
        });
        return this;
    }

    public OnnxTestGraph Output(string name, params object[] dims)
    {
        _graph.Output.Add(Value(name, TensorProto.Types.DataType.Float, dims));
        return this;
    }

    public OnnxTestGraph Initializer(string name, float[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.Add(dims);
        t.FloatData.Add(values);
        _graph.Initializer.Add(t);
        return this;
    }

    public OnnxTestGraph Initializer(string name, long[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(dims);
        t.Int64Data.Add(values);
        _graph.Initializer.Add(t);
        return this;
    }

    /// <summary>Adds a node; attribute values may be long, float, string, long[], float[] or a TensorProto.</summary>
    public OnnxTestGraph Node(string op, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes) =>
        DomainNode("", op, name, inputs, outputs, attributes);

    public OnnxTestGraph DomainNode(string domain, string op, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = name, Domain = domain };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        foreach (var (attrName, value) in attributes) n.Attribute.Add(Attribute(attrName, value));
        _graph.Node.Add(n);
        return this;
    }

    public OnnxModel Build() => OnnxModel.Parse(ToBytes(), "test.onnx");

    public OnnxSession Session(OnnxSessionOptions? options = null) => new(Build(), options);

    public byte[] ToBytes()
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = _graph };
        model.OpsetImport.AddRange(_opsets);
        return model.ToByteArray();
    }

    public static TensorProto Int64Tensor(params long[] values)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.Add(values);
        return t;
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.Add(ls); break;
            case float[] fs: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.Add(fs); break;
            case TensorProto t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = t; break;
            default: throw new ArgumentException($"unsupported attribute value {value}");
        }
        return a;
    }

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() };
        {
            foreach (object d in dims)
            {
                tensorType.Shape.Dim.Add(d switch
                {
                    string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                    int i when i < 0 => new TensorShapeProto.Types.Dimension(),
                    int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                    _ => throw new ArgumentException($"bad dimension {d}"),
                });
            }
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }
}
