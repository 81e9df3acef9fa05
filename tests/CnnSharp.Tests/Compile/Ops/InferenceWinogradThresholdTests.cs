using CnnSharp.Autograd;
using CnnSharp.Compile;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Modules;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Inference plans run a 3x3 stage as Winograd F(4x4, 3x3) only from <see cref="ConvChainLayer.MinInferenceWinogradTiles"/>
/// (17) output tiles per image: a 14x14 or 16x16 map (16 tiles) takes the direct kernel there, training plans keep
/// Winograd from 16 tiles, and 28x28 (49 tiles) stays Winograd in both. The direct eval plan matches the eager modules.
/// The threshold is what decides for wide stages; these 16-channel nets would otherwise take
/// <see cref="ConvChainLayer.SmallMapWinograd"/>, which is off here.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class InferenceWinogradThresholdTests : IDisposable
{
    private readonly bool _saved = ConvChainLayer.SmallMapWinograd;

    public InferenceWinogradThresholdTests() => ConvChainLayer.SmallMapWinograd = false;

    public void Dispose() => ConvChainLayer.SmallMapWinograd = _saved;

    // Winograd needs 256-bit vectors; below, every stage is direct anyway (CI's DOTNET_EnableAVX2=0 leg).
    private static string Winograd => Isa.Level >= IsaLevel.V256 ? "winograd" : "direct";

    [Theory]
    [InlineData(14)]
    [InlineData(16)]
    public void Sixteen_tile_maps_run_direct_in_eval_plans_and_winograd_in_training_plans(int size)
    {
        var model = TestNets.Vgg(new Generator(1));
        Assert.Contains($"Conv2d {Winograd} 16->16 3x3", model.Compile().Describe(4, 3, size, size), StringComparison.Ordinal);
        model.Eval();
        string eval = model.Compile().Describe(4, 3, size, size);
        Assert.Contains("Conv2d direct 16->16 3x3", eval, StringComparison.Ordinal);
        Assert.DoesNotContain("winograd", eval, StringComparison.Ordinal);
    }

    [Fact]
    public void Larger_maps_stay_winograd_in_eval_plans()
    {
        var model = TestNets.Vgg(new Generator(1));
        model.Eval();
        Assert.Contains($"Conv2d {Winograd} 16->16 3x3", model.Compile().Describe(4, 3, 28, 28), StringComparison.Ordinal);
    }

    [Fact]
    public void Direct_eval_plan_at_14x14_matches_eager_with_identical_bits_over_threads()
    {
        var eager = TestNets.Vgg(new Generator(2));
        var compiled = TestNets.EvalTwin(eager, TestNets.Vgg(new Generator(3)), Tensor.Randn(new Generator(4), [4, 3, 14, 14]));
        Assert.Contains("Conv2d direct 16->16 3x3", compiled.Describe(3, 3, 14, 14), StringComparison.Ordinal);
        var x = Tensor.Randn(new Generator(5), [3, 3, 14, 14]);
        var expected = eager.Forward(x).ToArray();
        float[] Run(int threads)
        {
            using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
            return compiled.Forward(x).ToArray();
        }
        var one = Run(1);
        Assert.Null(compiled.FallbackReason);
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
