using CnnSharp.Onnx;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// The residual Add (and the Relu after it) fused into the epilogue of the Conv before it: same results as the unfused
/// nodes, bit for bit, and no fusion where it would change what runs when.
/// </summary>
public sealed class ConvAddFusionTests
{
    private static readonly OnnxSessionOptions Unfused = new() { FuseConvAdd = false };

    private static float[] Values(int count, float phase) => Enumerable.Range(0, count).Select(i => MathF.Sin(i * 0.7f + phase)).ToArray();

    private static Tensor Input(int n, int c, int h, int w) => Tensor.FromArray(Values(n * c * h * w, 0.3f), n, c, h, w);

    /// <summary>
    /// A ResNet basic block: Conv → Relu → Conv → Add(·, x) → Relu (the Add's operands in either order); 8 channels and
    /// 7x6 pixels make full 6x16 register tiles and edge tiles.
    /// </summary>
    private static OnnxTestGraph BasicBlock(bool convFirst) => new OnnxTestGraph().Input("x", "N", 8, 7, 6)
        .Initializer("w1", Values(8 * 8 * 9, 1f), 8, 8, 3, 3).Initializer("b1", Values(8, 5f), 8)
        .Initializer("w2", Values(8 * 8 * 9, 2f), 8, 8, 3, 3)
        .Node("Conv", "conv1", ["x", "w1", "b1"], ["c1"], ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Relu", "relu1", ["c1"], ["r1"])
        .Node("Conv", "conv2", ["r1", "w2"], ["c2"], ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Add", "add", convFirst ? ["c2", "x"] : ["x", "c2"], ["s"])
        .Node("Relu", "relu2", ["s"], ["y"]).Output("y");

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 1)]
    [InlineData(true, 3)]
    public void Basic_block_runs_as_two_convolutions_with_the_unfused_result(bool convFirst, int batch)
    {
        var graph = BasicBlock(convFirst);
        var fused = graph.Session();
        var unfused = graph.Session(Unfused);
        var x = Input(batch, 8, 7, 6);

        Assert.Equal(2, fused.ExecutedNodeCount);
        Assert.Equal(4, unfused.ExecutedNodeCount); // conv1+relu1, conv2, add, relu2
        var expected = unfused.Run(x).ToArray();
        Assert.Equal(expected, fused.Run(x).ToArray());
        Assert.Contains(expected, v => v == 0f);
        Assert.Contains(expected, v => v > 0.5f);
    }

    [Fact]
    public void Add_of_two_convolutions_is_fused_into_the_later_one()
    {
        // ResNet's downsampling block: the main branch and the 1x1/2 shortcut are both convolutions.
        var graph = new OnnxTestGraph().Input("x", 1, 3, 8, 8)
            .Initializer("wa", Values(5 * 3 * 9, 1f), 5, 3, 3, 3).Initializer("ws", Values(5 * 3, 2f), 5, 3, 1, 1)
            .Initializer("bs", [0.5f, -0.5f, 0.25f, 0f, 1f], 5)
            .Node("Conv", "main", ["x", "wa"], ["a"], ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { 2, 2 }))
            .Node("Conv", "shortcut", ["x", "ws", "bs"], ["s"], ("strides", new long[] { 2, 2 }))
            .Node("Add", "add", ["a", "s"], ["sum"])
            .Node("Relu", "relu", ["sum"], ["y"]).Output("y");
        var x = Input(1, 3, 8, 8);

