using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Downsampling residual blocks inside one inference conv chain (<c>PlanBuilder.InferenceProjections</c>): the projection
/// shortcut computed from the strided stage's phase image (<see cref="ProjectionShortcut"/>) and the strided stage fed from
/// the previous block's blocked output. Against the plan with the switch off (the projection its own chain, NCHW between
/// the blocks) and the eager modules, with random batch-norm statistics, for batches not divisible by the chunk size, batch
/// 1 (the intra-image split) and odd map sizes, on every ISA path; bit-identical for every thread count.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ConvChainProjectionTests
{
    private static readonly Tolerance Forward = new(2e-4, 2e-5);

    public static TheoryData<int> Levels => new() { (int)IsaLevel.V512, (int)IsaLevel.V256, (int)IsaLevel.V128, (int)IsaLevel.Scalar };

    // A stem, an identity block, two downsampling blocks (31x31 -> 16x16 -> 8x8: an odd input, the phase image one row and
    // column larger than the output) with an identity block between them, pooled into a linear layer (also
    // ConvChainTrainProjectionTests' net: there the first downsampling block's identity block makes its projection's add an
    // inner one).
    internal static Sequential Net(Generator g) => new(
        new Conv2d(3, 16, 3, padding: 1, generator: g), new BatchNorm2d(16), new ReLU(),
        new BasicBlock(16, 16, generator: g), new BasicBlock(16, 32, stride: 2, generator: g), new BasicBlock(32, 32, generator: g),
        new BasicBlock(32, 48, stride: 2, generator: g),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(48, 5, generator: g));

    // Random running statistics and affine parameters in every batch norm (the projection's fold is exercised).
    internal static void Randomise(Module m, Generator g)
    {
        foreach (var bn in m.NamedModules().Select(e => e.Value).OfType<BatchNormBase>())
        {
            Tensor.Randn(g, bn.RunningMean!.Shape.ToArray()).Data.CopyTo(bn.RunningMean.Data);
            var v = Tensor.Rand(g, bn.RunningVar!.Shape.ToArray()).Data;
            for (int i = 0; i < v.Length; i++) bn.RunningVar.Data[i] = 0.3f + v[i];
            Tensor.Rand(g, bn.Weight!.Shape.ToArray()).Data.CopyTo(bn.Weight.Data);
            Tensor.Randn(g, bn.Bias!.Shape.ToArray()).Data.CopyTo(bn.Bias.Data);
        }
    }

    private static CompiledModel Plan(Module m, int[] shape, bool projections)
    {
        PlanBuilder.InferenceProjections = projections;
        try
        {
            return m.Compile(shape);
        }
        finally
        {
            PlanBuilder.InferenceProjections = true;
        }
    }

    [Theory, MemberData(nameof(Levels))]
    public void In_chain_projections_match_the_separate_projection_chain_and_eager(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        long savedMin = ConvChainOp.MinSplitMacs;
        ConvChainOp.MinSplitMacs = 0;
        try
        {
            var m = Net(new Generator(11));
            Randomise(m, new Generator(12));
            m.Eval();
            foreach (int n in new[] { 7, 1, 2 })
            {
                int[] shape = [n, 3, 31, 31];
                var off = Plan(m, shape, projections: false);
                var on = Plan(m, shape, projections: true);
                var lines = on.Describe(shape).Split(Environment.NewLine);
                // One chain: the stem and every block, both projections inside it, no NCHW value between the blocks (off: the
                // first stage's chain, then per downsampling block its projection's chain and its own).
                var chain = Assert.Single(lines, l => l.StartsWith("ConvChain[", StringComparison.Ordinal));
                Assert.Contains("+Projection(16->32 1x1 stride 2+BatchNorm(running stats))+Add+ReLU | Conv2d", chain, StringComparison.Ordinal);
                Assert.Contains("+Projection(32->48 1x1 stride 2+BatchNorm(running stats))+Add+ReLU]", chain, StringComparison.Ordinal);
                Assert.Equal(5, off.Describe(shape).Split(Environment.NewLine).Count(l => l.StartsWith("ConvChain[", StringComparison.Ordinal)));
                var x = Tensor.Randn(new Generator((ulong)(30 + n)), shape);
                using var _ = GradMode.NoGrad();
                var expected = m.Forward(x).ToArray();
                float[] reference, separate;
                using (ExecutionOptions.Use(ExecutionOptions.Default with { Threads = 1 }))
                {
                    reference = on.Forward(x).ToArray();
                    separate = off.Forward(x).ToArray();
                }
                TensorAssert.Close(separate, reference, Forward, $"batch {n}: against the separate projection chains");
                TensorAssert.Close(expected, reference, Forward, $"batch {n}: against eager");
                foreach (int threads in new[] { 2, 3 })
                {
                    using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
                    long before = Interlocked.Read(ref ConvChainOp.SplitForwards);
                    Assert.Equal(reference, on.Forward(x).ToArray());
                    if (n < threads) Assert.True(Interlocked.Read(ref ConvChainOp.SplitForwards) > before, $"batch {n}, {threads} threads: not split");
                }
            }
        }
        finally
        {
            ConvChainOp.MinSplitMacs = savedMin;
        }
    }

    [Fact]
    public void ResNet8_eval_and_training_plans_are_one_chain_with_both_projections_inside()
    {
        var m = new ResNet8(10, new Generator(5));
        int[] shape = [6, 3, 32, 32];
        var train = m.Compile(shape).Describe(shape).Split(Environment.NewLine);
        m.Eval();
        var eval = m.Compile(shape).Describe(shape).Split(Environment.NewLine);
        var chain = Assert.Single(eval, l => l.StartsWith("ConvChain[", StringComparison.Ordinal));
        Assert.Equal(2, chain.Split("+Projection(").Length - 1);
        Assert.Contains("32->64 3x3 stride 2", chain, StringComparison.Ordinal);
        // Training plans: one chain too, the projections inside (PlanBuilder.TrainingProjections, TrainingDownsampling).
        Assert.Single(train, l => l.StartsWith("ConvChain[", StringComparison.Ordinal));
        Assert.Equal(2, string.Join('\n', train).Split("+Projection(").Length - 1);
    }
}
