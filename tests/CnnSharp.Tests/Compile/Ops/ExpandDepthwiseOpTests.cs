using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Inference plans run an expansion 1x1 conv and the depthwise conv that alone reads it as one banded
/// <see cref="ExpandDepthwiseOp"/> (with the projection 1x1 conv and its residual add when that follows): on the zoo
/// MobileNet-v2 (eval) the fused plan gives the same bits as the plan without the fusion and as any thread count, and
/// training plans never fuse.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class ExpandDepthwiseOpTests
{
    private static readonly int[] Shape = [2, 3, 48, 48];

    private static MobileNetV2 Model()
    {
        var m = new MobileNetV2(numClasses: 5, widthMult: 0.5f, dropout: 0f, generator: new Generator(7));
        m.Eval();
        return m;
    }

    private static (float[] Output, string Plan) Run(bool fuse, Tensor x, bool projection = true)
    {
        bool enabled = ExpandDepthwiseOp.Enabled;
        int min = ExpandDepthwiseOp.MinExpansionFloats;
        try
        {
            ExpandDepthwiseOp.Enabled = fuse;
            ExpandDepthwiseOp.FuseProjection = projection;
            ExpandDepthwiseOp.MinExpansionFloats = 0; // these small planes fuse too
            var compiled = Model().Compile(Shape);
            return (compiled.Forward(x).ToArray(), compiled.Describe(Shape));
        }
        finally
        {
            ExpandDepthwiseOp.Enabled = enabled;
            ExpandDepthwiseOp.MinExpansionFloats = min;
            ExpandDepthwiseOp.FuseProjection = true;
        }
    }

    [Fact]
    public void Fused_plan_gives_the_unfused_plans_bits_on_any_thread_count()
    {
        var x = Tensor.Randn(new Generator(11), Shape);
        var (unfused, unfusedPlan) = Run(false, x);
        var (fused, fusedPlan) = Run(true, x);
        var (pairs, pairsPlan) = Run(true, x, projection: false);
        Assert.DoesNotContain("(banded)", unfusedPlan, StringComparison.Ordinal);
        // MobileNet-v2 has 16 expanding blocks (expansion 1x1 + depthwise + projection 1x1, 10 of them with the residual
        // add) and a first block without expansion (depthwise + projection); all of them fuse, the projections unless
        // that is off (then the first block stays unfused). The stem joins the first block (StemInBand).
        var banded = fusedPlan.Split('\n').Where(l => l.Contains("(banded)", StringComparison.Ordinal)).ToList();
        Assert.Equal(17, banded.Count);
        Assert.Single(banded, l => l.StartsWith("Conv2d+BatchNorm(folded)+ReLU6 (direct stem) 3x3/2 > Conv2d+BatchNorm(folded)+ReLU6 dw3x3/1 > Conv2d+BatchNorm(folded) 1x1", StringComparison.Ordinal));
        Assert.Equal(10, banded.Count(l => l.Contains("+Add 1x1 (banded)", StringComparison.Ordinal)));
        Assert.Equal(16, pairsPlan.Split('\n').Count(l => l.Contains("dw3x3/1 (banded)", StringComparison.Ordinal) || l.Contains("dw3x3/2 (banded)", StringComparison.Ordinal)));
        Assert.Equal(unfused, pairs);
        Assert.Equal(unfused, fused);
        ThreadCount.AssertInvariant(() => [Run(true, x).Output]);
        using (CnnSharp.Autograd.GradMode.NoGrad()) TensorAssert.Close(Model().Forward(x).ToArray(), fused, new Tolerance(1e-4, 1e-5));
    }

    [Fact]
    public void Stem_in_the_first_blocks_bands_gives_the_plans_bits_without_it()
    {
        var x = Tensor.Randn(new Generator(13), Shape);
        bool saved = ExpandDepthwiseOp.StemInBand;
        try
        {
            ExpandDepthwiseOp.StemInBand = false;
            var (apart, apartPlan) = Run(true, x);
            Assert.Contains("(direct stem) -> ", apartPlan, StringComparison.Ordinal);
            ExpandDepthwiseOp.StemInBand = true;
            var (joined, joinedPlan) = Run(true, x);
            Assert.Contains("(direct stem) 3x3/2 > ", joinedPlan, StringComparison.Ordinal);
            Assert.DoesNotContain("(direct stem) -> ", joinedPlan, StringComparison.Ordinal);
            Assert.Equal(apart, joined);
            // Equal parts (the default at one image per thread) or the default units: the same bits.
            ExpandDepthwiseOp.StemEqualParts = false;
            Assert.Equal(apart, Run(true, x).Output);
        }
        finally
        {
            ExpandDepthwiseOp.StemInBand = saved;
            ExpandDepthwiseOp.StemEqualParts = true;
        }
    }

    [Fact]
    public void Small_expansions_fuse_only_with_the_switch_and_training_plans_never()
    {
        // 48x48 inputs give expansions below the default 2^18 floats: fused as small blocks (banded only at batches of
        // whole images per thread), or not at all with SmallExpansions off.
        var plan = Model().Compile(Shape).Describe(Shape);
        Assert.DoesNotContain("(banded)", plan, StringComparison.Ordinal);
        Assert.Equal(17, plan.Split('\n').Count(l => l.Contains("(banded by batch and threads)", StringComparison.Ordinal)));
        int min = ExpandDepthwiseOp.MinExpansionFloats;
        try
        {
            ExpandDepthwiseOp.SmallExpansions = false;
            Assert.DoesNotContain("banded", Model().Compile(Shape).Describe(Shape), StringComparison.Ordinal);
            ExpandDepthwiseOp.SmallExpansions = true;
            ExpandDepthwiseOp.MinExpansionFloats = 0;
            var train = new MobileNetV2(numClasses: 5, widthMult: 0.5f, dropout: 0f, generator: new Generator(7));
            var compiled = train.Compile(Shape);
            compiled.TrainStep(Tensor.Randn(new Generator(12), Shape), [0, 1]);
            Assert.DoesNotContain("banded", compiled.Describe(Shape), StringComparison.Ordinal);
        }
        finally
        {
            ExpandDepthwiseOp.MinExpansionFloats = min;
            ExpandDepthwiseOp.SmallExpansions = true;
        }
    }

    /// <summary>
    /// Small-expansion blocks (<see cref="ExpandDepthwiseOp.SmallExpansions"/>): banded at N ≥ 2·threads, the unfused
    /// convs below, the same bits as the plan without them either way, for odd batches and 1-3 threads (batch 1 always
    /// unfused, batch 3 banded on 1 thread only, batch 5 banded on 1 and 2 threads; 40x40 inputs give odd maps: 5x5, 3x3).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void Small_expansion_blocks_give_the_unfused_plans_bits(int batch)
    {
        int[] shape = [batch, 3, 40, 40];
        var x = Tensor.Randn(new Generator(13), shape);
        float[] Run(bool small)
        {
            try
            {
                ExpandDepthwiseOp.SmallExpansions = small;
                var compiled = Model().Compile(shape);
                if (small)
                {
                    var ops = compiled.InferencePlan(new Shape(shape))!.Ops.OfType<ExpandDepthwiseOp>().ToList();
                    Assert.Equal(17, ops.Count);
                    // The banded path must run where the rule says, so that this test compares it with the unfused plan:
                    // every block from 2 images per thread; below, only blocks whose output rows give every part at least
                    // 7 (SmallFewImages; from 40x40 inputs the first block's 20x20 map, on 2 threads: 2 parts per image).
                    int threads = Parallelism.MaxThreads;
                    if (batch >= 2 * threads) Assert.All(ops, op => Assert.True(op.RunsBanded(threads)));
                    ExpandDepthwiseOp.MinBatchedExpansionFloats = int.MaxValue;
                    if (batch >= 2 * threads) Assert.All(ops, op => Assert.False(op.RunsBanded(threads)));
                    ExpandDepthwiseOp.MinBatchedExpansionFloats = 0;
                    if (batch < 2 * threads && threads == 2) Assert.Contains(ops, op => op.RunsBanded(threads));
                    ExpandDepthwiseOp.SmallFewImages = false;
                    if (batch < 2 * threads) Assert.All(ops, op => Assert.False(op.RunsBanded(threads)));
                    ExpandDepthwiseOp.SmallFewImages = true;
                }
                return compiled.Forward(x).ToArray();
            }
            finally
            {
                ExpandDepthwiseOp.SmallExpansions = true;
                ExpandDepthwiseOp.SmallFewImages = true;
                ExpandDepthwiseOp.MinBatchedExpansionFloats = 0;
            }
        }
        var unfused = ThreadCount.With(1, () => Run(false));
        Assert.Equal(unfused, ThreadCount.With(1, () => Run(true)));
        ThreadCount.AssertInvariant(() => [Run(true)]);
        ThreadCount.AssertInvariant(() => [Run(false)]);
    }

    /// <summary>
    /// Small blocks that do not run banded at fewer than 2 images per thread run split over channels
    /// (<see cref="ExpandDepthwiseOp.SmallByChannels"/>) on more than one thread: the same bits as with the switch off and as
    /// the plan without small-block fusion, for batch 1-3, 1-3 threads and odd maps (36x36 inputs: 18x18 to 2x2 maps); the
    /// test checks that the path runs where the rule says, so the comparison is not vacuous.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Channel_split_blocks_give_the_unfused_plans_bits(int batch)
    {
        int[] shape = [batch, 3, 36, 36];
        var x = Tensor.Randn(new Generator(17), shape);
        float[] Run(bool small, bool byChannels)
        {
            try
            {
                ExpandDepthwiseOp.SmallExpansions = small;
                ExpandDepthwiseOp.SmallByChannels = byChannels;
                var compiled = Model().Compile(shape);
                int threads = Parallelism.MaxThreads;
                if (small)
                {
                    var ops = compiled.InferencePlan(new Shape(shape))!.Ops.OfType<ExpandDepthwiseOp>().ToList();
                    // Below 2 images per thread on 2-3 threads the 2x2 (and other short) maps' blocks run by channels;
                    // never on one thread, nor with the switch off.
                    bool few = threads > 1 && batch < 2 * threads;
                    Assert.Equal(few && byChannels, ops.Any(op => !op.RunsBanded(threads) && op.RunsByChannels(threads)));
                }
                return compiled.Forward(x).ToArray();
            }
            finally
            {
                ExpandDepthwiseOp.SmallExpansions = true;
                ExpandDepthwiseOp.SmallByChannels = true;
            }
        }
        var reference = ThreadCount.With(1, () => Run(false, false));
        foreach (int threads in new[] { 1, 2, 3 })
        {
            Assert.Equal(reference, ThreadCount.With(threads, () => Run(true, true)));
            Assert.Equal(reference, ThreadCount.With(threads, () => Run(true, false)));
        }
    }
}
