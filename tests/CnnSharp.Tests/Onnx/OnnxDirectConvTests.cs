using CnnSharp.Kernels;
using CnnSharp.Onnx;
using CnnSharp.Onnx.Ops;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Onnx;

/// <summary>
/// The load-time fusion of Conv [+ Relu] [+ MaxPool 2x2/2] chains onto the direct convolution kernels
/// (<c>GraphFusion.FuseDirectConvChains</c>, <see cref="DirectConvChainOp"/>): which graphs take it, that they match
/// the unfused operators, and that near misses keep the ordinary path.
/// </summary>
public sealed class OnnxDirectConvTests
{
    // These tests pin the ONNX runtime (its DirectConvChainOp and fusions); the compiled plan has its own tests.
    private static readonly OnnxSessionOptions Runtime = new() { CompilePlan = false };
    private static readonly OnnxSessionOptions Unfused = new() { CompilePlan = false, FuseDirectConvolutions = false };

    private static float[] Random(int count, int seed, float scale)
    {
        var rng = new System.Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>
    /// The seed's ConvNet as PyTorch exports it: 2 x [Conv 5x5 pad 2, BatchNormalization, Relu, MaxPool], Reshape to
    /// (N, -1), Gemm. <paramref name="c1"/> output channels in the first layer, 32 in the second, the pools'
    /// <paramref name="poolKernel"/>x<paramref name="poolKernel"/> windows at stride 2.
    /// </summary>
    private static OnnxTestGraph SeedGraph(int c1 = 16, int poolKernel = 2)
    {
        const int c2 = 32, size = 28;
        int s1 = (size - poolKernel) / 2 + 1, s2 = (s1 - poolKernel) / 2 + 1, features = c2 * s2 * s2;
        var g = new OnnxTestGraph().Input("x", "N", 1, size, size);
        int seed = 10;
        void Layer(string name, string input, string output, int cin, int cout)
        {
            g.Initializer($"{name}.w", Random(cout * cin * 25, seed++, 1f / MathF.Sqrt(cin * 25)), cout, cin, 5, 5)
                .Initializer($"{name}.b", Random(cout, seed++, 0.1f), cout)
                .Initializer($"{name}.gamma", Random(cout, seed++, 0.5f).Select(v => v + 1).ToArray(), cout)
                .Initializer($"{name}.beta", Random(cout, seed++, 0.2f), cout)
                .Initializer($"{name}.mean", Random(cout, seed++, 0.1f), cout)
                .Initializer($"{name}.var", Random(cout, seed++, 0.3f).Select(v => v + 1).ToArray(), cout)
                .Node("Conv", $"{name}.conv", [input, $"{name}.w", $"{name}.b"], [$"{name}.c"],
                    ("kernel_shape", new long[] { 5, 5 }), ("pads", new long[] { 2, 2, 2, 2 }), ("strides", new long[] { 1, 1 }), ("dilations", new long[] { 1, 1 }), ("group", 1L))
                .Node("BatchNormalization", $"{name}.bn", [$"{name}.c", $"{name}.gamma", $"{name}.beta", $"{name}.mean", $"{name}.var"], [$"{name}.n"], ("epsilon", 1e-5f))
                .Node("Relu", $"{name}.relu", [$"{name}.n"], [$"{name}.r"])
                .Node("MaxPool", $"{name}.pool", [$"{name}.r"], [output],
                    ("kernel_shape", new long[] { poolKernel, poolKernel }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 0, 0, 0, 0 }), ("ceil_mode", 0L));
        }
        Layer("layer1", "x", "p1", 1, c1);
        Layer("layer2", "p1", "p2", c1, c2);
        return g.Initializer("target", [0L, -1L], 2)
            .Node("Reshape", "flatten", ["p2", "target"], ["flat"])
            .Initializer("fc.w", Random(10 * features, 99, 1f / MathF.Sqrt(features)), 10, features)
            .Initializer("fc.b", Random(10, 100, 0.1f), 10)
            .Node("Gemm", "fc", ["flat", "fc.w", "fc.b"], ["y"], ("transB", 1L))
            .Output("y", "N", 10);
    }

    private static Tensor Images(int n, int channels, int h, int w, int seed) =>
        Tensor.FromArray(Random(n * channels * h * w, seed, 1f), n, channels, h, w);

