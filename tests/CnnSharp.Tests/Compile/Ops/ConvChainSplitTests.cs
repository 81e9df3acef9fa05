using CnnSharp.Autograd;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// <see cref="ConvChainOp"/>'s inference forward split inside the image (batches smaller than the thread count): the
/// same bits as the image-by-image path for every thread count and batch, and the eager modules' result, on every ISA
/// path, for Winograd and direct stages (whole and cut into output-channel-group ranges), pooling, single- and
/// three-channel inputs and residual chains.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ConvChainSplitTests
{
    public static TheoryData<int> Levels => new() { (int)IsaLevel.V512, (int)IsaLevel.V256, (int)IsaLevel.V128, (int)IsaLevel.Scalar };

    // 18x18: 3x3 stages with 25 4x4 tiles (Winograd on V256/V512), then a pooled stage, then 3x3 on 9x9 (4 tiles: direct,
    // 96 channels cut into group ranges); a single-channel 5x5 stem; ResNet-8 with 16 input channels (residual chains); VGG-small's 3-channel stem.
    private static (Module Model, int C, int Size) Build(int which, Generator g) => which switch
    {
        0 => (new Sequential(
            new Conv2d(16, 32, 3, padding: 1, generator: g), new BatchNorm2d(32), new ReLU(),
            new Conv2d(32, 48, 3, padding: 1, generator: g), new BatchNorm2d(48), new ReLU(), new MaxPool2d(2),
            new Conv2d(48, 96, 3, padding: 0, generator: g), new ReLU(),
            new Flatten(), new Linear(96 * 7 * 7, 5, generator: g)), 16, 18),
        1 => (new Sequential(
            new Conv2d(1, 16, 5, padding: 2, generator: g), new ReLU(), new MaxPool2d(2),
            new Conv2d(16, 32, 3, padding: 1, generator: g), new BatchNorm2d(32), new ReLU(),
            new Flatten(), new Linear(32 * 10 * 10, 5, generator: g)), 1, 20),
        2 => (new ResNet8(numClasses: 5, generator: g, inChannels: 16), 16, 32),
        // A 3-channel (RGB) stem as the chain's first stage (small-channel planes).
        _ => (new VggSmall(numClasses: 5, generator: g), 3, 16),
    };

    [Theory, MemberData(nameof(Levels))]
    public void Split_forward_is_bit_identical_to_the_image_by_image_path_and_matches_eager(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        long savedMin = ConvChainOp.MinSplitMacs;
        ConvChainOp.MinSplitMacs = 0;
        try
        {
            for (int which = 0; which < 4; which++)
            {
                var (eager, c, size) = Build(which, new Generator(21));
                var (model, _, _) = Build(which, new Generator(21));
                var compiled = TestNets.EvalTwin(eager, model, Tensor.Randn(new Generator(4), [4, c, size, size]));
                Assert.Contains("ConvChain", compiled.Describe(1, c, size, size));
                using var _ = GradMode.NoGrad();
                foreach (int n in new[] { 1, 3 })
                {
                    var x = Tensor.Randn(new Generator((ulong)(7 + n)), [n, c, size, size]);
                    var expected = eager.Forward(x).ToArray();
                    // Scoped thread counts (ExecutionOptions.Use is async-local): other test classes set the process
                    // default in parallel, which would make "fewer images than threads" race.
                    float[] reference;
                    using (ExecutionOptions.Use(ExecutionOptions.Default with { Threads = 1 })) reference = compiled.Forward(x).ToArray();
                    double error = 0, norm = 0;
                    for (int i = 0; i < expected.Length; i++)
                    {
                        error += Math.Pow((double)expected[i] - reference[i], 2);
                        norm += Math.Pow(expected[i], 2);
                    }
                    Assert.True(Math.Sqrt(error) <= 1e-4 * Math.Sqrt(norm), $"model {which}, batch {n}: relative error {Math.Sqrt(error / norm):E2} against eager");
                    foreach (int threads in new[] { 2, 3, 4 })
                    {
                        using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
                        long before = Interlocked.Read(ref ConvChainOp.SplitForwards);
                        var split = compiled.Forward(x).ToArray();
                        if (n < threads) Assert.True(Interlocked.Read(ref ConvChainOp.SplitForwards) > before, $"model {which}, batch {n}, {threads} threads: not split");
                        Assert.Equal(reference, split);
                        ConvChainOp.SplitImages = false;
                        try
                        {
                            Assert.Equal(reference, compiled.Forward(x).ToArray());
                        }
                        finally
                        {
                            ConvChainOp.SplitImages = true;
                        }
                    }
                }
            }
        }
        finally
        {
            ConvChainOp.MinSplitMacs = savedMin;
        }
    }
}
