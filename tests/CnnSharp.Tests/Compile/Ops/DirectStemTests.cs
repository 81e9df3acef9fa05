using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Modules;
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

    public static TheoryData<int> Levels() => new() { (int)IsaLevel.Scalar, (int)IsaLevel.V128, (int)IsaLevel.V256, (int)IsaLevel.V512 };

    [Theory, MemberData(nameof(Levels))]
    public void Stem_alone_matches_eager_element_by_element_on_every_isa_path(int level)
    {
        // The stem's output is the plan's output here, so a wrong tap at any pixel shows (in a whole network it is
        // averaged away by the pooling before the classifier). Odd, non-square input: a strip's vectors straddle rows.
        using var isa = Isa.Use((IsaLevel)level);
        int[] shape = [2, 3, 33, 30];
        var m = new Sequential(new Conv2d(3, 16, 3, stride: 2, padding: 1, generator: new Generator(3)), new ReLU6());
        m.Eval();
        var x = Tensor.Randn(new Generator(13), shape);
        var compiled = m.Compile(shape);
        Assert.Contains("(direct stem)", compiled.Describe(shape), StringComparison.Ordinal);
        using (CnnSharp.Autograd.GradMode.NoGrad()) TensorAssert.Close(m.Forward(x).ToArray(), compiled.Forward(x).ToArray(), Tolerance.Accumulated);
    }
}