    private static DirectConvChainOp[] Chains(OnnxSession session) => session.Graph.Ops.OfType<DirectConvChainOp>().ToArray();

    [Fact]
    public void Seed_shaped_graph_fuses_both_layers_into_one_chain()
    {
        var session = SeedGraph().Session(Runtime);

        var chain = Assert.Single(Chains(session));
        Assert.Equal(2, chain.Stages.Count);
        Assert.All(chain.Stages, s => Assert.True(s.Relu && s.Pool is not null));
        Assert.Equal([1, 16], chain.Stages.Select(s => s.InChannels));
        Assert.Equal([2, 2], chain.Stages.Select(s => s.Padding));
        // Chain, Reshape, Gemm (BatchNormalization folded, Relu and MaxPool inside the chain).
        Assert.Equal(3, session.ExecutedNodeCount);
        Assert.DoesNotContain(session.Graph.Ops, op => op is ConvOp or PoolOp);
    }

    [Theory]
    [InlineData(1, null)]
    [InlineData(3, null)]
    [InlineData(3, 3)]
    [InlineData(32, null)]
    [InlineData(32, 3)]
    public void Seed_shaped_graph_runs_the_direct_kernels_and_matches_the_unfused_operators(int batch, int? threads)
    {
        var graph = SeedGraph();
        var fused = graph.Session(Runtime);
        var chain = Assert.Single(Chains(fused));
        chain.ThreadsOverride = threads;
        var x = Images(batch, 1, 28, 28, batch);

        var expected = graph.Session(Unfused).Run(x).ToArray();
        var actual = fused.Run(x);
        var again = fused.Run(x); // second run: cached plan and scratch, pooled output buffer

        TensorAssert.ShapeIs(actual, batch, 10);
        TensorAssert.Close(expected, actual.ToArray(), Tolerance.Accumulated, "first run");
        Assert.Equal(actual.ToArray(), again.ToArray());
        Assert.Equal(2, chain.DirectRuns);
        Assert.Equal(0, chain.FallbackRuns);
    }

    [Fact]
    public void Seed_shaped_graph_matches_a_float64_reference_at_every_simd_level()
    {
        // Independent of both runtime paths: conv, folded-out BN, relu, pool and fc computed in double from the graph's definition.
        var graph = SeedGraph();
        var model = graph.Build();
        double[] Init(string name) => TensorAssert.ToDouble(model.Graph.Initializers.Single(t => t.Name == name).ToTensor().Data);
        var x = Images(3, 1, 28, 28, 7);
        var h = TensorAssert.ToDouble(x.Data);
        int[] shape = [3, 1, 28, 28];
        foreach (var (name, cout) in new[] { ("layer1", 16), ("layer2", 32) })
        {
            var y = Reference.Conv2d(h, Init($"{name}.w"), Init($"{name}.b"), shape, [cout, shape[1], 5, 5], (1, 1), (2, 2), (1, 1), 1, out var ys);
            y = Reference.BatchNorm(y, ys, Init($"{name}.gamma"), Init($"{name}.beta"), training: false, Init($"{name}.mean"), Init($"{name}.var"), 1e-5);
            h = Reference.MaxPool2d(Reference.Relu(y), ys, new Reference.PoolSpec(2, 2, 2, 2, 0, 0));
            shape = [3, cout, ys[2] / 2, ys[3] / 2];
        }
        var expected = Reference.Linear(h, Init("fc.w"), Init("fc.b"), 3, 1568, 10);

        var session = new OnnxSession(model, Runtime);
        var chain = Assert.Single(Chains(session));
        foreach (var level in new[] { IsaLevel.Scalar, IsaLevel.V128, IsaLevel.V256 })
        {
            using var _ = Isa.Use(level);
            TensorAssert.Close(expected, session.Run(x).ToArray(), new Tolerance(1e-4, 1e-4), level.ToString());
        }
        Assert.Equal(3, chain.DirectRuns);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(1e37f)] // finite, but the first convolution could overflow
    public void Non_finite_or_huge_inputs_take_the_ordinary_path_and_keep_its_nan_and_infinity_rules(float special)
    {
        // The direct kernels' ReLU and pool use the hardware max, which can turn NaN into 0; the ordinary path propagates it.
        var graph = SeedGraph();
        var session = graph.Session(Runtime);
        var chain = Assert.Single(Chains(session));
        var data = Images(2, 1, 28, 28, 9).ToArray();
        data[784 + 300] = special; // second image only
        var x = Tensor.FromArray(data, 2, 1, 28, 28);

        var expected = graph.Session(Unfused).Run(x).ToArray();
        var actual = session.Run(x).ToArray();

        Assert.Equal((0L, 1L), (chain.DirectRuns, chain.FallbackRuns));
        Assert.Equal(expected.Select(float.IsNaN), actual.Select(float.IsNaN));
        if (float.IsNaN(special)) Assert.All(actual.Skip(10), v => Assert.True(float.IsNaN(v)));
        Assert.Equal(expected, actual); // the same operators ran
    }

