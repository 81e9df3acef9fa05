using CnnSharp.Kernels;
using CnnSharp.Onnx;
using CnnSharp.Onnx.Ops;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// A Conv with a fused residual Add and Relu as a one-stage <see cref="DirectConvChainOp"/>: the batch-1 Winograd split
/// against the unfused Conv, Add and Relu nodes, and every other run bit-identical to the fused Conv+Add operator.
/// </summary>
public sealed class OnnxDirectConvResidualTests
{
    private const int Channels = 32;

    /// <summary>The unfused nodes: Conv, Add, Relu one after the other.</summary>
    // These tests pin the ONNX runtime (its DirectConvChainOp and fusions); the compiled plan has its own tests.
    private static readonly OnnxSessionOptions Runtime = new() { CompilePlan = false };
    private static readonly OnnxSessionOptions Unfused = new() { CompilePlan = false, FuseConvAdd = false, FuseConvRelu = false, FuseDirectConvolutions = false };

    /// <summary>Conv+Add+Relu on the GEMM path (what runs without the chain).</summary>
    private static readonly OnnxSessionOptions GemmOnly = new() { CompilePlan = false, FuseDirectConvolutions = false };

    private static float[] Random(int count, int seed, float scale)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>y = relu(conv3x3(x) + b + r), 32 → 32 channels, pad 1; r a graph input in the Add's first or second position.</summary>
    internal static OnnxTestGraph Block(bool convFirst) => new OnnxTestGraph().Input("x", "N", Channels, "H", "W").Input("r", "N", Channels, "H", "W")
        .Initializer("w", Random(Channels * Channels * 9, 1, 1f / MathF.Sqrt(Channels * 9)), Channels, Channels, 3, 3)
        .Initializer("b", Random(Channels, 2, 0.2f), Channels)
        .Node("Conv", "conv", ["x", "w", "b"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }))
        .Node("Add", "add", convFirst ? ["c", "r"] : ["r", "c"], ["s"])
        .Node("Relu", "relu", ["s"], ["y"]).Output("y");

    internal static Dictionary<string, Tensor> Inputs(int n, int h, int w, int seed) => new()
    {
        ["x"] = Tensor.FromArray(Random(n * Channels * h * w, seed, 1f), n, Channels, h, w),
        ["r"] = Tensor.FromArray(Random(n * Channels * h * w, seed + 100, 1f), n, Channels, h, w),
    };

    private static float[] Run(OnnxSession session, Dictionary<string, Tensor> inputs) => session.Run(inputs)["y"].ToArray();

    private static DirectConvChainOp Chain(OnnxSession session)
    {
        var chain = Assert.Single(session.Graph.Ops.OfType<DirectConvChainOp>());
        var stage = Assert.Single(chain.Stages);
        Assert.True(stage.Residual && stage.Relu);
        Assert.Equal(1, session.ExecutedNodeCount);
        return chain;
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Single_large_image_adds_the_residual_on_the_winograd_split_with_identical_bits_over_threads(bool convFirst, bool v512)
    {
        using var _ = Isa.Use(v512 ? IsaLevel.V512 : IsaLevel.V256);
        var graph = Block(convFirst);
        var session = graph.Session(Runtime);
        var chain = Chain(session);
        // 35x33: 35*33*32*32*9 = 10.6 M multiply-adds, over the GEMM's split threshold, 81 4x4 tiles (partial edges).
        var inputs = Inputs(1, 35, 33, 3);
        var expected = Run(graph.Session(Unfused), inputs);
        Assert.Contains(expected, v => v == 0f);
        Assert.Contains(expected, v => v > 0.5f);
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            chain.ThreadsOverride = threads;
            var got = Run(session, inputs);
            TensorAssert.Close(expected, got, Tolerance.Accumulated, $"{threads} threads");
            if (first is null) first = got;
            else Assert.True(first.AsSpan().SequenceEqual(got), $"{threads} threads: bits differ from 1 thread");
        }
        Assert.Equal((3L, 0L), (chain.DirectRuns, chain.FallbackRuns));
        // Winograd rounding, not the fused GEMM's bits: the direct path really ran.
        Assert.False(first.AsSpan().SequenceEqual(Run(graph.Session(GemmOnly), inputs)));
    }

    [Fact]
    public void Every_other_run_is_the_fused_conv_add_bit_for_bit()
    {
        var graph = Block(convFirst: false);
        var session = graph.Session(Runtime);
        var chain = Chain(session);
        var gemm = graph.Session(GemmOnly);
        chain.ThreadsOverride = 2;
        long fallbacks = 0;
        void Same(Dictionary<string, Tensor> inputs, string what)
        {
            var expected = Run(gemm, inputs);
            Assert.True(expected.AsSpan().SequenceEqual(Run(session, inputs)), what);
            Assert.Equal((0L, ++fallbacks), (chain.DirectRuns, chain.FallbackRuns));
        }

        using (Isa.Use(IsaLevel.V128)) Same(Inputs(2, 35, 33, 4), "batch 2, V128");
        Same(Inputs(1, 9, 7, 5), "small image (no split)");
        var nanX = Inputs(1, 35, 33, 6);
        nanX["x"].Data[77] = float.NaN;
        Same(nanX, "NaN in x");
        Assert.Contains(Run(session, nanX), float.IsNaN);
        fallbacks++;
        var nanR = Inputs(1, 35, 33, 7);
        nanR["r"].Data[500] = float.NaN;
        Same(nanR, "NaN in the residual");
        Assert.Contains(Run(session, nanR), float.IsNaN);
        fallbacks++;
        var huge = Inputs(1, 35, 33, 8);
        huge["r"].Data[3] = float.PositiveInfinity;
        Same(huge, "infinite residual");
        using (Isa.Use(IsaLevel.V128)) Same(Inputs(1, 35, 33, 9), "V128");
    }

    [Fact]
    public void Broadcast_residual_falls_back_to_the_fused_operator_with_its_result()
    {
        // r of shape (1, 32, 1, 1): the Add broadcasts, so the chain runs the fused Conv+Add, which runs Conv then Add.
        var graph = new OnnxTestGraph().Input("x", 1, Channels, 35, 33).Input("r", 1, Channels, 1, 1)
            .Initializer("w", Random(Channels * Channels * 9, 1, 1f / MathF.Sqrt(Channels * 9)), Channels, Channels, 3, 3)
            .Node("Conv", "conv", ["x", "w"], ["c"], ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Add", "add", ["c", "r"], ["s"]).Node("Relu", "relu", ["s"], ["y"]).Output("y");
        var session = graph.Session(Runtime);
        var chain = Chain(session);
        var inputs = new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.FromArray(Random(Channels * 35 * 33, 11, 1f), 1, Channels, 35, 33),
            ["r"] = Tensor.FromArray(Random(Channels, 12, 1f), 1, Channels, 1, 1),
        };
        Assert.Equal(Run(graph.Session(GemmOnly), inputs), Run(session, inputs));
        Assert.Equal((0L, 1L), (chain.DirectRuns, chain.FallbackRuns));
    }

    /// <summary>
    /// The vendored <c>resnet18_narrow</c> (ResNet-18's layout at a quarter of the width, on a 256x256 input so that its
    /// residual layers are as large and tiled as ResNet-18's), and ResNet-18 itself where the full suite is present.
    /// </summary>
    public static TheoryData<string> ResNets() => ConformanceData.PresentModels("resnet18_narrow", "resnet18");

    [Theory]
    [MemberData(nameof(ResNets))]
    public void Conformance_resnet_runs_four_residual_layers_on_the_winograd_split_and_reproduces_pytorch(string name)
    {
        var session = OnnxSession.Load(ConformanceModels.Model(name), Runtime);
        var residual = session.Graph.Ops.OfType<DirectConvChainOp>().Where(c => c.Stages[0].Residual).ToArray();
        // The five basic blocks whose Add the 3x3 conv takes (in the downsampling blocks the later 1x1/2 shortcut takes
        // it): 2 in layer1 (56x56 in ResNet-18, 64x64 in the narrow one), one each in layers 2, 3 and 4; layer4's
        // (7x7 or 8x8: 4 tiles) has too few tiles for the split.
        Assert.Equal(5, residual.Length);
        var output = session.Run(ConformanceModels.Input(name));
        TensorAssert.Close(TensorAssert.ToDouble(ConformanceModels.Output(name).Data), output.ToArray(), new Tolerance(1e-3, 1e-5));
        if (Isa.Level is IsaLevel.V256 or IsaLevel.V512)
            Assert.Equal(4, residual.Sum(c => c.DirectRuns));
    }
}
