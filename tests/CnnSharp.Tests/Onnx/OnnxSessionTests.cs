using CnnSharp.Onnx;
using static CnnSharp.Onnx.Protos.TensorProto.Types;

namespace CnnSharp.Tests.Onnx;

/// <summary>Load-time validation, run-time input checks and the session's own behaviour (defaults, folding, buffer ownership).</summary>
public sealed class OnnxSessionTests
{
    private static Dictionary<string, Tensor> Feed(params (string Name, Tensor Value)[] inputs) =>
        inputs.ToDictionary(p => p.Name, p => p.Value);

    private static OnnxTestGraph ReluGraph() =>
        new OnnxTestGraph().Input("x", "N", 3).Node("Relu", "relu_0", ["x"], ["y"]).Output("y");

    [Fact]
    public void Unsupported_operator_fails_at_load_naming_node_and_operator()
    {
        var graph = new OnnxTestGraph().Input("x", 2).Node("Relu", "r", ["x"], ["h"]).Node("Erf", "erf_7", ["h"], ["y"]).Output("y");

        var ex = Assert.Throws<OnnxUnsupportedException>(() => graph.Session());

        Assert.Contains("test.onnx", ex.Message);
        Assert.Contains("node 'erf_7' (Erf)", ex.Message);
        Assert.Contains("operator 'Erf' is not supported", ex.Message);
        Assert.Equal("erf_7", ex.NodeName);
        Assert.Equal("Erf", ex.OpType);
        Assert.Null(ex.AttributeName);
    }

    [Fact]
    public void Unsupported_attribute_fails_at_load_naming_the_attribute()
    {
        var graph = new OnnxTestGraph().Input("x", 1, 1, 4, 4).Initializer("w", new float[9], 1, 1, 3, 3)
            .Node("Conv", "conv_1", ["x", "w"], ["y"], ("kernel_shape", new long[] { 3, 3 }), ("fancy_mode", 1L)).Output("y");

        var ex = Assert.Throws<OnnxUnsupportedException>(() => graph.Session());

        Assert.Contains("node 'conv_1' (Conv)", ex.Message);
        Assert.Contains("attribute 'fancy_mode' is not supported", ex.Message);
        Assert.Equal("fancy_mode", ex.AttributeName);
        Assert.Equal("Conv", ex.OpType);
    }

    [Theory]
    [InlineData("Pad", "mode", "wrap")]
    [InlineData("Conv", "auto_pad", "SAME_MIDDLE")]
    [InlineData("MaxPool", "auto_pad", "FULL")]
    public void Unsupported_attribute_value_fails_at_load_naming_attribute_and_value(string op, string attribute, string value)
    {
        var graph = new OnnxTestGraph().Input("x", 1, 1, 4, 4).Initializer("w", new float[9], 1, 1, 3, 3).Initializer("pads", new long[8], 8);
        string[] inputs = op switch { "Pad" => ["x", "pads"], "Conv" => ["x", "w"], _ => ["x"] };
        var attributes = op == "MaxPool" ? new (string, object)[] { (attribute, value), ("kernel_shape", new long[] { 2, 2 }) } : [(attribute, value)];
        graph.Node(op, "n0", inputs, ["y"], attributes).Output("y");

        var ex = Assert.Throws<OnnxUnsupportedException>(() => graph.Session());

        Assert.Contains($"attribute '{attribute}' = \"{value}\" is not supported", ex.Message);
        Assert.Equal(attribute, ex.AttributeName);
    }

    [Fact]
    public void Three_dimensional_convolution_fails_at_load()
    {
        var graph = new OnnxTestGraph().Input("x", 1, 1, 4, 4, 4).Initializer("w", new float[8], 1, 1, 2, 2, 2)
            .Node("Conv", "conv3d", ["x", "w"], ["y"], ("kernel_shape", new long[] { 2, 2, 2 })).Output("y");

        var ex = Assert.Throws<OnnxUnsupportedException>(() => graph.Session());

        Assert.Contains("node 'conv3d' (Conv)", ex.Message);
        Assert.Contains("3-D windows are not supported", ex.Message);
        Assert.Equal("kernel_shape", ex.AttributeName);
    }

    [Fact]
    public void Opset_newer_than_17_fails_at_load()
    {
        var ex = Assert.Throws<OnnxUnsupportedException>(() => new OnnxTestGraph(opset: 18).Input("x", 2).Node("Relu", "r", ["x"], ["y"]).Output("y").Session());

        Assert.Contains("opset 18 is not supported", ex.Message);
        Assert.Contains("1 to 17", ex.Message);
    }

