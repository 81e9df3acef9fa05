using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;
using static CnnSharp.Onnx.Protos.TensorProto.Types;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// Operator semantics the conformance suite does not reach (MaxPool indices, ConvTranspose output_shape and SAME padding,
/// opset-dependent Softmax axes, Cast rounding, reductions, ...), against values worked out by hand in the comments.
/// </summary>
public sealed class OnnxOperatorTests
{
    private static float[] Run(OnnxTestGraph graph, Tensor x) => graph.Session().Run(x).ToArray();

    private static void Close(float[] expected, float[] actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: {actual[i]} vs {expected[i]}");
    }

    [Theory]
    [InlineData(0L, new long[] { 4, 5, 7, 8, 13, 14, 16, 17 })]
    // Column-major: index = plane·9 + w·3 + h; the maxima sit at (h, w) = (1,1), (1,2), (2,1), (2,2).
    [InlineData(1L, new long[] { 4, 7, 5, 8, 13, 16, 14, 17 })]
    public void MaxPool_indices_are_flat_input_positions_in_the_requested_storage_order(long storageOrder, long[] expected)
    {
        var session = new OnnxTestGraph().Input("x", 2, 1, 3, 3)
            .Node("MaxPool", "mp", ["x"], ["y", "i"], ("kernel_shape", new long[] { 2, 2 }), ("storage_order", storageOrder))
            .Output("y").Output("i").Session();
        var x = OnnxTensor.FromFloats("x", Enumerable.Range(0, 18).Select(v => (float)v).ToArray(), new Shape(2, 1, 3, 3));

        var outputs = session.Run(new Dictionary<string, OnnxTensor> { ["x"] = x });

        Assert.Equal([4f, 5f, 7f, 8f, 13f, 14f, 16f, 17f], outputs["y"].ToFloatArray());
        Assert.Equal(OnnxDataType.Int64, outputs["i"].DataType);
        Assert.Equal(expected, outputs["i"].ToInt64Array());
    }

    [Theory]
    // x = [1, 2, 3], w = [1, 1, 1], stride 2: the full scatter is [1, 1, 3, 2, 5, 3, 3] (7 = 2·(3−1) + 3).
    [InlineData("NOTSET", null, new float[] { 1, 1, 3, 2, 5, 3, 3 })]
    // SAME: output 3·2 = 6, one element of padding, at the end (UPPER) or the beginning (LOWER).
    [InlineData("SAME_UPPER", null, new float[] { 1, 1, 3, 2, 5, 3 })]
    [InlineData("SAME_LOWER", null, new float[] { 1, 3, 2, 5, 3, 3 })]
    // output_shape 5: two elements of padding, split evenly.
    [InlineData("NOTSET", 5L, new float[] { 1, 3, 2, 5, 3 })]
    public void ConvTranspose_1d_output_size_follows_auto_pad_and_output_shape(string autoPad, long? outputShape, float[] expected)
    {
        var attributes = new List<(string, object)> { ("strides", new long[] { 2 }), ("auto_pad", autoPad) };
        if (outputShape is long size) attributes.Add(("output_shape", new long[] { size }));
        var graph = new OnnxTestGraph().Input("x", 1, 1, 3).Initializer("w", [1f, 1f, 1f], 1, 1, 3)
            .Node("ConvTranspose", "ct", ["x", "w"], ["y"], [.. attributes]).Output("y");

        Assert.Equal(expected, Run(graph, Tensor.FromArray([1f, 2f, 3f], 1, 1, 3)));
    }

