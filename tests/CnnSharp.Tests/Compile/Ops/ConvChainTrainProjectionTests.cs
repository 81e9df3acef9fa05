using CnnSharp.Compile;
using CnnSharp.Functional;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Tests.TestUtilities;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Downsampling blocks' projection shortcuts inside their training-plan conv chain (<c>PlanBuilder.TrainingProjections</c>,
/// <c>ConvChainOp.TrainProjection.cs</c>), and those blocks merged into the chain before them (strided inner stages,
/// <c>PlanBuilder.TrainingDownsampling</c>): the same sums in the same order as the separate chains, so the same
/// loss, gradients and running statistics bit for bit, on every ISA path, for batches not divisible by the chunk size and
/// odd map sizes; eager within tolerances; bit-identical for every thread count.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ConvChainTrainProjectionTests
{
    private static readonly Tolerance Grads = new(2e-3, 2e-5);

    public static TheoryData<int> Levels => ConvChainProjectionTests.Levels;

    private static Sequential Net(Generator g) => ConvChainProjectionTests.Net(g);

    private static CompiledModel Plan(Module m, int[] shape, bool projections, bool downsampling = true)
    {
        (PlanBuilder.TrainingProjections, PlanBuilder.TrainingDownsampling) = (projections, downsampling);
        try
        {
            return m.Compile(shape);
        }
        finally
        {
            (PlanBuilder.TrainingProjections, PlanBuilder.TrainingDownsampling) = (true, true);
        }
    }

    private static int Chains(CompiledModel c, int[] shape) => c.Describe(shape).Split(Environment.NewLine).Count(l => l.StartsWith("ConvChain[", StringComparison.Ordinal));

    // Two train steps (with an SGD update between them): the losses, then every gradient and buffer.
    private static float[][] Steps(Module m, CompiledModel compiled, int[] shape, int threads)
    {
        var result = new List<float[]>();
        using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
        for (int step = 0; step < 2; step++)
        {
            var x = Tensor.Randn(new Generator((ulong)(40 + step)), shape);
            result.Add([compiled.TrainStep(x, Labels(shape[0]))]);
            result.AddRange(m.Parameters().Select(p => p.Grad!.ToArray()));
            foreach (var p in m.Parameters()) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(p.Grad!.Data, -0.05f, p.Data, p.Data);
        }
        result.AddRange(m.NamedBuffers().Select(b => b.Value.ToArray()));
        return [.. result];
    }

    private static int[] Labels(int n) => [.. Enumerable.Range(0, n).Select(i => (i * 3 + 1) % 5)];

    [Theory, MemberData(nameof(Levels))]
    public void In_chain_training_projections_give_the_bits_of_the_separate_chains(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        foreach (int n in new[] { 7, 2 })
        {
            int[] shape = [n, 3, 31, 31];
            var a = Net(new Generator(11));
            var b = Net(new Generator(11));
            var c = Net(new Generator(11));
            var off = Plan(a, shape, projections: false);
            var separate = Plan(b, shape, projections: true, downsampling: false);
            var merged = Plan(c, shape, projections: true);
            // Off: the stem with stage 1, per downsampling block its projection's chain and its own (the first with the
            // identity block after it); projections in-chain: 3 chains (the first projection's add an inner one); merged:
            // one chain, both strided stages inner ones.
            Assert.Equal(5, Chains(off, shape));
            Assert.Equal(3, Chains(separate, shape));
            var chain = Assert.Single(merged.Describe(shape).Split(Environment.NewLine), l => l.StartsWith("ConvChain[", StringComparison.Ordinal));
            Assert.Contains("+Projection(16->32 1x1 stride 2+BatchNorm)+Add+ReLU | Conv2d", chain, StringComparison.Ordinal);
            Assert.Contains("| Conv2d direct 32->48 3x3 stride 2+BatchNorm+ReLU | Conv2d", chain, StringComparison.Ordinal);
            Assert.Contains("+Projection(32->48 1x1 stride 2+BatchNorm)+Add+ReLU]", chain, StringComparison.Ordinal);
            var expected = Steps(a, off, shape, threads: 2);
            foreach (var (m, compiled) in new[] { (b, separate), (c, merged) })
            {
                var actual = Steps(m, compiled, shape, threads: 1);
                Assert.Equal(expected.Length, actual.Length);
                for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i]);
            }
        }
    }

    [Fact]
    public void In_chain_training_projections_match_eager_and_are_bit_identical_across_thread_counts()
    {
        int[] shape = [7, 3, 31, 31];
        var eager = Net(new Generator(13));
        var reference = Net(new Generator(13));
        var compiled = Plan(reference, shape, projections: true);
        var x = Tensor.Randn(new Generator(50), shape);
        var labels = Labels(shape[0]);
        eager.ZeroGrad();
        var loss = F.CrossEntropy(eager.Forward(x), labels);
        loss.Backward();
        Assert.Equal(loss.Item(), compiled.TrainStep(x, labels), 4);
        var compiledParams = reference.NamedParameters().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, p) in eager.NamedParameters())
            TensorAssert.Close(p.Grad!.Data, compiledParams[key].Grad!.Data, Grads, $"grad {key}");
        var buffers = reference.NamedBuffers().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, buffer) in eager.NamedBuffers())
            TensorAssert.Close(buffer.Data, buffers[key].Data, new Tolerance(2e-4, 2e-5), $"buffer {key}");

        float[][] Run(int threads)
        {
            var m = Net(new Generator(13));
            return Steps(m, Plan(m, shape, projections: true), shape, threads);
        }
        var one = Run(1);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(3));
    }

    [Fact]
    public void ResNet8_training_plan_is_one_chain_with_the_projections_inside()
    {
        var m = new ResNet8(10, new Generator(5));
        int[] shape = [6, 3, 32, 32];
        var chain = Assert.Single(m.Compile(shape).Describe(shape).Split(Environment.NewLine), l => l.StartsWith("ConvChain[", StringComparison.Ordinal));
        Assert.Contains("+Projection(16->32 1x1 stride 2+BatchNorm)+Add+ReLU | Conv2d", chain, StringComparison.Ordinal);
        Assert.Contains("+Projection(32->64 1x1 stride 2+BatchNorm)+Add+ReLU]", chain, StringComparison.Ordinal);
        // Without the downsampling merge: one chain per stage.
        Assert.Equal(3, Chains(Plan(m, shape, projections: true, downsampling: false), shape));
    }
}
