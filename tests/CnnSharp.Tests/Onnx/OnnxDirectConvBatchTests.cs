using CnnSharp.Kernels;
using CnnSharp.Onnx;
using CnnSharp.Onnx.Ops;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// <see cref="DirectConvChainOp"/> at batch &gt; 1 with large Winograd-eligible 3x3 stages: images one per claim, each on
/// Winograd F(4x4, 3x3) (residual added in the final conversion), and the chains that must keep falling back.
/// </summary>
public sealed class OnnxDirectConvBatchTests
{
    // These tests pin the ONNX runtime (its DirectConvChainOp and fusions); the compiled plan has its own tests.
    private static readonly OnnxSessionOptions Runtime = new() { CompilePlan = false };
    private static readonly OnnxSessionOptions Unfused = new() { CompilePlan = false, FuseDirectConvolutions = false };

    private static readonly OnnxSessionOptions UnfusedResidual = new() { CompilePlan = false, FuseConvAdd = false, FuseConvRelu = false, FuseDirectConvolutions = false };

    private static float[] Random(int count, int seed, float scale)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>Image <paramref name="i"/> of an NCHW batch as a batch of one.</summary>
    private static Dictionary<string, Tensor> Image(Dictionary<string, Tensor> batch, int i) => batch.ToDictionary(
        p => p.Key,
        p =>
        {
            var d = p.Value.Shape.Dims;
            int per = p.Value.Shape.Numel / d[0];
            return Tensor.FromArray(p.Value.Data.Slice(i * per, per), 1, d[1], d[2], d[3]);
        });