    [Theory]
    // x = 1..6, w = [1, 1, 1], stride 2, output ⌈6/2⌉ = 3, total padding 1.
    [InlineData("SAME_UPPER", new float[] { 6, 12, 11 })] // [1..6, 0]: windows at 0, 2, 4
    [InlineData("SAME_LOWER", new float[] { 3, 9, 15 })]  // [0, 1..6]
    [InlineData("VALID", new float[] { 6, 12 })]
    public void Conv_1d_auto_pad_places_the_odd_padding_element(string autoPad, float[] expected)
    {
        var graph = new OnnxTestGraph().Input("x", 1, 1, 6).Initializer("w", [1f, 1f, 1f], 1, 1, 3)
            .Node("Conv", "c", ["x", "w"], ["y"], ("strides", new long[] { 2 }), ("auto_pad", autoPad)).Output("y");

        Assert.Equal(expected, Run(graph, Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 1, 1, 6)));
    }

    [Theory]
    // x = ln[1, 2, 3, 4] in shape (1, 2, 2), axis 1. Opset 11 coerces to (1, 4): exp / 10.
    [InlineData(11, new float[] { 0.1f, 0.2f, 0.3f, 0.4f })]
    // Opset 13 normalises along dimension 1 only: pairs (1, 3) and (2, 4).
    [InlineData(13, new float[] { 0.25f, 1f / 3, 0.75f, 2f / 3 })]
    public void Softmax_axis_semantics_change_at_opset_13(int opset, float[] expected)
    {
        var graph = new OnnxTestGraph(opset).Input("x", 1, 2, 2).Node("Softmax", "sm", ["x"], ["y"], ("axis", 1L)).Output("y");

        Close(expected, Run(graph, Tensor.FromArray([0f, MathF.Log(2), MathF.Log(3), MathF.Log(4)], 1, 2, 2)));
    }

    [Fact]
    public void Cast_truncates_to_integers_tests_non_zero_for_bool_and_rounds_to_half_precision()
    {
        var session = new OnnxTestGraph().Input("x", 4)
            .Node("Cast", "to_int", ["x"], ["i"], ("to", (long)DataType.Int32))
            .Node("Cast", "to_bool", ["x"], ["b"], ("to", (long)DataType.Bool))
            .Node("Cast", "to_half", ["x"], ["h"], ("to", (long)DataType.Float16))
            .Output("i").Output("b").Output("h").Session();
        var x = OnnxTensor.FromFloats("x", [-1.7f, 2.5f, 0f, 0.1f], new Shape(4));

        var outputs = session.Run(new Dictionary<string, OnnxTensor> { ["x"] = x });

        Assert.Equal(OnnxDataType.Int32, outputs["i"].DataType);
        Assert.Equal([-1L, 2L, 0L, 0L], outputs["i"].ToInt64Array());
        Assert.Equal([true, true, false, true], outputs["b"].ToBoolArray());
        Assert.Equal((float)(Half)0.1f, outputs["h"].ToFloatArray()[3]);
        Assert.NotEqual(0.1f, outputs["h"].ToFloatArray()[3]);
    }

    [Theory]
    // x = [[1, 2, 3], [4, 5, 6]] reduced over axis 1.
    [InlineData("ReduceMax", new float[] { 3, 6 })]
    [InlineData("ReduceMin", new float[] { 1, 4 })]
    [InlineData("ReduceProd", new float[] { 6, 120 })]
    [InlineData("ReduceL1", new float[] { 6, 15 })]
    [InlineData("ReduceL2", new float[] { 3.7416574f, 8.774964f })]            // sqrt(14), sqrt(77)
    [InlineData("ReduceLogSumExp", new float[] { 3.4076059f, 6.4076059f })]    // ln(e + e² + e³), + 3
    [InlineData("ReduceLogSum", new float[] { 1.7917595f, 2.7080502f })]       // ln 6, ln 15
    [InlineData("ReduceMean", new float[] { 2, 5 })]
    public void Reductions_over_one_axis_without_keepdims(string op, float[] expected)
    {
        var graph = new OnnxTestGraph().Input("x", 2, 3).Node(op, "r", ["x"], ["y"], ("axes", new long[] { 1 }), ("keepdims", 0L)).Output("y");

        var y = graph.Session().Run(Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3));

        Assert.Equal(new Shape(2), y.Shape);
        Close(expected, y.ToArray(), 1e-4f);
    }

    [Fact]
    public void Sum_and_mean_over_trailing_axes_sum_contiguous_runs_and_other_axes_take_the_general_path()
    {
        var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(v => (float)v).ToArray(), 2, 3, 2, 2);
        // Trailing axes [2, 3] (global pooling): output k sums 4k..4k+3 = 16k + 6; the mean is 4k + 1.5.
        var mean = new OnnxTestGraph().Input("x", 2, 3, 2, 2).Node("ReduceMean", "r", ["x"], ["y"], ("axes", new long[] { 2, 3 })).Output("y").Session().Run(x);
        Assert.Equal(new Shape(2, 3, 1, 1), mean.Shape);
        Assert.Equal(Enumerable.Range(0, 6).Select(k => 4 * k + 1.5f).ToArray(), mean.ToArray());
        var sum = new OnnxTestGraph().Input("x", 2, 3, 2, 2).Node("ReduceSum", "r", ["x", "axes"], ["y"], ("keepdims", 0L))
            .Initializer("axes", new long[] { -2, -1 }, 2).Output("y").Session().Run(x);
        Assert.Equal(new Shape(2, 3), sum.Shape);
        Assert.Equal(Enumerable.Range(0, 6).Select(k => 16f * k + 6).ToArray(), sum.ToArray());
        // Axis 1 of (2, 3, 1): trailing once the size-1 axis is skipped; [0, 1, 2] and [3, 4, 5].
        var small = Tensor.FromArray([0f, 1f, 2f, 3f, 4f, 5f], 2, 3, 1);
        Assert.Equal([3f, 12f], Run(new OnnxTestGraph().Input("x", 2, 3, 1).Node("ReduceSum", "r", ["x", "axes"], ["y"]).Initializer("axes", new long[] { 1 }, 1).Output("y"), small));
        // Axis 0 is not trailing: the general path, [0+3, 1+4, 2+5].
        Assert.Equal([3f, 5f, 7f], Run(new OnnxTestGraph().Input("x", 2, 3, 1).Node("ReduceSum", "r", ["x", "axes"], ["y"]).Initializer("axes", new long[] { 0 }, 1).Output("y"), small));
    }

    [Fact]
    public void Transpose_of_a_channel_shuffle_moves_whole_planes()
    {
        // ShuffleNet's shuffle: (N, G, C/G, H, W) -> (N, C/G, G, H, W); H·W planes stay contiguous, singleton N dropped.
        int g = 2, cg = 3, h = 2, w = 3;
        var data = Enumerable.Range(0, g * cg * h * w).Select(v => (float)v).ToArray();
        var graph = new OnnxTestGraph().Input("x", 1, g, cg, h, w)
            .Node("Transpose", "t", ["x"], ["y"], ("perm", new long[] { 0, 2, 1, 3, 4 })).Output("y");
        var expected = new float[data.Length];
        for (int i = 0; i < cg; i++)
            for (int j = 0; j < g; j++)
                for (int p = 0; p < h * w; p++)
                    expected[(i * g + j) * h * w + p] = data[(j * cg + i) * h * w + p];
        Assert.Equal(expected, Run(graph, Tensor.FromArray(data, 1, g, cg, h, w)));
    }

    [Fact]
    public void ReduceSum_with_noop_for_empty_axes_is_an_identity_and_without_it_sums_everything()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        var noop = new OnnxTestGraph().Input("x", 2, 2).Node("ReduceSum", "r", ["x"], ["y"], ("noop_with_empty_axes", 1L)).Output("y");
        var all = new OnnxTestGraph().Input("x", 2, 2).Node("ReduceSum", "r", ["x"], ["y"]).Output("y");

        Assert.Equal([1f, 2f, 3f, 4f], Run(noop, x));
        var total = all.Session().Run(x);
        Assert.Equal(new Shape(1, 1), total.Shape);
        Assert.Equal(10f, total.Item());
    }

    [Fact]
    public void Expand_broadcasts_both_ways()
    {
        var graph = new OnnxTestGraph().Input("x", 3, 1).Initializer("shape", new long[] { 2, 1, 2 }, 3)
            .Node("Expand", "e", ["x", "shape"], ["y"]).Output("y");

        var y = graph.Session().Run(Tensor.FromArray([1f, 2f, 3f], 3, 1));

        Assert.Equal(new Shape(2, 3, 2), y.Shape);
        Assert.Equal([1f, 1f, 2f, 2f, 3f, 3f, 1f, 1f, 2f, 2f, 3f, 3f], y.ToArray());
    }

    [Fact]
    public void Squeeze_without_axes_removes_every_size_one_dimension()
    {
        var graph = new OnnxTestGraph().Input("x", 1, 3, 1).Node("Squeeze", "s", ["x"], ["y"]).Output("y");

        var y = graph.Session().Run(Tensor.FromArray([1f, 2f, 3f], 1, 3, 1));

        Assert.Equal(new Shape(3), y.Shape);
    }

    [Fact]
    public void Mean_averages_any_number_of_inputs_with_broadcasting()
    {
        var session = new OnnxTestGraph().Input("a", 2).Input("b", 2).Input("c", 1)
            .Node("Mean", "m", ["a", "b", "c"], ["y"]).Output("y").Session();

        var y = session.Run(new Dictionary<string, Tensor>
        {
            ["a"] = Tensor.FromArray([1f, 2f], 2),
            ["b"] = Tensor.FromArray([3f, 4f], 2),
            ["c"] = Tensor.FromArray([5f], 1),
        })["y"];

        Assert.Equal([3f, 11f / 3], y.ToArray());
    }

    [Fact]
    public void ConstantOfShape_keeps_the_value_type()
    {
        var session = new OnnxTestGraph().Input("s", DataType.Int64, 2)
            .Node("ConstantOfShape", "c", ["s"], ["y"], ("value", OnnxTestGraph.Int64Tensor(7))).Output("y").Session();

        var y = session.Run(new Dictionary<string, OnnxTensor> { ["s"] = OnnxTensor.FromInt64("s", [2, 3], new Shape(2)) })["y"];

        Assert.Equal(OnnxDataType.Int64, y.DataType);
        Assert.Equal(new Shape(2, 3), y.Shape);
        Assert.All(y.ToInt64Array(), v => Assert.Equal(7L, v));
    }

    [Fact]
    public void Gemm_scales_the_product_and_a_broadcast_bias()
    {
        // A = [[1, 2]], B = [[3], [4]] → AB = 11; Y = 0.5·11 + 2·[1] = 7.5.
        var graph = new OnnxTestGraph().Input("a", 1, 2).Initializer("b", [3f, 4f], 2, 1).Initializer("c", [1f], 1)
            .Node("Gemm", "g", ["a", "b", "c"], ["y"], ("alpha", 0.5f), ("beta", 2f)).Output("y");

        Assert.Equal([7.5f], Run(graph, Tensor.FromArray([1f, 2f], 1, 2)));
    }

    [Theory]
    [InlineData(1, 10, 1568)] // dot-product path (one row)
    [InlineData(3, 7, 40)] // dot-product path (small)
    [InlineData(40, 130, 256)] // packed GEMM (more than 2^20 multiply-adds)
    public void Gemm_with_transposed_B_matches_the_reference_on_both_paths(int m, int n, int k)
    {
        var rng = new Random(m + n + k);
        float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] a = Values(m * k), b = Values(n * k), c = Values(n);
        var graph = new OnnxTestGraph().Input("a", m, k).Initializer("b", b, n, k).Initializer("c", c, n)
            .Node("Gemm", "g", ["a", "b", "c"], ["y"], ("alpha", 0.5f), ("beta", 2f), ("transB", 1L)).Output("y");

        var product = Reference.Gemm(false, true, m, n, k, a, k, b, k);
        var expected = product.Select((v, i) => 0.5 * v + 2.0 * c[i % n]).ToArray();
        TensorAssert.Close(expected, Run(graph, Tensor.FromArray(a, m, k)), Tolerance.Accumulated);
    }

    [Fact]
    public void MatMul_broadcasts_batch_dimensions_and_handles_vectors()
    {
        // a (2, 1, 2) · b (3, 2, 1)ᵀ-like batch broadcast → (2, 3, 1, 1); b is [[1], [k]] for batch k = 0, 1, 2.
        var session = new OnnxTestGraph().Input("a", 2, 1, 1, 2).Input("b", 3, 2, 1).Node("MatMul", "mm", ["a", "b"], ["y"]).Output("y").Session();

        var y = session.Run(new Dictionary<string, Tensor>
        {
            ["a"] = Tensor.FromArray([1f, 10f, 2f, 20f], 2, 1, 1, 2),
            ["b"] = Tensor.FromArray([1f, 0f, 1f, 1f, 1f, 2f], 3, 2, 1),
        })["y"];

        Assert.Equal(new Shape(2, 3, 1, 1), y.Shape);
        Assert.Equal([1f, 11f, 21f, 2f, 22f, 42f], y.ToArray());
    }
}
