using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Modules;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Inference plans keep a 3x3 stride-2 conv whose output map has at most <see cref="PlanBuilder.MaxStridedGemmPixels"/>
/// (49) pixels on the implicit GEMM (<c>Conv2dOp</c>, batch norm folded) instead of starting a conv chain with it; the
/// next conv still starts a chain, larger maps and training plans keep the strided chain stage, and the GEMM plan
/// matches the eager modules with the same bits on 1 to 3 threads.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class InferenceStridedGemmTests
{
    // 16 -> 32 3x3 stride 2 (14x14 -> 7x7 or 16x16 -> 8x8), then 32 -> 32 3x3: both with batch norm and ReLU.
    private static Sequential Build(Generator g) => new(
        new Conv2d(16, 32, 3, stride: 2, padding: 1, generator: g), new BatchNorm2d(32), new ReLU(),
        new Conv2d(32, 32, 3, padding: 1, generator: g), new BatchNorm2d(32), new ReLU(),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(32, 5, generator: g));

    [Fact]
    public void Strided_conv_to_7x7_stays_on_the_gemm_in_eval_plans_only()
    {
        var model = Build(new Generator(1));
        Assert.Contains("Conv2d direct 16->32 3x3 stride 2", model.Compile().Describe(2, 16, 14, 14), StringComparison.Ordinal);
        model.Eval();
        string eval = model.Compile().Describe(2, 16, 14, 14);
        Assert.DoesNotContain("stride 2", eval, StringComparison.Ordinal);
        Assert.Contains(eval.Split(Environment.NewLine), l => l.StartsWith("Conv2d+BatchNorm(folded)", StringComparison.Ordinal));
        // The 7x7 32-channel conv: Winograd from 4 tiles where the ISA has it (ConvChainLayer.SmallMapWinograd).
        Assert.Contains($"ConvChain[Conv2d {(CnnSharp.Kernels.Isa.Level >= CnnSharp.Kernels.IsaLevel.V256 ? "winograd" : "direct")} 32->32 3x3", eval, StringComparison.Ordinal);
        // 8x8 (64 pixels): the strided conv starts the chain.
        Assert.Contains("ConvChain[Conv2d direct 16->32 3x3 stride 2", model.Compile().Describe(2, 16, 16, 16), StringComparison.Ordinal);
    }

    [Fact]
    public void Gemm_strided_conv_at_7x7_matches_eager_with_identical_bits_over_threads()
    {
        var eager = Build(new Generator(2));
        var compiled = TestNets.EvalTwin(eager, Build(new Generator(3)), Tensor.Randn(new Generator(4), [4, 16, 14, 14]));
        var x = Tensor.Randn(new Generator(5), [3, 16, 14, 14]);
        using var _ = GradMode.NoGrad();
        var expected = eager.Forward(x).ToArray();
        float[] Run(int threads)
        {
            using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
            return compiled.Forward(x).ToArray();
        }
        var one = Run(1);
        Assert.Null(compiled.FallbackReason);
        Assert.DoesNotContain("stride 2", compiled.Describe(3, 16, 14, 14), StringComparison.Ordinal);
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
