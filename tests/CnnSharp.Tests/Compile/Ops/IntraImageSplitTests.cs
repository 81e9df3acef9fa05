using CnnSharp.Autograd;
using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Modules;
using Xunit;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// <see cref="IntraImageSplit"/>: at batch 1 the compiled plan's pointwise (GEMM and in-place pointwise kernel),
/// depthwise (3x3 and generic) and grouped convolutions split one image over the threads from sizes the batch
/// thresholds leave on one thread, with the same bits for 1 to 4 threads and with the split off, on every ISA path.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class IntraImageSplitTests
{
    public static TheoryData<int> Levels => new() { (int)IsaLevel.V512, (int)IsaLevel.V256, (int)IsaLevel.V128, (int)IsaLevel.Scalar };

    // 1x16x28x28. Multiply-adds per layer at batch 1, all between the split thresholds and the batch ones: 1x1 16->48 0.60M
    // (GEMM), depthwise 3x3 48 0.34M (dedicated kernel), 1x1 48->16 0.60M (pointwise kernel: K = 16), depthwise 5x5 16
    // 0.31M (generic grouped kernel), grouped 3x3 16->32 in 4 groups 0.90M, depthwise 3x3 stride 2 32 0.06M -> stays
    // serial below 2^16, 1x1 32->64 on 14x14 0.40M with a residual-free ReLU.
    private static Sequential Build(Generator g) => new(
        new Conv2d(16, 48, 1, bias: false, generator: g), new BatchNorm2d(48), new ReLU6(),
        new Conv2d(48, 48, 3, padding: 1, groups: 48, bias: false, generator: g), new BatchNorm2d(48), new ReLU6(),
        new Conv2d(48, 16, 1, bias: false, generator: g), new BatchNorm2d(16),
        new Conv2d(16, 16, 5, padding: 2, groups: 16, generator: g), new ReLU(),
        new Conv2d(16, 32, 3, padding: 1, groups: 4, generator: g), new BatchNorm2d(32), new ReLU(),
        new Conv2d(32, 32, 3, stride: 2, padding: 1, groups: 32, generator: g),
        new Conv2d(32, 64, 1, generator: g), new ReLU(),
        new AdaptiveAvgPool2d(1), new Flatten(), new Linear(64, 5, generator: g));

    private static readonly int[] Shape = [1, 16, 28, 28];

    [Fact]
    public void Lower_thresholds_apply_only_below_the_batch_ones_with_fewer_images_than_threads_and_while_enabled()
    {
        var one = new Conv2dGeometry { N = 1, C = 16, H = 28, W = 28, K = 48, KH = 1, KW = 1, StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, Groups = 1, OutH = 28, OutW = 28 };
        var two = one with { N = 2 };
        var large = one with { H = 112, W = 112, OutH = 112, OutW = 112, C = 64 }; // 38.5M multiply-adds: split by the batch threshold already
        Assert.Equal(IntraImageSplit.GemmThresholdMacs, IntraImageSplit.GemmThreshold(one, 2));
        Assert.Equal(IntraImageSplit.GroupedThresholdMacs, IntraImageSplit.GroupedThreshold(one, 3));
        Assert.Equal(IntraImageSplit.GemmThresholdMacs, IntraImageSplit.GemmThreshold(two, 3));
        Assert.Equal(ConvGemm.ParallelThresholdMacs, IntraImageSplit.GemmThreshold(two, 2));
        Assert.Equal(GroupedConv2d.ParallelThresholdMacs, IntraImageSplit.GroupedThreshold(one, 1));
        Assert.Equal(ConvGemm.ParallelThresholdMacs, IntraImageSplit.GemmThreshold(large, 2));
        IntraImageSplit.Enabled = false;
        try
        {
            Assert.Equal(ConvGemm.ParallelThresholdMacs, IntraImageSplit.GemmThreshold(one, 2));
            Assert.Equal(GroupedConv2d.ParallelThresholdMacs, IntraImageSplit.GroupedThreshold(one, 2));
        }
        finally
        {
            IntraImageSplit.Enabled = true;
        }
    }

    [Theory, MemberData(nameof(Levels))]
    public void Batch_1_plan_is_bit_identical_for_every_thread_count_and_with_the_split_off(int level)
    {
        using var isa = Isa.Use((IsaLevel)level);
        var eager = Build(new Generator(31));
        var compiled = TestNets.EvalTwin(eager, Build(new Generator(31)), Tensor.Randn(new Generator(5), [4, 16, 28, 28]));
        using var _ = GradMode.NoGrad();
        var x = Tensor.Randn(new Generator(6), Shape);
        var expected = eager.Forward(x).ToArray();
        float[] reference;
        // Scoped thread counts (ExecutionOptions.Use is async-local): other test classes set the process default in parallel.
        using (ExecutionOptions.Use(ExecutionOptions.Default with { Threads = 1 })) reference = compiled.Forward(x).ToArray();
        Assert.Null(compiled.FallbackReason);
        double error = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            error += Math.Pow((double)expected[i] - reference[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        Assert.True(Math.Sqrt(error) <= 1e-4 * Math.Sqrt(norm), $"relative error {Math.Sqrt(error / norm):E2} against eager");
        foreach (int threads in new[] { 2, 3, 4 })
        {
            using var scope = ExecutionOptions.Use(ExecutionOptions.Default with { Threads = threads });
            // The first three convs form an inverted-residual block, which by default runs as one banded op at batch 1
            // (ExpandDepthwiseOp.SmallFewImages): the same bits; off (and the channel split, SmallByChannels, off), the
            // block's convs run (and split) separately.
            Assert.Equal(reference, compiled.Forward(x).ToArray());
            ExpandDepthwiseOp.SmallFewImages = false;
            Assert.Equal(reference, compiled.Forward(x).ToArray());
            ExpandDepthwiseOp.SmallByChannels = false;
            try
            {
                long before = IntraImageSplit.Splits;
                var split = compiled.Forward(x).ToArray();
                // Six of the seven convolutions are split only by the lower thresholds.
                Assert.Equal(6, IntraImageSplit.Splits - before);
                Assert.Equal(reference, split);
                IntraImageSplit.Enabled = false;
                before = IntraImageSplit.Splits;
                Assert.Equal(reference, compiled.Forward(x).ToArray());
                Assert.Equal(0, IntraImageSplit.Splits - before);
            }
            finally
            {
                IntraImageSplit.Enabled = true;
                ExpandDepthwiseOp.SmallFewImages = true;
                ExpandDepthwiseOp.SmallByChannels = true;
            }
        }
    }
}
