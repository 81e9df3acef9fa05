using CnnSharp.Compile.Ops;
using CnnSharp.Kernels;
using CnnSharp.Models;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Compile.Ops;

/// <summary>
/// Inference plans run a 1x1 conv whose output only a global average pool reads as one <see cref="PointwisePoolOp"/>: on
/// the zoo MobileNet-v2 (eval; its 1280-channel head conv, ReLU6, then the pool) the fused plan gives the bits of the plan
/// without the fusion, on 1-3 threads and for batches of one and more images (2x2 to 7x7 maps), and training plans never fuse.
/// </summary>
[Collection(nameof(PlanSwitchGroup))]
public sealed class PointwisePoolOpTests
{
    private static MobileNetV2 Model(bool eval = true)
    {
        var m = new MobileNetV2(numClasses: 5, widthMult: 0.5f, dropout: 0f, generator: new Generator(7));
        if (eval) m.Eval();
        return m;
    }

    private static (float[] Output, string Plan) Run(bool fuse, int[] shape, Tensor x)
    {
        try
        {
            PointwisePoolOp.Enabled = fuse;
            var compiled = Model().Compile(shape);
            return (compiled.Forward(x).ToArray(), compiled.Describe(shape));
        }
        finally
        {
            PointwisePoolOp.Enabled = true;
        }
    }

    [Theory]
    [InlineData(1, 64)]
    [InlineData(3, 40)]
    [InlineData(2, 224)]
    public void Fused_head_gives_the_unfused_plans_bits_on_any_thread_count(int batch, int size)
    {
        int[] shape = [batch, 3, size, size];
        var x = Tensor.Randn(new Generator(21), shape);
        var (unfused, unfusedPlan) = Run(false, shape, x);
        var (fused, fusedPlan) = Run(true, shape, x);
        Assert.DoesNotContain("> GlobalAvgPool2d", unfusedPlan, StringComparison.Ordinal);
        Assert.Single(fusedPlan.Split('\n'), l => l.StartsWith("Conv2d+BatchNorm(folded)+ReLU6 1x1 > GlobalAvgPool2d", StringComparison.Ordinal));
        Assert.Equal(unfused, fused);
        ThreadCount.AssertInvariant(() => [Run(true, shape, x).Output]);
        // At V256 a 7x7 map's narrow last panel makes the op run the two ops (PointwiseConvPool.SameBitsAsConvGemm): still the same bits.
        using (Isa.Use(IsaLevel.V256)) Assert.Equal(Run(false, shape, x).Output, Run(true, shape, x).Output);
        using (CnnSharp.Autograd.GradMode.NoGrad()) TensorAssert.Close(Model().Forward(x).ToArray(), fused, new Tolerance(1e-4, 1e-5));
    }

    [Fact]
    public void Training_plans_do_not_fuse()
    {
        int[] shape = [2, 3, 40, 40];
        var compiled = Model(eval: false).Compile(shape);
        compiled.TrainStep(Tensor.Randn(new Generator(22), shape), [0, 1]);
        Assert.DoesNotContain("> GlobalAvgPool2d", compiled.Describe(shape), StringComparison.Ordinal);
    }
}