    [Fact]
    public void Operator_from_another_domain_fails_at_load()
    {
        var graph = new OnnxTestGraph().Input("x", 2).DomainNode("com.microsoft", "FusedGemm", "fg", ["x"], ["y"]).Output("y");

        var ex = Assert.Throws<OnnxUnsupportedException>(() => graph.Session());

        Assert.Contains("'com.microsoft.FusedGemm' is not supported", ex.Message);
    }

    [Fact]
    public void Operator_used_before_its_opset_fails_at_load()
    {
        var graph = new OnnxTestGraph(opset: 8).Input("s", DataType.Int64, 1).Node("ConstantOfShape", "cos", ["s"], ["y"]).Output("y");

        var ex = Assert.Throws<OnnxUnsupportedException>(() => graph.Session());

        Assert.Contains("does not exist in opset 8 (it was added in opset 9)", ex.Message);
    }

    [Fact]
    public void Constant_true_training_mode_dropout_fails_at_load()
    {
        var graph = new OnnxTestGraph().Input("x", 4).Initializer("ratio", new float[] { 0.5f }).Node("Constant", "t", [], ["training"],
                ("value", new CnnSharp.Onnx.Protos.TensorProto { DataType = (int)DataType.Bool, Int32Data = { 1 } }))
            .Node("Dropout", "drop", ["x", "ratio", "training"], ["y"]).Output("y");

        var ex = Assert.Throws<OnnxUnsupportedException>(() => graph.Session());

        Assert.Contains("node 'drop' (Dropout)", ex.Message);
        Assert.Contains("training_mode", ex.Message);
    }

    [Fact]
    public void Wrong_input_count_is_a_format_error_naming_the_node()
    {
        var graph = new OnnxTestGraph().Input("x", 2).Node("Relu", "r", ["x", "x"], ["y"]).Output("y");

        var ex = Assert.Throws<OnnxFormatException>(() => graph.Session());

        Assert.Contains("node 'r' (Relu): has 2 inputs, but Relu (opset 13) takes 1", ex.Message);
    }

    [Fact]
    public void Constant_subgraph_that_cannot_be_computed_fails_at_load()
    {
        var graph = new OnnxTestGraph().Input("x", 2).Initializer("c", new float[6], 6).Initializer("shape", new long[] { 4, -1 }, 2)
            .Node("Reshape", "bad_reshape", ["c", "shape"], ["r"]).Node("Add", "add", ["x", "r"], ["y"]).Output("y");

        var ex = Assert.Throws<OnnxFormatException>(() => graph.Session());

        Assert.Contains("node 'bad_reshape' (Reshape)", ex.Message);
        Assert.Contains("load time", ex.Message);
    }

    [Fact]
    public void Missing_input_is_reported_with_its_declared_shape()
    {
        var session = new OnnxTestGraph().Input("a", "N", 3).Input("b", "N", 3).Node("Add", "add", ["a", "b"], ["y"]).Output("y").Session();

        var ex = Assert.Throws<ArgumentException>(() => session.Run(Feed(("a", Tensor.Zeros(2, 3)))));

        Assert.Contains("missing input 'b' (FLOAT (N, 3))", ex.Message);
    }

    [Fact]
    public void Unknown_input_name_is_reported_with_the_expected_inputs()
    {
        var session = ReluGraph().Session();

        var ex = Assert.Throws<ArgumentException>(() => session.Run(Feed(("input", Tensor.Zeros(2, 3)))));

        Assert.Contains("unknown input 'input'", ex.Message);
        Assert.Contains("'x' (FLOAT (N, 3))", ex.Message);
    }

    [Fact]
    public void Wrong_input_shape_is_reported_with_both_shapes()
    {
        var session = ReluGraph().Session();

        var ex = Assert.Throws<ShapeException>(() => session.Run(Tensor.Zeros(2, 4)));

        Assert.Contains("input 'x' has shape (2, 4) but the model declares (N, 3)", ex.Message);
        Assert.Throws<ShapeException>(() => session.Run(Tensor.Zeros(3)));
    }

