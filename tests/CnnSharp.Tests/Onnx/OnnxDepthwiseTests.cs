using CnnSharp.Onnx;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// MobileNet/ShuffleNet building blocks through <see cref="OnnxSession"/>: depthwise and grouped Conv on the direct
/// kernel against the float64 reference, Clip(0, max) (ReLU6) fused into the Conv before it with the unfused result bit
/// for bit, and the fused inverted-residual block against the unfused nodes.
/// </summary>
public sealed class OnnxDepthwiseTests
{
    private static readonly OnnxSessionOptions Unfused = new() { FoldBatchNorm = false, FuseConvRelu = false, FuseConvAdd = false, FuseDirectConvolutions = false };
    private static readonly OnnxSessionOptions NoClipFusion = new() { FuseConvRelu = false };

    private static float[] Values(int count, float phase, float scale = 1f) =>
        Enumerable.Range(0, count).Select(i => scale * MathF.Sin(i * 0.7f + phase)).ToArray();

    private static Tensor Input(int n, int c, int h, int w) => Tensor.FromArray(Values(n * c * h * w, 0.3f, 3f), n, c, h, w);

    private static OnnxTestGraph BatchNorm(OnnxTestGraph g, string name, int channels) => g
        .Initializer($"{name}.s", Values(channels, 1f).Select(v => 1 + 0.5f * v).ToArray(), channels)
        .Initializer($"{name}.b", Values(channels, 2f, 0.3f), channels)
        .Initializer($"{name}.m", Values(channels, 3f, 0.1f), channels)
        .Initializer($"{name}.v", Values(channels, 4f).Select(v => 1 + 0.4f * v).ToArray(), channels);

    /// <summary>
    /// MobileNet-v2's inverted residual: 1x1 expand 8 → 16 + BN + ReLU6, depthwise 3x3 (stride s) + BN + ReLU6, 1x1
    /// project 16 → 8 + BN, plus the block's input when the stride is 1.
    /// </summary>
    private static OnnxTestGraph InvertedResidual(int stride, int h = 13, int w = 11)
    {
        var g = new OnnxTestGraph().Input("x", "N", 8, h, w)
            .Initializer("w1", Values(16 * 8, 1f, 0.5f), 16, 8, 1, 1)
            .Initializer("w2", Values(16 * 9, 2f, 0.5f), 16, 1, 3, 3)
            .Initializer("w3", Values(8 * 16, 3f, 0.4f), 8, 16, 1, 1)
            .Initializer("zero", [0f]).Initializer("six", [6f]);
        g = BatchNorm(BatchNorm(BatchNorm(g, "bn1", 16), "bn2", 16), "bn3", 8);
        g.Node("Conv", "expand", ["x", "w1"], ["c1"])
            .Node("BatchNormalization", "bn1", ["c1", "bn1.s", "bn1.b", "bn1.m", "bn1.v"], ["n1"])
            .Node("Clip", "clip1", ["n1", "zero", "six"], ["a1"])
            .Node("Conv", "depthwise", ["a1", "w2"], ["c2"], ("group", 16L), ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { stride, stride }))
            .Node("BatchNormalization", "bn2", ["c2", "bn2.s", "bn2.b", "bn2.m", "bn2.v"], ["n2"])
            .Node("Clip", "clip2", ["n2", "zero", "six"], ["a2"])
            .Node("Conv", "project", ["a2", "w3"], ["c3"])
            .Node("BatchNormalization", "bn3", ["c3", "bn3.s", "bn3.b", "bn3.m", "bn3.v"], [stride == 1 ? "n3" : "y"]);
        if (stride == 1) g.Node("Add", "add", ["n3", "x"], ["y"]);
        return g.Output("y");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    public void Inverted_residual_block_fuses_into_three_convolutions(int stride, int batch)
    {
        var graph = InvertedResidual(stride);
        var fused = graph.Session();
        Assert.Equal(3, fused.ExecutedNodeCount); // expand+BN+Clip, depthwise+BN+Clip, project+BN(+Add)
        var x = Input(batch, 8, 13, 11);
        var actual = fused.Run(x).ToArray();
        // The same fusions without Clip fusion: the Clip runs as its own node on the same values.
        Assert.Equal(graph.Session(NoClipFusion).Run(x).ToArray(), actual);
        // Everything unfused: BatchNormalization folding changes float32 rounding only.
        TensorAssert.Close(graph.Session(Unfused).Run(x).ToArray(), actual, Tolerance.Accumulated, $"stride {stride}");
    }