        var fused = graph.Session();
        Assert.Equal(2, fused.ExecutedNodeCount);
        var expected = graph.Session(Unfused).Run(x).ToArray();
        Assert.Equal(expected, fused.Run(x).ToArray());
        Assert.Contains(expected, v => v == 0f);
    }

    [Fact]
    public void Broadcast_residual_falls_back_to_the_add_with_the_same_result()
    {
        // The conv output (1, 2, 1, 1) plus a (1, 2, 3, 4) input: the sum takes the larger shape. And a per-channel
        // constant (1, 2, 1, 1) added to a (1, 2, 3, 3) conv output.
        var grows = new OnnxTestGraph().Input("x", 1, 3, 3, 3).Input("r", 1, 2, 3, 4)
            .Initializer("w", Values(2 * 3 * 9, 1f), 2, 3, 3, 3)
            .Node("Conv", "conv", ["x", "w"], ["c"]).Node("Add", "add", ["c", "r"], ["s"]).Node("Relu", "relu", ["s"], ["y"]).Output("y");
        var perChannel = new OnnxTestGraph().Input("x", 1, 3, 3, 3)
            .Initializer("w", Values(2 * 3 * 9, 1f), 2, 3, 3, 3).Initializer("k", [0.25f, -3f], 1, 2, 1, 1)
            .Node("Conv", "conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 })).Node("Add", "add", ["k", "c"], ["y"]).Output("y");
        var inputs = new Dictionary<string, Tensor> { ["x"] = Input(1, 3, 3, 3), ["r"] = Tensor.FromArray(Values(24, 4f).Select(v => 20 * v).ToArray(), 1, 2, 3, 4) };

        var fusedGrows = grows.Session();
        Assert.Equal(1, fusedGrows.ExecutedNodeCount);
        var a = fusedGrows.Run(inputs)["y"];
        var b = grows.Session(Unfused).Run(inputs)["y"];
        Assert.Equal(new Shape(1, 2, 3, 4), a.Shape);
        Assert.Equal(b.ToArray(), a.ToArray());
        Assert.Contains(b.ToArray(), v => v == 0f);

        var fusedPerChannel = perChannel.Session();
        Assert.Equal(1, fusedPerChannel.ExecutedNodeCount);
        var x = Input(1, 3, 3, 3);
        Assert.Equal(perChannel.Session(Unfused).Run(x).ToArray(), fusedPerChannel.Run(x).ToArray());
    }

    [Fact]
    public void Add_is_not_fused_when_the_conv_output_is_used_elsewhere_or_the_other_operand_comes_later_or_a_relu_is_between()
    {
        var w = Values(2 * 2 * 9, 1f);
        // The conv output is also a graph output.
        var shared = new OnnxTestGraph().Input("x", 1, 2, 4, 4).Initializer("w", w, 2, 2, 3, 3)
            .Node("Conv", "conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 })).Node("Add", "add", ["c", "x"], ["y"])
            .Output("y").Output("c");
        // The other operand is computed by a node after the Conv.
        var later = new OnnxTestGraph().Input("x", 1, 2, 4, 4).Initializer("w", w, 2, 2, 3, 3)
            .Node("Conv", "conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 })).Node("Sigmoid", "sig", ["x"], ["s"])
            .Node("Add", "add", ["c", "s"], ["y"]).Output("y");
        // Conv → Relu → Add: the Relu comes first, so the Add stays (the Relu still fuses).
        var reluFirst = new OnnxTestGraph().Input("x", 1, 2, 4, 4).Initializer("w", w, 2, 2, 3, 3)
            .Node("Conv", "conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 })).Node("Relu", "relu", ["c"], ["r"])
            .Node("Add", "add", ["r", "x"], ["y"]).Output("y");
        var x = Input(1, 2, 4, 4);

        Assert.Equal(2, shared.Session().ExecutedNodeCount);
        Assert.Equal(3, later.Session().ExecutedNodeCount);
        Assert.Equal(2, reluFirst.Session().ExecutedNodeCount);
        foreach (var graph in new[] { shared, later, reluFirst })
        {
            var expected = graph.Session(new OnnxSessionOptions { FuseConvAdd = false, FuseConvRelu = false }).Run(
                new Dictionary<string, Tensor> { ["x"] = x });
            var actual = graph.Session().Run(new Dictionary<string, Tensor> { ["x"] = x });
            foreach (var (name, value) in expected) Assert.Equal(value.ToArray(), actual[name].ToArray());
        }
    }

    [Fact]
    public void Conv_with_a_fused_residual_runs_the_fused_gemm_operator_on_a_small_image()
    {
        // 16 → 16 channels, 3x3, pad 1: a direct-chain stage on its own; with the residual Add fused first it becomes a
        // one-stage residual chain, which runs the fused Conv+Add operator itself except for the batch-1 Winograd split
        // (OnnxDirectConvResidualTests), so a small image gives the GEMM path's bits.
        var graph = new OnnxTestGraph().Input("x", 1, 16, 6, 6).Initializer("w", Values(16 * 16 * 9, 1f).Select(v => v * 0.1f).ToArray(), 16, 16, 3, 3)
            .Node("Conv", "conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Add", "add", ["c", "x"], ["s"]).Node("Relu", "relu", ["s"], ["y"]).Output("y");
        var x = Input(1, 16, 6, 6);

        var fused = graph.Session();
        Assert.Equal(1, fused.ExecutedNodeCount);
        var expected = graph.Session(new OnnxSessionOptions { FuseConvAdd = false, FuseConvRelu = false, FuseDirectConvolutions = false }).Run(x).ToArray();
        Assert.Equal(expected, fused.Run(x).ToArray());
        Assert.Contains(expected, v => v == 0f);
    }
}
