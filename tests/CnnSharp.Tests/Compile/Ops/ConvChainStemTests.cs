using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Models;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Conv chains whose first stage reads an input of fewer than 16 channels (an RGB stem, planar in the direct kernels):
/// against the eager modules on every ISA path, across thread counts, and in the plans of VGG-small and ResNet8.
/// </summary>
public sealed class ConvChainStemTests
{
    /// <summary>Chain specs in <see cref="ConvChainOpTests"/>'s notation: VGG-small's stem into a pooled stage, ResNet8's
    /// stem into a block's first conv, a 5-channel 5x5 stem with cumulative-average batch norm and a valid-padded 2-channel stem into 48 outputs.</summary>
    private static readonly string[] Stems =
    [
        "3x12 b7: 32 k3 p1 bn relu -; 32 k3 p1 bn relu pool",
        "3x9 b5: 16 k3 p1 bn relu -; 16 k3 p1 bn - -",
        "5x11 b4: 16 k5 p2 bn2 - pool; 16 k3 p1 - relu -",
        "2x10 b3: 48 k3 p0 bn3 relu pool; 16 k3 p1 - - -",
    ];

    public static TheoryData<string, int> StemsOnEveryIsa()
    {
        var data = new TheoryData<string, int>();
        foreach (IsaLevel level in Enum.GetValues<IsaLevel>())
            foreach (string spec in Stems)
                data.Add(spec, (int)level);
        return data;
    }

    [Theory, MemberData(nameof(StemsOnEveryIsa))]
    public void Stem_chains_match_eager_on_every_isa(string spec, int level)
    {
        // The chain reads the ISA level when it is planned: the scope covers planning, eager reference and steps.
        using var _ = Isa.Use((IsaLevel)level);
        var chains = new ConvChainOpTests();
        chains.Train_steps_match_eager_gradients_and_running_stats(spec);
        // With an input that requires a gradient, the stem's input gradient runs as a 16-channel one.
        chains.Input_gradient_matches_eager(spec);
        var m = ConvChainOpTests.Build(spec, 1, out var shape);
        string plan = m.Compile().Describe(shape);
        Assert.Contains($"ConvChain[Conv2d direct {shape[1]}->", plan, StringComparison.Ordinal);
    }

    [Fact]
    public void Stem_chain_train_step_and_input_gradient_are_bit_identical_across_thread_counts() =>
        ConvChainOpTests.AssertTrainStepThreadInvariant("3x12 b13: 32 k3 p1 bn relu -; 32 k3 p1 bn relu pool");

    [Fact]
    public void A_stem_that_feeds_an_identity_block_starts_the_blocks_chain_in_both_plans()
    {
        int[] shape = [4, 3, 32, 32];
        foreach (bool training in new[] { true, false })
        {
            var m = new ResNet8(10, new Generator(1));
            if (!training) m.Eval();
            // ResNet8's stem output is also block 1's skip operand (two readers): alone, its chain would be the stem only,
            // measured no faster than Conv2dOp + batch norm (PlanBuilder.LoneStemChains); but both plan kinds merge block 1
            // into the stem's chain (PlanBuilder.BlockedResiduals, BlockedInferenceResiduals), so the stem is its first stage.
            var lines = m.Compile().Describe(shape).Split(Environment.NewLine);
            string norm = training ? "+BatchNorm" : "+BatchNorm(running stats)";
            Assert.StartsWith($"ConvChain[Conv2d direct 3->16 3x3{norm}+ReLU | Conv2d ", lines[0], StringComparison.Ordinal);
            Assert.Contains($"16->16 3x3{norm}+Add+ReLU", lines[0], StringComparison.Ordinal);
            Assert.DoesNotContain(lines, l => l.StartsWith("Conv2d", StringComparison.Ordinal));
        }
    }
}