    [Fact]
    public void Eight_output_channels_keep_the_ordinary_path_and_stay_correct()
    {
        // Near miss: 8 channels is not a multiple of 16, so neither convolution qualifies (the second reads 8 channels).
        var graph = SeedGraph(c1: 8);
        var session = graph.Session(Runtime);
        Assert.Empty(Chains(session));
        Assert.Equal(2, session.Graph.Ops.OfType<ConvOp>().Count());

        var x = Images(2, 1, 28, 28, 3);
        var reference = SeedGraph(c1: 8).Session(new OnnxSessionOptions { CompilePlan = false, FoldBatchNorm = false, FuseConvRelu = false, FuseDirectConvolutions = false });
        TensorAssert.Close(reference.Run(x).ToArray(), session.Run(x).ToArray(), Tolerance.Accumulated);
    }

    [Fact]
    public void Maxpool_3x3_stays_an_ordinary_pool_between_two_fused_convolutions()
    {
        // Near miss: a 3x3/2 pool is not the direct kernels' 2x2/2 pool; each conv+relu is its own chain, the pools run as before.
        var graph = SeedGraph(poolKernel: 3);
        var session = graph.Session(Runtime);
        var chains = Chains(session);
        Assert.Equal(2, chains.Length);
        Assert.All(chains, c => Assert.True(Assert.Single(c.Stages).Pool is null));
        Assert.Equal(2, session.Graph.Ops.OfType<PoolOp>().Count());

        var x = Images(3, 1, 28, 28, 4);
        TensorAssert.Close(graph.Session(Unfused).Run(x).ToArray(), session.Run(x).ToArray(), Tolerance.Accumulated);
        Assert.All(chains, c => Assert.Equal(1, c.DirectRuns));
    }

