using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Stride-2 convolutions as the first stages of conv chains in inference plans (<see cref="PlanBuilder.StridedInferenceChains"/>):
/// ResNet's downsampling blocks become one chain with the residual add, with evaluation batch norm in the chain's
/// epilogue; on every ISA path the eval output equals the eager modules' within 1e-4 (relative L2), is bit-identical for
/// 1 to 4 threads and for batches above and below the thread count (the intra-image split), and the switch turned off
/// gives back the implicit-GEMM plan. Strided stems of few channels (ResNet-18's 7x7 stride-2 stem on RGB) run as planar
/// phase-split chain stages (<see cref="ConvChainOp.SupportsStridedStem"/>), checked the same way.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ConvChainStridedInferenceTests
{
    public static TheoryData<int> Levels => new() { (int)IsaLevel.V512, (int)IsaLevel.V256, (int)IsaLevel.V128, (int)IsaLevel.Scalar };

    [Fact]
    public void Resnet_downsampling_blocks_are_strided_chains_in_eval_plans()
    {
        var m = new ResNet8(10, new Generator(1));
        m.Eval();
        string eval = m.Compile().Describe(4, 3, 32, 32);
        // The second stage (16x16: 16 Winograd tiles, below the inference plans' ConvChainLayer.MinInferenceWinogradTiles, but
        // 32 channels: ConvChainLayer.SmallMapWinograd) is Winograd where the ISA has it.
        string second = Isa.Level >= IsaLevel.V256 ? "winograd" : "direct";
        // The downsampling blocks are strided stages of the one merged chain, their projection shortcuts inside it
        // (PlanBuilder.InferenceProjections); off, each block and each projection is a chain of its own.
        Assert.Contains($"| Conv2d direct 16->32 3x3 stride 2+BatchNorm(running stats)+ReLU | Conv2d {second} 32->32 3x3+BatchNorm(running stats)"
            + "+Projection(16->32 1x1 stride 2+BatchNorm(running stats))+Add+ReLU | Conv2d direct 32->64 3x3 stride 2+BatchNorm(running stats)+ReLU | Conv2d",
            eval, StringComparison.Ordinal);
        PlanBuilder.InferenceProjections = false;
        try
        {
            string separate = new ResNet8(10, new Generator(1)).Eval().Compile().Describe(4, 3, 32, 32);
            Assert.Contains($"ConvChain[Conv2d direct 16->32 3x3 stride 2+BatchNorm(running stats)+ReLU | Conv2d {second} 32->32 3x3+BatchNorm(running stats)]+Add+ReLU",
                separate, StringComparison.Ordinal);
            Assert.Contains("ConvChain[Conv2d direct 32->64 3x3 stride 2+BatchNorm(running stats)+ReLU | Conv2d", separate, StringComparison.Ordinal);
            Assert.Contains("ConvChain[Conv2d direct 16->32 1x1 stride 2+BatchNorm(running stats)]", separate, StringComparison.Ordinal);
        }
        finally
        {
            PlanBuilder.InferenceProjections = true;
        }
        // The 3-channel stem starts the chain that block 1 merges into: no convolution is left to Conv2dOp.
        Assert.DoesNotContain(eval.Split(Environment.NewLine), l => l.StartsWith("Conv2d", StringComparison.Ordinal));

        bool saved = PlanBuilder.StridedInferenceChains;
        PlanBuilder.StridedInferenceChains = false;
        try
        {
            string gemm = new ResNet8(10, new Generator(1)).Eval().Compile().Describe(4, 3, 32, 32);
            Assert.DoesNotContain("stride 2", gemm, StringComparison.Ordinal);
            // The four stride-2 convs (two 3x3, two 1x1 projections); the stem is in block 1's merged chain.
            Assert.Equal(4, gemm.Split(Environment.NewLine).Count(l => l.StartsWith("Conv2d+BatchNorm(folded)", StringComparison.Ordinal)));
        }
        finally
        {
            PlanBuilder.StridedInferenceChains = saved;
        }
    }

    // The eval forward on 1 thread within 1e-4 (relative L2) of the eager modules, and the same bits on 2, 3 and 4 threads
    // (scoped thread counts: other test classes set the process default in parallel).
    private static void AssertEvalMatches(Module eager, CompiledModel compiled, Tensor x, string what)
    {
        var expected = eager.Forward(x).ToArray();
        float[] Run(int threads)
        {
            using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
            return compiled.Forward(x).ToArray();
        }
        var one = Run(1);
        double error = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            error += Math.Pow((double)expected[i] - one[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        Assert.True(Math.Sqrt(error) <= 1e-4 * Math.Sqrt(norm), $"{what}: relative error {Math.Sqrt(error / norm):E2} against eager");
        foreach (int threads in new[] { 2, 3, 4 }) Assert.Equal(one, Run(threads));
    }

    [Theory, MemberData(nameof(Levels))]
    public void Eval_output_matches_eager_and_is_bit_identical_across_threads_and_the_split(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        long savedMin = ConvChainOp.MinSplitMacs;
        int savedGemm = PlanBuilder.MaxStridedGemmPixels;
        ConvChainOp.MinSplitMacs = 0;
        // Every strided conv a chain stage, the 5x5 outputs too (ResNet-18's 7x7 ones stay on the GEMM by default).
        PlanBuilder.MaxStridedGemmPixels = 0;
        try
        {
            // 16 input channels: the stem is a chain too, so every conv of the network is a chain stage. 20x20 input: odd
            // sizes after the stride-2 stages (10 -> 5 -> 3).
            var eager = new ResNet8(numClasses: 5, generator: new Generator(3), inChannels: 16);
            var model = new ResNet8(numClasses: 5, generator: new Generator(3), inChannels: 16);
            var compiled = TestNets.EvalTwin(eager, model, Tensor.Randn(new Generator(4), [6, 16, 20, 20]));
            Assert.Contains("3x3 stride 2+BatchNorm(running stats)+ReLU | ", compiled.Describe(1, 16, 20, 20), StringComparison.Ordinal);
            using var _ = GradMode.NoGrad();
            foreach (int n in new[] { 1, 2, 5 })
                AssertEvalMatches(eager, compiled, Tensor.Randn(new Generator((ulong)(10 + n)), [n, 16, 20, 20]), $"{(IsaLevel)level}, batch {n}");
        }
        finally
        {
            ConvChainOp.MinSplitMacs = savedMin;
            PlanBuilder.MaxStridedGemmPixels = savedGemm;
        }
    }

    // A ResNet-18-shaped stem (7x7 stride 2 on 3 channels, odd size 23 -> 12, then a 3x3/2 max pool) and a MobileNet-shaped
    // one (3x3 stride 2 on 3 channels) followed by a second chain stage; a 1-channel 5x5 stride-2 stem (4 phase planes).
    private static (Module Model, int C, int Size) Stem(int which, Generator g) => which switch
    {
        0 => (new Sequential(
            new Conv2d(3, 16, 7, stride: 2, padding: 3, generator: g), new BatchNorm2d(16), new ReLU(), new MaxPool2d(3, 2, 1),
            new Conv2d(16, 16, 3, padding: 1, generator: g), new BatchNorm2d(16), new ReLU(),
            new Flatten(), new Linear(16 * 6 * 6, 5, generator: g)), 3, 23),
        1 => (new Sequential(
            new Conv2d(3, 32, 3, stride: 2, padding: 1, bias: false, generator: g), new BatchNorm2d(32), new ReLU(),
            new Conv2d(32, 16, 3, padding: 1, generator: g), new ReLU(),
            new Flatten(), new Linear(16 * 9 * 9, 5, generator: g)), 3, 17),
        _ => (new Sequential(
            new Conv2d(1, 16, 5, stride: 2, padding: 2, generator: g), new ReLU(),
            new Flatten(), new Linear(16 * 8 * 8, 5, generator: g)), 1, 16),
    };

    [Theory, MemberData(nameof(Levels))]
    public void Strided_rgb_stems_run_as_planar_chain_stages_equal_to_eager_for_any_thread_count(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        long savedMin = ConvChainOp.MinSplitMacs;
        ConvChainOp.MinSplitMacs = 0;
        try
        {
            for (int which = 0; which < 3; which++)
            {
                var (eager, c, size) = Stem(which, new Generator(5));
                var (model, _, _) = Stem(which, new Generator(5));
                var compiled = TestNets.EvalTwin(eager, model, Tensor.Randn(new Generator(6), [4, c, size, size]));
                string plan = compiled.Describe(2, c, size, size);
                Assert.StartsWith($"ConvChain[Conv2d direct {c}->", plan, StringComparison.Ordinal);
                Assert.Contains(" stride 2", plan.Split(Environment.NewLine)[0], StringComparison.Ordinal);
                using var _ = GradMode.NoGrad();
                foreach (int n in new[] { 1, 3 })
                    AssertEvalMatches(eager, compiled, Tensor.Randn(new Generator((ulong)(20 + n)), [n, c, size, size]), $"stem {which}, {(IsaLevel)level}, batch {n}");
                // Training plans keep the stem on the implicit GEMM (a planar strided stage has no input-gradient plan).
                model.Train();
                Assert.StartsWith("Conv2d", model.Compile().Describe(2, c, size, size), StringComparison.Ordinal);
            }
        }
        finally
        {
            ConvChainOp.MinSplitMacs = savedMin;
        }
    }
}
