using CnnSharp.Onnx;
using CnnSharp.Onnx.Protos;
using CnnSharp.Tests.TestUtilities;
using Google.Protobuf;

namespace CnnSharp.Tests.Onnx;

public sealed class OnnxModelTests
{
    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        return n;
    }

    private static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static TensorProto Initializer(string name, params float[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.Add(values.Length);
        t.FloatData.Add(values);
        return t;
    }

    /// <summary>y = Relu(x + b): a two-node model with one initializer.</summary>
    private static ModelProto Model(Action<GraphProto>? edit = null)
    {
        var graph = new GraphProto { Name = "g" };
        graph.Input.Add(Value("x", 1, 2));
        graph.Initializer.Add(Initializer("b", 1f, 2f));
        graph.Node.Add(Node("Add", "add", ["x", "b"], ["s"]));
        graph.Node.Add(Node("Relu", "relu", ["s"], ["y"]));
        graph.Output.Add(Value("y", 1, 2));
        edit?.Invoke(graph);
        var model = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    private static OnnxModel Parse(ModelProto model) => OnnxModel.Parse(model.ToByteArray(), "m.onnx");

    private static OnnxFormatException Fails(ModelProto model, params string[] fragments)
    {
        var ex = Assert.Throws<OnnxFormatException>(() => Parse(model));
        Assert.StartsWith("m.onnx: ", ex.Message);
        Assert.Equal("m.onnx", ex.FileName);
        foreach (string f in fragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    [Fact]
    public void Valid_model_exposes_graph_in_file_order()
    {
        var model = Parse(Model());

        Assert.Equal(13, model.Opset);
        Assert.Equal("test", model.ProducerName);
        Assert.Equal(["add", "relu"], model.Graph.Nodes.Select(n => n.Name));
        Assert.Equal(["x", "b"], model.Graph.Nodes[0].Inputs);
        Assert.Equal([1f, 2f], Assert.Single(model.Graph.Initializers).ToFloatArray());
        Assert.Equal("x", Assert.Single(model.Graph.RuntimeInputs).Name);
    }

    [Fact]
    public void Nodes_listed_out_of_order_are_sorted_topologically()
    {
        var model = Parse(Model(g =>
        {
            var relu = g.Node[1];
            g.Node.RemoveAt(1);
            g.Node.Insert(0, relu);
        }));

        Assert.Equal(["add", "relu"], model.Graph.Nodes.Select(n => n.Name));
        Assert.Equal(1, model.Graph.Nodes[0].Index);
    }

    [Fact]
    public void Initializer_also_listed_as_graph_input_is_not_a_runtime_input()
    {
        var model = Parse(Model(g => g.Input.Add(Value("b", 2))));

        Assert.Equal(["x", "b"], model.Graph.Inputs.Select(i => i.Name));
        Assert.Equal(["x"], model.Graph.RuntimeInputs.Select(i => i.Name));
    }

    [Fact]
    public void Undefined_node_input_is_rejected_naming_node_and_value()
    {
        var ex = Fails(Model(g => g.Node[1].Input[0] = "nowhere"), "graph 'g': node 'relu' (Relu) input 'nowhere' is not produced by any node, graph input or initializer");
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public void Cycle_is_rejected_naming_the_nodes_in_it()
    {
        var model = Model(g =>
        {
            g.Node[0].Input[0] = "y"; // add consumes relu's output, relu consumes add's
        });
        Fails(model, "the data flow has a cycle", "node 'add' (Add)", "node 'relu' (Relu)");
    }

    [Fact]
    public void Node_consuming_its_own_output_is_rejected()
    {
        Fails(Model(g => g.Node[1].Input[0] = "y"), "node 'relu' (Relu) consumes its own output 'y'");
    }

    [Fact]
    public void Value_produced_twice_is_rejected()
    {
        Fails(Model(g => g.Node[1].Output[0] = "s"), "value 's' is produced twice: by node 'add' (Add) and by node 'relu' (Relu)");
        Fails(Model(g => g.Node[0].Output[0] = "b"), "node 'add' (Add) output 'b' redefines a graph initializer");
    }

    [Fact]
    public void Graph_output_that_nothing_produces_is_rejected()
    {
        Fails(Model(g => g.Output.Add(Value("ghost", 1))), "graph output 'ghost' is not produced");
    }

    [Fact]
    public void Duplicate_or_unnamed_initializers_are_rejected()
    {
        Fails(Model(g => g.Initializer.Add(Initializer("b", 3f))), "two initializers are named 'b'");
        Fails(Model(g => g.Initializer.Add(Initializer("", 3f))), "initializer #1 has no name");
    }

    [Fact]
    public void Malformed_initializer_is_rejected_naming_it()
    {
        Fails(Model(g => g.Initializer[0].Dims[0] = 3), "graph 'g': initializer 'b' float_data has 2 values but FLOAT (3) needs 3");
    }

    [Fact]
    public void External_data_initializer_is_rejected()
    {
        Fails(Model(g =>
        {
            var t = g.Initializer[0];
            t.FloatData.Clear();
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "/etc/shadow" });
        }), "initializer 'b' stores its data in an external file (location '/etc/shadow')");
    }

    [Fact]
    public void Missing_opset_or_graph_is_rejected()
    {
        var noOpset = Model();
        noOpset.OpsetImport.Clear();
        noOpset.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx.ml", Version = 3 });
        Fails(noOpset, "declares no opset for the standard ONNX domain", "'ai.onnx.ml' v3");

        var noGraph = Model();
        noGraph.Graph = null;
        Fails(noGraph, "has no graph");
    }

    [Fact]
    public void Node_without_op_type_is_rejected()
    {
        Fails(Model(g => g.Node[0].OpType = ""), "node 'add' () has no op_type");
    }

    [Fact]
    public void Attributes_decode_every_value_kind_and_infer_missing_types()
    {
        var model = Parse(Model(g =>
        {
            var n = g.Node[0];
            n.Attribute.Add(new AttributeProto { Name = "f", Type = AttributeProto.Types.AttributeType.Float, F = 0.5f });
            n.Attribute.Add(new AttributeProto { Name = "i", I = 3 }); // type left unset, as in old files
            n.Attribute.Add(new AttributeProto { Name = "s", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("SAME_UPPER") });
            var ints = new AttributeProto { Name = "ints", Type = AttributeProto.Types.AttributeType.Ints };
            ints.Ints.Add([1, 2, 3]);
            n.Attribute.Add(ints);
            n.Attribute.Add(new AttributeProto { Name = "t", Type = AttributeProto.Types.AttributeType.Tensor, T = Initializer("", 9f) });
        }));

        var node = model.Graph.Nodes[0];
        Assert.Equal(0.5f, node.FindAttribute("f")!.Float);
        Assert.Equal(OnnxAttributeType.Int, node.FindAttribute("i")!.Type);
        Assert.Equal(3L, node.FindAttribute("i")!.Int);
        Assert.Equal("SAME_UPPER", node.FindAttribute("s")!.String);
        Assert.Equal([1L, 2L, 3L], node.FindAttribute("ints")!.Ints);
        Assert.Equal([9f], node.FindAttribute("t")!.Tensor!.ToFloatArray());
        Assert.Null(node.FindAttribute("missing"));
    }

    [Fact]
    public void Subgraph_may_use_outer_values_but_not_undefined_ones()
    {
        GraphProto Body(string used)
        {
            var body = new GraphProto { Name = "then" };
            body.Node.Add(Node("Identity", "inner", [used], ["z"]));
            body.Output.Add(Value("z", 1, 2));
            return body;
        }
        ModelProto WithIf(string used) => Model(g =>
        {
            var cond = new TensorProto { Name = "c", DataType = (int)TensorProto.Types.DataType.Bool };
            cond.Int32Data.Add(1);
            g.Initializer.Add(cond);
            var node = Node("If", "if", ["c"], ["w"]);
            node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Body(used) });
            g.Node.Insert(0, node); // listed first, but its body reads 's' (made by 'add'), so it must run after 'add'
        });

        var model = Parse(WithIf("s"));
        Assert.Equal(["add", "if", "relu"], model.Graph.Nodes.Select(n => n.Name));
        Assert.Equal("Identity", model.Graph.Nodes[1].FindAttribute("then_branch")!.Graph!.Nodes[0].OpType);

        Fails(WithIf("undefined"), "graph 'then': node 'inner' (Identity) input 'undefined' is not produced");
    }

    [Fact]
    public void Malformed_protobuf_gives_onnx_format_exception_naming_the_file()
    {
        using var dir = new TempDirectory();
        string path = dir.File("broken.onnx");
        // Field 7 (graph), length-delimited, claiming ~2 GB with four bytes present.
        File.WriteAllBytes(path, [0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 1, 2, 3, 4]);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.StartsWith(path + ": not a valid ONNX ModelProto (10 bytes)", ex.Message);
        Assert.IsType<InvalidProtocolBufferException>(ex.InnerException);
        Assert.True(allocated < 1_000_000, $"rejecting the file allocated {allocated} bytes");
    }

    [Fact]
    public void Random_bytes_and_truncations_only_ever_give_onnx_format_exceptions()
    {
        byte[] good = Model().ToByteArray();
        var rng = new Random(1234);
        int rejected = 0;
        for (int trial = 0; trial < 500; trial++)
        {
            byte[] bytes = trial switch
            {
                < 100 => good[..rng.Next(good.Length)],
                < 400 => Mutate(good, rng),
                _ => RandomBytes(rng),
            };
            try
            {
                OnnxModel.Parse(bytes, "fuzz.onnx");
            }
            catch (OnnxFormatException ex)
            {
                Assert.StartsWith("fuzz.onnx: ", ex.Message);
                rejected++;
            }
        }
        Assert.True(rejected > 250, $"only {rejected} of 500 corrupted inputs were rejected");
    }

    private static byte[] Mutate(byte[] good, Random rng)
    {
        var copy = (byte[])good.Clone();
        for (int k = rng.Next(1, 4); k > 0; k--) copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
        return copy;
    }

    private static byte[] RandomBytes(Random rng)
    {
        var bytes = new byte[rng.Next(1, 64)];
        rng.NextBytes(bytes);
        return bytes;
    }
}
