using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// <see cref="ConvChainLayer.SmallMapWinograd"/>: 3x3 stages of at most 64 x 64 channels run as Winograd F(4x4, 3x3) from 4
/// output tiles (ResNet-8's 64 -> 64 at 8x8 in training and inference plans, its 32 -> 32 at 16x16 in inference plans),
/// below the tile thresholds; wider stages and maps under 4 tiles stay direct, and the switch off gives the threshold
/// plans back. That these plans compute the right values is <c>CompiledModelTests</c>' (ResNet-8: eval against eager,
/// training gradients and running statistics against eager, bits over thread counts).
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class SmallMapWinogradTests
{
    // Winograd needs 256-bit vectors; below, every stage is direct anyway (CI's DOTNET_EnableAVX2=0 leg).
    private static string Winograd => Isa.Level >= IsaLevel.V256 ? "winograd" : "direct";

    [Fact]
    public void Resnet8_small_maps_run_winograd_and_the_switch_turns_them_direct()
    {
        string train = new ResNet8(10, new Generator(1)).Compile().Describe(4, 3, 32, 32);
        string eval = new ResNet8(10, new Generator(1)).Eval().Compile().Describe(4, 3, 32, 32);
        Assert.Contains($"| Conv2d {Winograd} 64->64 3x3+BatchNorm+Projection(", train, StringComparison.Ordinal);
        Assert.Contains($"| Conv2d {Winograd} 32->32 3x3+BatchNorm+Projection(", train, StringComparison.Ordinal);
        // (Eval plans: the projection shortcut is added after the block's last stage, PlanBuilder.InferenceProjections.)
        Assert.Contains($"| Conv2d {Winograd} 64->64 3x3+BatchNorm(running stats)+Projection(", eval, StringComparison.Ordinal);
        Assert.Contains($"| Conv2d {Winograd} 32->32 3x3+BatchNorm(running stats)+Projection(", eval, StringComparison.Ordinal);

        bool saved = ConvChainLayer.SmallMapWinograd;
        ConvChainLayer.SmallMapWinograd = false;
        try
        {
            train = new ResNet8(10, new Generator(1)).Compile().Describe(4, 3, 32, 32);
            eval = new ResNet8(10, new Generator(1)).Eval().Compile().Describe(4, 3, 32, 32);
        }
        finally
        {
            ConvChainLayer.SmallMapWinograd = saved;
        }
        Assert.Contains("| Conv2d direct 64->64 3x3+BatchNorm+Projection(", train, StringComparison.Ordinal);
        Assert.Contains($"| Conv2d {Winograd} 32->32 3x3+BatchNorm+Projection(", train, StringComparison.Ordinal); // 16 tiles: the training threshold
        Assert.Contains("| Conv2d direct 64->64 3x3+BatchNorm(running stats)+Projection(", eval, StringComparison.Ordinal);
        Assert.Contains("| Conv2d direct 32->32 3x3+BatchNorm(running stats)+Projection(", eval, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(128, 8, "direct")] // 128 x 128: the transform-domain weights (2.3 MB) leave L2
    [InlineData(64, 4, "direct")]  // one tile
    [InlineData(64, 7, "winograd")]
    [InlineData(16, 8, "winograd")]
    public void Only_narrow_stages_with_four_tiles_or_more_take_it(int channels, int size, string kernel)
    {
        var model = new Sequential(
            new Conv2d(16, channels, 3, padding: 1, bias: false, generator: new Generator(1)), new BatchNorm2d(channels), new ReLU(),
            new Conv2d(channels, channels, 3, padding: 1, bias: false, generator: new Generator(2)), new BatchNorm2d(channels), new ReLU());
        string expected = kernel == "winograd" ? Winograd : "direct";
        Assert.Contains($"Conv2d {expected} {channels}->{channels} 3x3+BatchNorm+ReLU]", model.Compile().Describe(2, 16, size, size), StringComparison.Ordinal);
        model.Eval();
        Assert.Contains($"Conv2d {expected} {channels}->{channels} 3x3+BatchNorm(running stats)+ReLU]", model.Compile().Describe(2, 16, size, size),
            StringComparison.Ordinal);
    }
}