    [Fact]
    public void Symbolic_dimension_must_agree_across_inputs()
    {
        var session = new OnnxTestGraph().Input("a", "N", 3).Input("b", "N", 3).Node("Add", "add", ["a", "b"], ["y"]).Output("y").Session();

        var ex = Assert.Throws<ShapeException>(() => session.Run(Feed(("a", Tensor.Zeros(2, 3)), ("b", Tensor.Zeros(1, 3)))));

        Assert.Contains("dimension 'N' is 1 here but 2 in input 'a'", ex.Message);
    }

    [Fact]
    public void Wrong_input_type_is_reported()
    {
        var session = new OnnxTestGraph().Input("x", 2).Input("i", DataType.Int64, 1).Node("Gather", "g", ["x", "i"], ["y"]).Output("y").Session();

        var ex = Assert.Throws<ArgumentException>(() => session.Run(Feed(("x", Tensor.Zeros(2)), ("i", Tensor.Zeros(1)))));

        Assert.Contains("input 'i' is declared INT64 but a FLOAT tensor was given", ex.Message);
    }

    [Fact]
    public void Shape_error_inside_the_graph_names_the_node()
    {
        var session = new OnnxTestGraph().InputOfAnyShape("a").InputOfAnyShape("b").Node("Mul", "mul_3", ["a", "b"], ["y"]).Output("y").Session();

        var ex = Assert.Throws<ShapeException>(() => session.Run(Feed(("a", Tensor.Zeros(2, 3)), ("b", Tensor.Zeros(2, 4)))));

        Assert.Contains("node 'mul_3' (Mul)", ex.Message);
        Assert.Contains("(2, 3) and (2, 4) cannot be broadcast", ex.Message);
    }

