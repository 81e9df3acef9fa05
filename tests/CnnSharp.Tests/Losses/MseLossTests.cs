using CnnSharp.Functional;
using CnnSharp.Losses;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Losses;

public sealed class MseLossTests
{
    private static double[] Reference(double[] x, double[] y, Reduction r) =>
        CrossEntropyTests.Reduce([.. x.Select((v, i) => (v - y[i]) * (v - y[i]))], r);

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    [InlineData(Reduction.None)]
    public void Forward_and_backward_match_reference_for_both_inputs(Reduction r)
    {
        var a = GradCheck.RandomValues(12, seed: 1);
        var b = GradCheck.RandomValues(12, seed: 2);
        var y = F.MseLoss(Tensor.FromArray(a, 3, 4), Tensor.FromArray(b, 3, 4), r);
        if (r == Reduction.None) TensorAssert.ShapeIs(y, 3, 4);
        TensorAssert.Close(Reference(TensorAssert.ToDouble(a), TensorAssert.ToDouble(b), r), y, Tolerance.Float32);
        GradCheck.Check([[3, 4], [3, 4]], [a, b], t => F.MseLoss(t[0], t[1], r), d => Reference(d[0], d[1], r));
    }

    [Theory]
    [InlineData("mse_loss_mean_n4_c3")]
    [InlineData("mse_loss_sum_n2_c5")]
    public void Matches_pytorch_fixture(string name)
    {
        var fx = Fixture.Load(name);
        var a = fx.Input("input").ToTensor().RequiresGrad_();
        var b = fx.Input("target").ToTensor().RequiresGrad_();
        var reduction = fx.String("reduction") == "sum" ? Reduction.Sum : Reduction.Mean;
        var y = new MseLoss(reduction).Forward(a, b);
        TensorAssert.Close(fx.Output().Data, y, Tolerance.Float32, $"{name} output");
        y.Backward(Tensor.Scalar(fx.GradOutput().ToFloatArray()[0]));
        TensorAssert.Close(fx.Grad("input").Data, a.Grad!, Tolerance.Float32, $"{name} input grad");
        TensorAssert.Close(fx.Grad("target").Data, b.Grad!, Tolerance.Float32, $"{name} target grad");
    }

    [Fact]
    public void Shape_mismatch_throws_naming_both_shapes()
    {
        var ex = Assert.Throws<ShapeException>(() => F.MseLoss(Tensor.Zeros(3, 4), Tensor.Zeros(4, 3)));
        Assert.Contains("(3, 4)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(4, 3)", ex.Message, StringComparison.Ordinal);
    }
}
