using CnnSharp.Kernels;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Kernels;

public sealed class ActivationKernelsTests
{
    public static TheoryData<int> Lengths
    {
        get
        {
            var d = new TheoryData<int>();
            for (int n = 1; n <= 67; n++) d.Add(n); // every vector remainder for 4, 8 and 16 lanes
            return d;
        }
    }

    [Theory, MemberData(nameof(Lengths))]
    public void Masked_kernels_match_scalar_formulas_at_every_length(int n)
    {
        var x = GradCheck.RandomValues(n, n, -1f, 1f);
        var gy = GradCheck.RandomValues(n, n + 100, -1f, 1f);
        var prior = GradCheck.RandomValues(n, n + 200, -1f, 1f);

        var y = new float[n];
        ActivationKernels.ReluForward(x, y);
        var gx = (float[])prior.Clone();
        ActivationKernels.ReluBackward(y, gy, gx);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(Math.Max(x[i], 0f), y[i]);
            Assert.Equal(prior[i] + (y[i] > 0 ? gy[i] : 0f), gx[i]);
        }

        ActivationKernels.LeakyReluForward(x, y, 0.1f);
        gx = (float[])prior.Clone();
        ActivationKernels.LeakyReluBackward(x, gy, gx, 0.1f);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(x[i] > 0 ? x[i] : x[i] * 0.1f, y[i]);
            Assert.Equal(prior[i] + (x[i] > 0 ? gy[i] : gy[i] * 0.1f), gx[i]);
        }
    }

    [Fact]
    public void Sigmoid_and_tanh_backward_accumulate()
    {
        float[] y = [0.25f, 0.5f];
        float[] gx = [1f, 1f];
        ActivationKernels.SigmoidBackward(y, [2f, 2f], gx);
        Assert.Equal(new[] { 1f + 2f * 0.25f * 0.75f, 1.5f }, gx);
        gx = [1f, 1f];
        ActivationKernels.TanhBackward(y, [2f, 2f], gx);
        Assert.Equal(new[] { 1f + 2f * (1 - 0.0625f), 1f + 2f * 0.75f }, gx);
    }
}