    [Theory]
    [InlineData("Tile", new long[] { long.MaxValue / 2, 4 }, "out of range")]
    [InlineData("Pad", new long[] { 0, long.MaxValue, 0, long.MaxValue }, "out of range")]
    [InlineData("Split", new long[] { long.MaxValue, long.MaxValue, 4 }, "do not cut")]
    [InlineData("Reshape", new long[] { 2_000_000_000, 2_000_000_000, 2_000_000_000, -1 }, "cannot infer")]
    [InlineData("Reshape", new long[] { int.MaxValue, 1 }, "not a valid dimension")]
    [InlineData("Expand", new long[] { 1 << 20, 1 << 20, 2 }, "more than")]
    public void Hostile_shape_values_fail_with_a_shape_error_instead_of_allocating(string op, long[] values, string fragment)
    {
        // The shape-like operand is a graph input, so the error happens at run time, in the named node.
        var graph = new OnnxTestGraph().Input("x", 1, 2).Input("v", DataType.Int64, values.Length);
        string[] outputs = op == "Split" ? ["a", "b", "c"] : ["y"];
        graph.Node(op, "hostile", ["x", "v"], outputs, op == "Split" ? [("axis", 1L)] : []);
        foreach (string o in outputs) graph.Output(o);
        var session = graph.Session();
        var inputs = new Dictionary<string, OnnxTensor>
        {
            ["x"] = OnnxTensor.FromFloats("x", [1f, 2f], new Shape(1, 2)),
            ["v"] = OnnxTensor.FromInt64("v", values, new Shape(values.Length)),
        };

        var ex = Assert.Throws<ShapeException>(() => session.Run(inputs));

        Assert.Contains($"node 'hostile' ({op})", ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void Single_tensor_run_needs_a_single_input()
    {
        var session = new OnnxTestGraph().Input("a", 2).Input("b", 2).Node("Add", "add", ["a", "b"], ["y"]).Output("y").Session();

        var ex = Assert.Throws<InvalidOperationException>(() => session.Run(Tensor.Zeros(2)));

        Assert.Contains("has 2 (a, b)", ex.Message);
    }

    [Fact]
    public void Initializer_listed_as_input_is_a_default_that_a_run_can_override()
    {
        var session = new OnnxTestGraph().Input("x", 2).Input("bias", 2).Initializer("bias", [10f, 20f], 2)
            .Node("Add", "add", ["x", "bias"], ["y"]).Output("y").Session();

        Assert.Equal(["x"], session.InputNames);
        Assert.Equal([11f, 22f], session.Run(Tensor.FromArray([1f, 2f], 2)).ToArray());
        var overridden = session.Run(Feed(("x", Tensor.FromArray([1f, 2f], 2)), ("bias", Tensor.FromArray([-1f, -2f], 2))));
        Assert.Equal([0f, 0f], overridden["y"].ToArray());
        Assert.Equal([11f, 22f], session.Run(Tensor.FromArray([1f, 2f], 2)).ToArray());
    }

    [Fact]
    public void Outputs_from_an_earlier_run_are_not_overwritten_by_later_runs()
    {
        var session = new OnnxTestGraph().Input("x", 4).Node("Relu", "r", ["x"], ["h"]).Node("Neg", "n", ["h"], ["y"]).Output("y").Session();

        var first = session.Run(Tensor.FromArray([1f, -2f, 3f, -4f], 4));
        var second = session.Run(Tensor.FromArray([5f, 6f, 7f, 8f], 4));

        Assert.Equal([-1f, -0f, -3f, -0f], first.ToArray());
        Assert.Equal([-5f, -6f, -7f, -8f], second.ToArray());
    }

    [Fact]
    public void Output_that_is_a_constant_or_an_input_is_a_copy()
    {
        var session = new OnnxTestGraph().Input("x", 2).Initializer("c", [1f, 2f], 2).Node("Relu", "r", ["x"], ["h"]).Output("x").Output("c").Session();
        var x = Tensor.FromArray([3f, 4f], 2);

        var outputs = session.Run(Feed(("x", x)));
        outputs["c"].Data[0] = 100f;
        outputs["x"].Data[0] = 100f;

        Assert.Equal([3f, 4f], x.ToArray());
        Assert.Equal([1f, 2f], session.Run(Feed(("x", x)))["c"].ToArray());
    }

    [Fact]
    public void Shape_subgraph_is_recomputed_for_each_input_shape()
    {
        // y = Reshape(x, [Shape(x)[0], -1]): the shape subgraph depends only on the input's shape and is cached per shape.
        var session = new OnnxTestGraph().Input("x", "N", 2, 3).Initializer("zero", new long[] { 0 }).Initializer("minus1", new long[] { -1 }, 1)
            .Node("Shape", "shape", ["x"], ["s"])
            .Node("Gather", "batch", ["s", "zero"], ["n"], ("axis", 0L))
            .Node("Unsqueeze", "unsq", ["n", "zero"], ["n1"])
            .Node("Concat", "cat", ["n1", "minus1"], ["target"], ("axis", 0L))
            .Node("Reshape", "reshape", ["x", "target"], ["y"]).Output("y").Session();

        for (int round = 0; round < 2; round++)
        {
            foreach (int n in new[] { 1, 3, 2 })
            {
                var x = Tensor.FromArray(Enumerable.Range(0, n * 6).Select(i => (float)i).ToArray(), n, 2, 3);
                var y = session.Run(x);
                Assert.Equal(new Shape(n, 6), y.Shape);
                Assert.Equal(x.ToArray(), y.ToArray());
            }
        }
    }

    [Fact]
    public void Batch_norm_is_folded_into_the_convolution_with_the_same_result()
    {
        var graph = ConvBatchNormGraph(extraConsumer: false);
        var x = Tensor.FromArray(Enumerable.Range(0, 2 * 2 * 5 * 5).Select(i => MathF.Sin(i)).ToArray(), 2, 2, 5, 5);

        var folded = graph.Session();
        var unfolded = graph.Session(new OnnxSessionOptions { FoldBatchNorm = false });

        Assert.Equal(1, folded.ExecutedNodeCount);
        Assert.Equal(2, unfolded.ExecutedNodeCount);
        var a = folded.Run(x).ToArray();
        var b = unfolded.Run(x).ToArray();
        Assert.Equal(2 * 3 * 5 * 5, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 1e-5f);
        Assert.Contains(b, v => Math.Abs(v) > 0.5f);
    }

    [Fact]
    public void Batch_norm_is_not_folded_when_the_convolution_output_has_another_consumer()
    {
        var session = ConvBatchNormGraph(extraConsumer: true).Session();

        Assert.Equal(3, session.ExecutedNodeCount);
    }

    [Fact]
    public void Relu_is_fused_into_the_convolution_with_identical_results_unless_the_convolution_output_is_used_elsewhere()
    {
        var graph = ConvBatchNormGraph(extraConsumer: false).Node("Relu", "relu_out", ["y"], ["z"]).Output("z");
        var x = Tensor.FromArray(Enumerable.Range(0, 2 * 5 * 5).Select(i => MathF.Sin(i)).ToArray(), 1, 2, 5, 5);

        var fused = graph.Session();
        var unfused = graph.Session(new OnnxSessionOptions { FuseConvRelu = false });
        var keepsConv = ConvBatchNormGraph(extraConsumer: true).Session();

        // y (the BN output) is itself a graph output here, so the Relu reading it stays a separate node.
        Assert.Equal(2, fused.ExecutedNodeCount);
        var a = fused.Run(new Dictionary<string, Tensor> { ["x"] = x });
        var b = unfused.Run(new Dictionary<string, Tensor> { ["x"] = x });
        Assert.Equal(b["z"].ToArray(), a["z"].ToArray());
        Assert.Contains(a["y"].ToArray(), v => v < 0);
        Assert.Equal(3, keepsConv.ExecutedNodeCount);

        var chain = new OnnxTestGraph().Input("x", 1, 2, 5, 5).Initializer("w", Enumerable.Range(0, 18).Select(i => MathF.Cos(i)).ToArray(), 1, 2, 3, 3)
            .Node("Conv", "conv", ["x", "w"], ["c"]).Node("Relu", "relu", ["c"], ["r"]).Output("r");
        var fusedChain = chain.Session();
        Assert.Equal(1, fusedChain.ExecutedNodeCount);
        var expected = chain.Session(new OnnxSessionOptions { FuseConvRelu = false }).Run(x).ToArray();
        Assert.Equal(expected, fusedChain.Run(x).ToArray());
        Assert.Contains(expected, v => v == 0f);
        Assert.Contains(expected, v => v > 0f);
    }

    /// <summary>Conv (2→3 channels, 3x3, pad 1, bias) → BatchNormalization; optionally the conv output also feeds a Relu output.</summary>
    private static OnnxTestGraph ConvBatchNormGraph(bool extraConsumer)
    {
        var w = Enumerable.Range(0, 3 * 2 * 9).Select(i => MathF.Cos(i) * 0.3f).ToArray();
        var graph = new OnnxTestGraph().Input("x", "N", 2, 5, 5)
            .Initializer("w", w, 3, 2, 3, 3).Initializer("b", [0.1f, -0.2f, 0.3f], 3)
            .Initializer("gamma", [1.5f, 0.5f, -1f], 3).Initializer("beta", [0f, 1f, -1f], 3)
            .Initializer("mean", [0.2f, -0.1f, 0.05f], 3).Initializer("var", [0.5f, 2f, 1f], 3)
            .Node("Conv", "conv", ["x", "w", "b"], ["c"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("BatchNormalization", "bn", ["c", "gamma", "beta", "mean", "var"], ["y"], ("epsilon", 1e-3f))
            .Output("y");
        if (extraConsumer) graph.Node("Relu", "relu", ["c"], ["r"]).Output("r");
        return graph;
    }

    [Fact]
    public void Int64_inputs_and_outputs_keep_their_type_through_the_typed_overload()
    {
        var session = new OnnxTestGraph().Input("table", 3, 2).Input("ids", DataType.Int64, 2)
            .Node("Gather", "lookup", ["table", "ids"], ["rows"], ("axis", 0L))
            .Node("Shape", "shape", ["rows"], ["dims"])
            .Output("rows").Output("dims").Session();
        var inputs = new Dictionary<string, OnnxTensor>
        {
            ["table"] = OnnxTensor.FromFloats("table", [1f, 2f, 3f, 4f, 5f, 6f], new Shape(3, 2)),
            ["ids"] = OnnxTensor.FromInt64("ids", [2, -3], new Shape(2)),
        };

        var outputs = session.Run(inputs);

        Assert.Equal([5f, 6f, 1f, 2f], outputs["rows"].ToFloatArray());
        Assert.Equal(OnnxDataType.Int64, outputs["dims"].DataType);
        Assert.Equal([2L, 2L], outputs["dims"].ToInt64Array());
    }

    [Fact]
    public void Supported_operators_cover_the_conformance_operator_set()
    {
        string[] required =
        [
            "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization", "Gemm",
            "MatMul", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Clip", "Elu", "Selu", "Softplus", "Softmax", "LogSoftmax",
            "Flatten", "Reshape", "Transpose", "Concat", "Split", "Slice", "Gather", "Squeeze", "Unsqueeze", "Pad", "Tile", "Add",
            "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Min", "Max", "Sum", "Mean", "ReduceMean",
            "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceSumSquare", "Constant", "ConstantOfShape",
            "Shape", "Identity", "Dropout", "LRN", "Cast", "InstanceNormalization", "Sign",
        ];

        Assert.Empty(required.Except(OnnxSession.SupportedOperators));
    }
}
