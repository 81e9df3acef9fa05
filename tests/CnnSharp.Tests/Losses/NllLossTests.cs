using CnnSharp.Functional;
using CnnSharp.Losses;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Losses;

public sealed class NllLossTests
{
    private static double[] Reference(double[] x, int c, int[] t, Reduction r) =>
        CrossEntropyTests.Reduce([.. t.Select((target, i) => -x[i * c + target])], r);

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Sum)]
    [InlineData(Reduction.None)]
    public void Forward_and_backward_match_reference(Reduction r)
    {
        int[] t = [3, 0, 2, 2];
        var x = GradCheck.RandomValues(16, seed: 5, lo: -3f, hi: 0f);
        TensorAssert.Close(Reference(TensorAssert.ToDouble(x), 4, t, r), F.NllLoss(Tensor.FromArray(x, 4, 4), t, r), Tolerance.Float32);
        GradCheck.Check([4, 4], x, v => F.NllLoss(v, t, r), d => Reference(d, 4, t, r));
    }

    [Fact]
    public void Of_log_softmax_equals_cross_entropy()
    {
        int n = 5, c = 4;
        var x = GradCheck.RandomValues(n * c, seed: 11, lo: -2f, hi: 2f);
        int[] t = [0, 3, 1, 1, 2];
        // log-softmax by hand (double), rounded to float: NLL of it must equal the fused cross-entropy.
        var logp = new float[n * c];
        for (int i = 0; i < n; i++)
        {
            double lse = Math.Log(Enumerable.Range(0, c).Sum(j => Math.Exp(x[i * c + j])));
            for (int j = 0; j < c; j++) logp[i * c + j] = (float)(x[i * c + j] - lse);
        }
        float nll = new NllLoss().Forward(Tensor.FromArray(logp, n, c), t).Item();
        float ce = F.CrossEntropy(Tensor.FromArray(x, n, c), t).Item();
        Assert.Equal(ce, nll, 5);
    }

    [Fact]
    public void Matches_pytorch_fixture()
    {
        var fx = Fixture.Load("nll_loss_mean_n6_c5");
        var x = fx.Input("input").ToTensor().RequiresGrad_();
        int[] targets = Array.ConvertAll(fx.Input("target").ToInt64Array(), t => (int)t);
        var y = new NllLoss().Forward(x, targets);
        TensorAssert.Close(fx.Output().Data, y, Tolerance.Float32, "output");
        y.Backward(Tensor.Scalar(fx.GradOutput().ToFloatArray()[0]));
        TensorAssert.Close(fx.Grad("input").Data, x.Grad!, Tolerance.Float32, "grad");
    }

    [Fact]
    public void Bad_targets_and_shapes_throw()
    {
        var ex = Assert.Throws<ArgumentException>(() => F.NllLoss(Tensor.Zeros(2, 3), [0, 3]));
        Assert.Contains("target 3 at index 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("3 classes", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ShapeException>(() => F.NllLoss(Tensor.Zeros(6), [0, 3]));
        Assert.Throws<ShapeException>(() => F.NllLoss(Tensor.Zeros(2, 3), [0, 1, 2]));
    }
}
