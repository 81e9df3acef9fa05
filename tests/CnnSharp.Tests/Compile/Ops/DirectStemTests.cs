using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Inference plans run an RGB 3×3 stride-2 stem (MobileNet-v2's) on <see cref="StemConv3x3S2"/> instead of the GEMM:
/// on the zoo MobileNet-v2 (eval) the plan names it, matches the GEMM plan and eager within the accumulated-sum
/// tolerance, gives the same bits on any thread count, and training plans keep the GEMM.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class DirectStemTests
{
    private static readonly int[] Shape = [2, 3, 48, 48];

    private static MobileNetV2 Model(bool eval = true)
    {
        var m = new MobileNetV2(numClasses: 5, widthMult: 0.5f, dropout: 0f, generator: new Generator(7));
        if (eval) m.Eval();
        return m;
    }

    private static (float[] Output, string Plan) Run(bool direct, Tensor x)
    {
        try
        {
            StemConv3x3S2.Enabled = direct;
            var compiled = Model().Compile(Shape);
            return (compiled.Forward(x).ToArray(), compiled.Describe(Shape));
        }
        finally
        {
            StemConv3x3S2.Enabled = true;
        }
    }

    [Fact]
    public void Direct_stem_plan_matches_the_gemm_plan_and_eager_on_any_thread_count()
    {
        var x = Tensor.Randn(new Generator(11), Shape);
        var (gemm, gemmPlan) = Run(false, x);
        var (direct, directPlan) = Run(true, x);
        Assert.DoesNotContain("(direct stem)", gemmPlan, StringComparison.Ordinal);
        Assert.Single(directPlan.Split('\n'), l => l.Contains("(direct stem)", StringComparison.Ordinal));
        TensorAssert.Close(gemm, direct, new Tolerance(1e-4, 1e-5));
        ThreadCount.AssertInvariant(() => [Run(true, x).Output]);
        using (CnnSharp.Autograd.GradMode.NoGrad()) TensorAssert.Close(Model().Forward(x).ToArray(), direct, new Tolerance(1e-4, 1e-5));
    }

    [Fact]
    public void Training_plans_keep_the_stem_on_the_gemm()
    {
        var compiled = Model(eval: false).Compile(Shape);
        compiled.TrainStep(Tensor.Randn(new Generator(12), Shape), [0, 1]);
        Assert.DoesNotContain("(direct stem)", compiled.Describe(Shape), StringComparison.Ordinal);
    }
}