    /// <summary>Conv 16→16 3x3 pad 1 (+Relu) → Conv 16→32 3x3 pad 1 on inputs of any size: a chain without pools whose input has 16 channels.</summary>
    internal static OnnxTestGraph DeepGraph() =>
        new OnnxTestGraph().Input("x", "N", "C", "H", "W")
            .Initializer("w1", Random(16 * 16 * 9, 1, 0.1f), 16, 16, 3, 3)
            .Initializer("b1", Random(16, 2, 0.1f), 16)
            .Initializer("w2", Random(32 * 16 * 9, 3, 0.1f), 32, 16, 3, 3)
            .Node("Conv", "c1", ["x", "w1", "b1"], ["a"], ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Relu", "r1", ["a"], ["r"])
            .Node("Conv", "c2", ["r", "w2"], ["y"], ("auto_pad", "SAME_UPPER"))
            .Output("y");

    [Fact]
    public void Chain_without_pools_on_blocked_input_matches_and_large_inputs_fall_back_at_run_time()
    {
        var graph = DeepGraph();
        var session = graph.Session(Runtime);
        var chain = Assert.Single(Chains(session));
        Assert.Equal([(16, true), (32, false)], chain.Stages.Select(s => (s.OutChannels, s.Relu)));
        var unfused = graph.Session(Unfused);

        // 13x9: 13*9*16*16*9 multiply-adds per image, well under the threshold: direct kernels, odd sizes.
        var small = Images(2, 16, 13, 9, 5);
        TensorAssert.Close(unfused.Run(small).ToArray(), session.Run(small).ToArray(), Tolerance.Accumulated, "13x9");
        Assert.Equal((1L, 0L), (chain.DirectRuns, chain.FallbackRuns));

        using (Isa.Use(IsaLevel.V128))
        {
            // 48x48, two images: the second conv has 48*48*32*16*9 = 10.6 M multiply-adds per image, more than one
            // image's share on one thread (the GEMM path splits it inside the image), and below V256 there is no
            // Winograd F(4x4, 3x3), so the run uses the original operators.
            var large = Images(2, 16, 48, 48, 6);
            TensorAssert.Close(unfused.Run(large).ToArray(), session.Run(large).ToArray(), Tolerance.Accumulated, "48x48");
            Assert.Equal((1L, 1L), (chain.DirectRuns, chain.FallbackRuns));

            // The same size at batch 1: no Winograd F(4x4, 3x3) split either.
            var one = Images(1, 16, 48, 48, 9);
            TensorAssert.Close(unfused.Run(one).ToArray(), session.Run(one).ToArray(), Tolerance.Accumulated, "48x48 V128");
            Assert.Equal((1L, 2L), (chain.DirectRuns, chain.FallbackRuns));
        }

        // Errors come from the original operators, unchanged.
        var wrong = Images(1, 8, 13, 9, 7);
        var e = Assert.Throws<ShapeException>(() => session.Run(wrong));
        Assert.Contains("channels", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Single_large_image_runs_winograd_split_over_threads_with_identical_bits(bool v512)
    {
        using var _ = Isa.Use(v512 ? IsaLevel.V512 : IsaLevel.V256);
        var graph = DeepGraph();
        var session = graph.Session(Runtime);
        var chain = Assert.Single(Chains(session));
        // 47x45: the second conv has 47*45*32*16*9 = 9.7 M multiply-adds, over the threshold, so both 3x3 stages run
        // Winograd F(4x4, 3x3) split over the threads; odd sizes give partial 4x4 edge tiles.
        var x = Images(1, 16, 47, 45, 11);
        var expected = graph.Session(Unfused).Run(x).ToArray();
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            chain.ThreadsOverride = threads;
            var got = session.Run(x).ToArray();
            TensorAssert.Close(expected, got, Tolerance.Accumulated, $"{threads} threads");
            if (first is null) first = got;
            else Assert.True(first.AsSpan().SequenceEqual(got), $"{threads} threads: bits differ from 1 thread");
        }
        Assert.Equal((3L, 0L), (chain.DirectRuns, chain.FallbackRuns));

        // Non-finite inputs keep the ordinary path at batch 1 too.
        var bad = x.ToArray();
        bad[123] = float.NaN;
        var y = session.Run(Tensor.FromArray(bad, 1, 16, 47, 45)).ToArray();
        Assert.Contains(y, float.IsNaN);
        Assert.Equal((3L, 1L), (chain.DirectRuns, chain.FallbackRuns));
    }

    [Fact]
    public void An_intermediate_graph_output_ends_the_chain()
    {
        var graph = DeepGraph().Output("r");
        var session = graph.Session(Runtime);
        // The Relu output is read by the caller, so Conv1+Relu and Conv2 are two chains and "r" is NCHW.
        Assert.Equal(2, Chains(session).Length);
        var x = Images(1, 16, 10, 10, 8);
        var expected = graph.Session(Unfused).Run(new Dictionary<string, Tensor> { ["x"] = x });
        var actual = session.Run(new Dictionary<string, Tensor> { ["x"] = x });
        foreach (string name in new[] { "y", "r" })
            TensorAssert.Close(expected[name].ToArray(), actual[name].ToArray(), Tolerance.Accumulated, name);
    }

    [Fact]
    public void Conformance_seed_convnet_runs_on_the_direct_kernels_and_reproduces_pytorch()
    {
        var session = OnnxSession.Load(ConformanceModels.Model("seed_convnet"), Runtime);
        var chain = Assert.Single(Chains(session));
        Assert.Equal(2, chain.Stages.Count);
        var output = session.Run(ConformanceModels.Input("seed_convnet"));
        // The whole-network tolerance of the conformance suite (rtol 1e-3, atol 1e-5).
        TensorAssert.Close(TensorAssert.ToDouble(ConformanceModels.Output("seed_convnet").Data), output.ToArray(), new Tolerance(1e-3, 1e-5));
        Assert.Equal((1L, 0L), (chain.DirectRuns, chain.FallbackRuns));
    }
}
