using CnnSharp.Compile.Ops;
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
        // that is off (then the first block stays unfused).
        var banded = fusedPlan.Split('\n').Where(l => l.Contains("(banded)", StringComparison.Ordinal)).ToList();
        Assert.Equal(17, banded.Count);
        Assert.Single(banded, l => l.StartsWith("Conv2d+BatchNorm(folded)+ReLU6 dw3x3/1 > Conv2d+BatchNorm(folded) 1x1", StringComparison.Ordinal));
        Assert.Equal(10, banded.Count(l => l.Contains("+Add 1x1 (banded)", StringComparison.Ordinal)));
        Assert.Equal(16, pairsPlan.Split('\n').Count(l => l.Contains("dw3x3/1 (banded)", StringComparison.Ordinal) || l.Contains("dw3x3/2 (banded)", StringComparison.Ordinal)));
        Assert.Equal(unfused, pairs);
        Assert.Equal(unfused, fused);
        ThreadCount.AssertInvariant(() => [Run(true, x).Output]);
        using (CnnSharp.Autograd.GradMode.NoGrad()) TensorAssert.Close(Model().Forward(x).ToArray(), fused, new Tolerance(1e-4, 1e-5));
    }

    [Fact]
    public void Small_expansions_and_training_plans_are_not_fused()
    {
        var m = Model();
        var plan = m.Compile(Shape).Describe(Shape); // default threshold: 48x48 inputs give expansions below 2^18 floats
        Assert.DoesNotContain("(banded)", plan, StringComparison.Ordinal);
        int min = ExpandDepthwiseOp.MinExpansionFloats;
        try
        {
            ExpandDepthwiseOp.MinExpansionFloats = 0;
            var train = new MobileNetV2(numClasses: 5, widthMult: 0.5f, dropout: 0f, generator: new Generator(7));
            var compiled = train.Compile(Shape);
            compiled.TrainStep(Tensor.Randn(new Generator(12), Shape), [0, 1]);
            Assert.DoesNotContain("(banded)", compiled.Describe(Shape), StringComparison.Ordinal);
        }
        finally
        {
            ExpandDepthwiseOp.MinExpansionFloats = min;
        }
    }
}