    [Fact]
    public void Relu6_clamps_at_both_ends()
    {
        // A depthwise Conv with a bias that pushes whole channels below 0 and above 6.
        var g = new OnnxTestGraph().Input("x", 1, 4, 6, 6)
            .Initializer("w", Values(4 * 9, 1f, 2f), 4, 1, 3, 3).Initializer("b", [0.5f, -3f, 4f, 0f], 4)
            .Initializer("zero", [0f]).Initializer("six", [6f])
            .Node("Conv", "dw", ["x", "w", "b"], ["c"], ("group", 4L), ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Clip", "clip", ["c", "zero", "six"], ["y"]).Output("y");
        var session = g.Session();
        Assert.Equal(1, session.ExecutedNodeCount);
        var y = session.Run(Input(1, 4, 6, 6)).ToArray();
        Assert.Contains(y, v => v == 0f);
        Assert.Contains(y, v => v == 6f);
        Assert.All(y, v => Assert.InRange(v, 0f, 6f));
        Assert.Equal(g.Session(NoClipFusion).Run(Input(1, 4, 6, 6)).ToArray(), y);
    }

    [Theory]
    [InlineData(0f, 1f, true)]   // Clip(0, max) fuses for any max >= 0
    [InlineData(-1f, 6f, false)] // a lower bound other than zero does not
    [InlineData(0f, -1f, false)] // nor an upper bound below zero (the result is max everywhere)
    public void Only_clip_from_zero_fuses(float min, float max, bool fuses)
    {
        var g = new OnnxTestGraph().Input("x", 1, 16, 7, 7)
            .Initializer("w", Values(16 * 16 * 9, 1f, 0.3f), 16, 16, 3, 3)
            .Initializer("lo", [min]).Initializer("hi", [max])
            .Node("Conv", "conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Clip", "clip", ["c", "lo", "hi"], ["y"]).Output("y");
        var session = g.Session();
        Assert.Equal(fuses ? 1 : 2, session.ExecutedNodeCount);
        // The conv (16 -> 16, 3x3) qualifies for the direct chain on its own, but not with a fused upper clamp.
        Assert.DoesNotContain(session.Graph.Ops, op => op is CnnSharp.Onnx.Ops.DirectConvChainOp && fuses);
        var x = Input(1, 16, 7, 7);
        TensorAssert.Close(g.Session(Unfused).Run(x).ToArray(), session.Run(x).ToArray(), Tolerance.Accumulated, $"clip({min}, {max})");
    }

    [Fact]
    public void Clip_with_a_runtime_bound_is_not_fused()
    {
        var g = new OnnxTestGraph().Input("x", 1, 2, 5, 5).Input("hi")
            .Initializer("w", Values(2 * 9, 1f), 2, 1, 3, 3).Initializer("zero", [0f])
            .Node("Conv", "dw", ["x", "w"], ["c"], ("group", 2L))
            .Node("Clip", "clip", ["c", "zero", "hi"], ["y"]).Output("y");
        Assert.Equal(2, g.Session().ExecutedNodeCount);
    }

    [Fact]
    public void Legacy_clip_attributes_fuse()
    {
        var g = new OnnxTestGraph(opset: 10).Input("x", 1, 3, 6, 6)
            .Initializer("w", Values(3 * 9, 1f, 2f), 3, 1, 3, 3)
            .Node("Conv", "dw", ["x", "w"], ["c"], ("group", 3L), ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Clip", "clip", ["c"], ["y"], ("min", 0f), ("max", 6f)).Output("y");
        var session = g.Session();
        Assert.Equal(1, session.ExecutedNodeCount);
        var x = Input(1, 3, 6, 6);
        Assert.Equal(g.Session(NoClipFusion).Run(x).ToArray(), session.Run(x).ToArray());
    }

    [Theory]
    [InlineData(6, 6, 6, 3, 1, 1)]  // depthwise 3x3 stride 1
    [InlineData(6, 6, 6, 3, 2, 1)]  // depthwise 3x3 stride 2
    [InlineData(5, 5, 10, 5, 2, 2)] // depthwise 5x5 stride 2, channel multiplier 2
    [InlineData(8, 2, 8, 3, 1, 1)]  // grouped: 4 channels per group
    [InlineData(16, 2, 16, 3, 1, 1)] // grouped: 8 channels per group (the GEMM's side of the choice is the same formula)
    public void Grouped_conv_matches_reference(int c, int groups, int k, int kernel, int stride, int pad)
    {
        var wShape = new[] { k, c / groups, kernel, kernel };
        var w = Values(wShape.Aggregate(1, (a, b) => a * b), 1f, 0.5f);
        var b = Values(k, 2f);
        var g = new OnnxTestGraph().Input("x", 2, c, 11, 12)
            .Initializer("w", w, wShape.Select(d => (long)d).ToArray()).Initializer("b", b, k)
            .Node("Conv", "conv", ["x", "w", "b"], ["y"], ("group", (long)groups), ("pads", new long[] { pad, pad, pad, pad }),
                ("strides", new long[] { stride, stride })).Output("y");
        var x = Input(2, c, 11, 12);
        var expected = Reference.Conv2d(TensorAssert.ToDouble(x.ToArray()), TensorAssert.ToDouble(w), TensorAssert.ToDouble(b),
            [2, c, 11, 12], wShape, (stride, stride), (pad, pad, pad, pad), (1, 1), groups, out _);
        TensorAssert.Close(expected, g.Session().Run(x).ToArray(), Tolerance.Accumulated, $"c{c} g{groups} k{k} {kernel}x{kernel}/{stride}");
    }
}
