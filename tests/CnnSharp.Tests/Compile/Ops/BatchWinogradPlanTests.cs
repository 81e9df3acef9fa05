using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Kernels;
using CnnSharp.Modules;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Inference plans run wide 3x3 stride-1 convs on small maps over the whole batch on batch-folded Winograd
/// (<c>BatchWinogradConvOp</c>, <see cref="PlanBuilder.BatchWinograd"/>) from <see cref="PlanBuilder.BatchWinogradMinChannels"/>
/// (256) channels and <see cref="PlanBuilder.BatchWinogradMinTiles"/> (32) tiles in the batch, on V256 and V512 only;
/// batch 1, training plans and narrower convs keep their chains. The plan matches the eager modules within 1e-4 relative
/// L2 with the same bits on 1 to 3 threads.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class BatchWinogradPlanTests
{
    private const string Op = "Conv2d(batch Winograd)";

    // A 16 -> 256 stem conv, then an identity residual block of two 256 -> 256 3x3 convs (ResNet-18's layer-3 width);
    // the block's output map is the model output, so the comparison sees every output of the batch kernel.
    private static Sequential Wide(Generator g) => new(
        new Conv2d(16, 256, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(256), new ReLU(),
        new TestNets.Block(256, 256, 1, g));

    [Fact]
    public void Wide_small_map_convs_take_the_batch_kernel_in_eval_plans_from_32_tiles()
    {
        var model = Wide(new Generator(1));
        Assert.DoesNotContain(Op, model.Compile().Describe(32, 16, 7, 7), StringComparison.Ordinal);
        model.Eval();
        string eval = model.Compile().Describe(32, 16, 7, 7);
        if (Isa.Level < IsaLevel.V256)
        {
            Assert.DoesNotContain(Op, eval, StringComparison.Ordinal);
            return;
        }
        var lines = eval.Split(Environment.NewLine);
        Assert.Contains(lines, l => l.StartsWith(Op + "+BatchNorm(folded)+ReLU", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(Op + "+BatchNorm(folded)+Add+ReLU", StringComparison.Ordinal));
        // The 16 -> 256 stem is too narrow: it stays a chain.
        Assert.Contains(lines, l => l.StartsWith("ConvChain[Conv2d", StringComparison.Ordinal) && l.Contains("16->256 3x3", StringComparison.Ordinal));
        // 4 images of 4 tiles (7x7) are too few, 8 images or 2 of 16 tiles (14x14) enough.
        Assert.DoesNotContain(Op, model.Compile().Describe(4, 16, 7, 7), StringComparison.Ordinal);
        Assert.Contains(Op, model.Compile().Describe(8, 16, 7, 7), StringComparison.Ordinal);
        Assert.DoesNotContain(Op, model.Compile().Describe(1, 16, 14, 14), StringComparison.Ordinal);
        Assert.Contains(Op, model.Compile().Describe(2, 16, 14, 14), StringComparison.Ordinal);
        // 17x17 (25 tiles per image) runs the per-image chains.
        Assert.DoesNotContain(Op, model.Compile().Describe(8, 16, 17, 17), StringComparison.Ordinal);
        using (Isa.Use(IsaLevel.V128)) Assert.DoesNotContain(Op, model.Compile().Describe(32, 16, 7, 7), StringComparison.Ordinal);
        PlanBuilder.BatchWinograd = false;
        try
        {
            Assert.DoesNotContain(Op, model.Compile().Describe(32, 16, 7, 7), StringComparison.Ordinal);
        }
        finally
        {
            PlanBuilder.BatchWinograd = true;
        }
    }

    [Fact]
    public void Batch_winograd_eval_plan_matches_eager_with_identical_bits_over_threads()
    {
        var eager = Wide(new Generator(2));
        var compiled = TestNets.EvalTwin(eager, Wide(new Generator(3)), Tensor.Randn(new Generator(4), [8, 16, 14, 14]));
        var x = Tensor.Randn(new Generator(5), [8, 16, 14, 14]);
        using var _ = GradMode.NoGrad();
        var expected = eager.Forward(x).ToArray();
        float[] Run(int threads)
        {
            using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
            return compiled.Forward(x).ToArray();
        }
        var one = Run(1);
        Assert.Null(compiled.FallbackReason);
        Assert.Equal(Isa.Level >= IsaLevel.V256, compiled.Describe(8, 16, 14, 14).Contains(Op, StringComparison.Ordinal));
        double error = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            error += Math.Pow((double)expected[i] - one[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        Assert.True(Math.Sqrt(error) <= 1e-4 * Math.Sqrt(norm), $"relative error {Math.Sqrt(error / norm):E2} against eager");
        foreach (int threads in new[] { 2, 3 }) Assert.Equal(one, Run(threads));
    }
}
