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

    [Fact]
    public void Matches_pytorch_fixture()
    {
        var fx = JsonFixture.Load("pytorch/loss_mse.json");
        var inputs = fx.GetProperty("inputs");
        foreach (var (name, r) in new[] { ("none", Reduction.None), ("mean", Reduction.Mean), ("sum", Reduction.Sum) })
        {
            var expected = fx.GetProperty("reductions").GetProperty(name);
            var a = Tensor.FromArray(inputs[0].GetProperty("values").Floats(), inputs[0].GetProperty("shape").Ints()).RequiresGrad_();
            var b = Tensor.FromArray(inputs[1].GetProperty("values").Floats(), inputs[1].GetProperty("shape").Ints()).RequiresGrad_();
            var y = new MseLoss(r).Forward(a, b);
            TensorAssert.Close(expected.GetProperty("output").Floats(), y.Data, Tolerance.Float32, $"{name} output");
            y.Backward(Tensor.FromArray(expected.GetProperty("upstream").Floats(), expected.GetProperty("output_shape").Ints()));
            TensorAssert.Close(expected.GetProperty("grads")[0].Floats(), a.Grad!.Data, Tolerance.Float32, $"{name} input grad");
            TensorAssert.Close(expected.GetProperty("grads")[1].Floats(), b.Grad!.Data, Tolerance.Float32, $"{name} target grad");
        }
    }

    [Fact]
    public void Shape_mismatch_throws_naming_both_shapes()
    {
        var ex = Assert.Throws<ShapeException>(() => F.MseLoss(Tensor.Zeros(3, 4), Tensor.Zeros(4, 3)));
        Assert.Contains("(3, 4)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(4, 3)", ex.Message, StringComparison.Ordinal);
    }
}