    /// <summary>
    /// Runs <paramref name="inputs"/> on 1, 2 and 3 threads: identical bits, close to <paramref name="expected"/>, and
    /// image by image the bits of the batch-1 Winograd split. Returns the result.
    /// </summary>
    private static float[] SameOverThreadsAndImages(OnnxSession session, DirectConvChainOp chain, Dictionary<string, Tensor> inputs, float[] expected, string output)
    {
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            chain.ThreadsOverride = threads;
            var got = session.Run(inputs)[output].ToArray();
            TensorAssert.Close(expected, got, Tolerance.Accumulated, $"{threads} threads");
            if (first is null) first = got;
            else Assert.True(first.AsSpan().SequenceEqual(got), $"{threads} threads: bits differ from 1 thread");
        }
        int n = inputs["x"].Shape[0], per = first!.Length / n;
        chain.ThreadsOverride = 2;
        for (int i = 0; i < n; i++)
        {
            var one = session.Run(Image(inputs, i))[output].ToArray();
            Assert.True(first.AsSpan(i * per, per).SequenceEqual(one), $"image {i}: bits differ from the batch-1 run");
        }
        return first;
    }

    [Theory]
    [InlineData(3, false)]
    [InlineData(5, false)]
    [InlineData(3, true)]
    public void Large_3x3_chain_runs_winograd_image_by_image_with_identical_bits_over_threads(int batch, bool v512)
    {
        using var _ = Isa.Use(v512 ? IsaLevel.V512 : IsaLevel.V256);
        var graph = OnnxDirectConvTests.DeepGraph();
        var session = graph.Session(Runtime);
        var chain = Assert.Single(session.Graph.Ops.OfType<DirectConvChainOp>());
        // 47x45: the second conv has 47*45*32*16*9 = 9.7 M multiply-adds per image, over the GEMM's split threshold.
        var inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(Random(batch * 16 * 47 * 45, batch, 1f), batch, 16, 47, 45) };
        var expected = graph.Session(Unfused).Run(inputs)["y"].ToArray();
        var got = SameOverThreadsAndImages(session, chain, inputs, expected, "y");
        Assert.Equal((3L + batch, 0L), (chain.DirectRuns, chain.FallbackRuns));
        // Winograd rounding, not the GEMM's bits: the direct path really ran.
        Assert.False(got.AsSpan().SequenceEqual(expected));

        // NaN in one image of the batch: the whole run takes the original operators, NaN included.
        var bad = inputs["x"].ToArray();
        bad[(batch - 1) * 16 * 47 * 45 + 321] = float.NaN;
        var nan = new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(bad, batch, 16, 47, 45) };
        var y = session.Run(nan)["y"].ToArray();
        Assert.True(graph.Session(Unfused).Run(nan)["y"].ToArray().AsSpan().SequenceEqual(y));
        Assert.Contains(y, float.IsNaN);
        Assert.Equal((3L + batch, 1L), (chain.DirectRuns, chain.FallbackRuns));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Residual_chain_adds_the_residual_image_by_image_at_batch_3(bool convFirst)
    {
        using var _ = Isa.Use(IsaLevel.V256);
        var graph = OnnxDirectConvResidualTests.Block(convFirst);
        var session = graph.Session(Runtime);
        var chain = Assert.Single(session.Graph.Ops.OfType<DirectConvChainOp>());
        Assert.True(Assert.Single(chain.Stages).Residual);
        var inputs = OnnxDirectConvResidualTests.Inputs(3, 35, 33, 21);
        var expected = graph.Session(UnfusedResidual).Run(inputs)["y"].ToArray();
        Assert.Contains(expected, v => v == 0f);
        var got = SameOverThreadsAndImages(session, chain, inputs, expected, "y");
        Assert.Equal((6L, 0L), (chain.DirectRuns, chain.FallbackRuns));
        Assert.False(got.AsSpan().SequenceEqual(graph.Session(new() { CompilePlan = false, FuseDirectConvolutions = false }).Run(inputs)["y"].ToArray()));

        // NaN in the residual of the last image: the fused Conv+Add operator, bit for bit.
        var nanR = OnnxDirectConvResidualTests.Inputs(3, 35, 33, 22);
        nanR["r"].Data[2 * 32 * 35 * 33 + 40] = float.NaN;
        var y = session.Run(nanR)["y"].ToArray();
        Assert.True(graph.Session(new() { CompilePlan = false, FuseDirectConvolutions = false }).Run(nanR)["y"].ToArray().AsSpan().SequenceEqual(y));
        Assert.Contains(y, float.IsNaN);
        Assert.Equal((6L, 1L), (chain.DirectRuns, chain.FallbackRuns));
    }

    /// <summary>A single conv <paramref name="cin"/> → <paramref name="cout"/> (+Relu), <paramref name="k"/>x<paramref name="k"/>, pad k/2.</summary>
    private static OnnxTestGraph SingleConv(int cin, int cout, int k) =>
        new OnnxTestGraph().Input("x", "N", cin, "H", "W")
            .Initializer("w", Random(cout * cin * k * k, 31, 1f / MathF.Sqrt(cin * k * k)), cout, cin, k, k)
            .Initializer("b", Random(cout, 32, 0.1f), cout)
            .Node("Conv", "c", ["x", "w", "b"], ["a"], ("pads", new long[] { k / 2, k / 2, k / 2, k / 2 }))
            .Node("Relu", "r", ["a"], ["y"])
            .Output("y");

    [Theory]
    [InlineData(16, 32, 5, 48, "5x5: 48*48*32*16*25 = 29 M multiply-adds")]
    [InlineData(128, 128, 3, 12, "3x3 on 12x12: 21 M multiply-adds but only 9 4x4 tiles")]
    public void Large_stage_that_is_not_winograd_eligible_falls_back_at_batch_3(int cin, int cout, int k, int size, string what)
    {
        using var _ = Isa.Use(IsaLevel.V256);
        var graph = SingleConv(cin, cout, k);
        var session = graph.Session(Runtime);
        var chain = Assert.Single(session.Graph.Ops.OfType<DirectConvChainOp>());
        var inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.FromArray(Random(3 * cin * size * size, 33, 1f), 3, cin, size, size) };
        chain.ThreadsOverride = 2;
        var got = session.Run(inputs)["y"].ToArray();
        Assert.True(graph.Session(Unfused).Run(inputs)["y"].ToArray().AsSpan().SequenceEqual(got), what);
        Assert.Equal((0L, 1L), (chain.DirectRuns, chain.FallbackRuns));
    }
}
