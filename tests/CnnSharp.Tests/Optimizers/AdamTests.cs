using System.Globalization;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Optimizers;

public sealed class AdamTests
{
    /// <summary>PyTorch 1.13's Adam for one parameter, in double, from the documented formulas.</summary>
    private static double[][] Reference(double[] p0, double[][] grads, double lr, double b1, double b2, double eps, double wd, bool amsgrad)
    {
        int n = p0.Length;
        var p = (double[])p0.Clone();
        var m = new double[n];
        var v = new double[n];
        var vmax = new double[n];
        var result = new List<double[]>();
        for (int t = 1; t <= grads.Length; t++)
        {
            for (int i = 0; i < n; i++)
            {
                double g = grads[t - 1][i] + wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                vmax[i] = Math.Max(vmax[i], v[i]);
                double vh = amsgrad ? vmax[i] : v[i];
                double denom = Math.Sqrt(vh) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                p[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
            }
            result.Add((double[])p.Clone());
        }
        return [.. result];
    }

    [Theory]
    [InlineData(1e-3f, 0.9f, 0.999f, 1e-8f, 0f, false)]
    [InlineData(0.05f, 0.5f, 0.9f, 1e-3f, 0.2f, false)]
    [InlineData(0.01f, 0.9f, 0.999f, 1e-8f, 0.01f, true)]
    public void Matches_double_formula_over_several_steps(float lr, float b1, float b2, float eps, float wd, bool amsgrad)
    {
        const int n = 37, steps = 8; // 37: exercises the vector remainder
        var p0 = GradCheck.RandomValues(n, seed: 3);
        var grads = Enumerable.Range(0, steps).Select(s => GradCheck.RandomValues(n, seed: 100 + s, lo: -2f, hi: 2f)).ToArray();
        // A shrinking gradient on element 0 makes AMSGrad's max differ from v.
        for (int s = 0; s < steps; s++) grads[s][0] = 3f / (1 + 10 * s);
        var p = Tensor.FromArray(p0, n).RequiresGrad_();
        var opt = new Adam([p], lr, (b1, b2), eps, wd, amsgrad);
        var expected = Reference(TensorAssert.ToDouble(p0), [.. grads.Select(g => TensorAssert.ToDouble(g))],
            double.Parse(lr.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), double.Parse(b1.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), double.Parse(b2.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), eps, wd, amsgrad);
        for (int s = 0; s < steps; s++)
        {
            p.Grad = Tensor.FromArray(grads[s], n);
            opt.Step();
            TensorAssert.Close(expected[s], p.Data, new Tolerance(1e-5, 1e-6), $"step {s + 1}");
        }
        Assert.Equal(steps, opt.StepCount(0));
    }

    [Fact]
    public void First_step_moves_each_weight_by_about_lr_against_the_gradient_sign()
    {
        // With bias correction, step 1 is lr * g / (|g| + eps') = lr * sign(g) for |g| >> eps.
        var p = Tensor.FromArray([1f, 1f, 1f], 3).RequiresGrad_();
        p.Grad = Tensor.FromArray([5f, -0.01f, 100f], 3);
        new Adam([p], lr: 0.1f).Step();
        TensorAssert.Close([0.9, 1.1, 0.9], p.Data, new Tolerance(1e-5, 1e-5));
    }

    [Fact]
    public void Weight_decay_does_not_modify_the_gradient()
    {
        var p = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        p.Grad = Tensor.FromArray([0.5f, 0.25f], 2);
        new Adam([p], weightDecay: 0.5f).Step();
        Assert.Equal([0.5f, 0.25f], p.Grad.ToArray());
    }

    [Fact]
    public void Steps_after_the_first_allocate_nothing()
    {
        var ps = new[] { Tensor.Zeros(16, 1, 5, 5).RequiresGrad_(), Tensor.Zeros(1568, 10).RequiresGrad_(), Tensor.Zeros(10).RequiresGrad_() };
        foreach (var p in ps) p.Grad = Tensor.Ones(p.Shape.ToArray());
        var opt = new Adam(ps, weightDecay: 0.01f, amsgrad: true);
        opt.Step();
        opt.Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) opt.Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void State_round_trip_continues_bitwise_identically()
    {
        var a = Tensor.FromArray(GradCheck.RandomValues(10, seed: 1), 2, 5).RequiresGrad_();
        var b = Tensor.FromArray(GradCheck.RandomValues(3, seed: 2), 3).RequiresGrad_();
        var opt = new Adam([a, b], lr: 0.01f, amsgrad: true);
        for (int s = 0; s < 3; s++)
        {
            a.Grad = Tensor.FromArray(GradCheck.RandomValues(10, seed: 10 + s), 2, 5);
            b.Grad = Tensor.FromArray(GradCheck.RandomValues(3, seed: 20 + s), 3);
            opt.Step();
        }
        var state = opt.StateDict();
        Assert.Equal(3f, state["state.0.step"].Item());
        Assert.Equal(8, state.Count);

        var a2 = a.Clone().RequiresGrad_();
        var b2 = b.Clone().RequiresGrad_();
        var restored = new Adam([a2, b2], lr: 0.01f, amsgrad: true);
        restored.LoadStateDict(state);
        foreach (var (x, y) in new[] { (a, a2), (b, b2) })
        {
            var g = GradCheck.RandomValues(x.Numel, seed: 99);
            x.Grad = Tensor.FromArray(g, x.Shape.ToArray());
            y.Grad = Tensor.FromArray(g, y.Shape.ToArray());
        }
        opt.Step();
        restored.Step();
        Assert.Equal(a.ToArray(), a2.ToArray());
        Assert.Equal(b.ToArray(), b2.ToArray());
        Assert.Equal(4, restored.StepCount(1));
    }

    [Fact]
    public void Load_rejects_bad_state_without_changing_anything()
    {
        var p = Tensor.Zeros(4).RequiresGrad_();
        var opt = new Adam([p]);
        var wrongShape = new StateDict
        {
            ["state.0.step"] = Tensor.Scalar(1f), ["state.0.exp_avg"] = Tensor.Zeros(5), ["state.0.exp_avg_sq"] = Tensor.Zeros(4),
        };
        var ex = Assert.Throws<StateDictException>(() => opt.LoadStateDict(wrongShape));
        Assert.Contains("state.0.exp_avg: shape (5), expected (4)", ex.Message, StringComparison.Ordinal);

        var incomplete = new StateDict { ["state.0.step"] = Tensor.Scalar(1f), ["state.1.exp_avg"] = Tensor.Zeros(4) };
        ex = Assert.Throws<StateDictException>(() => opt.LoadStateDict(incomplete));
        Assert.Contains("state.0: has 1 of the entries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("unexpected key state.1.exp_avg", ex.Message, StringComparison.Ordinal);

        var badStep = new StateDict
        {
            ["state.0.step"] = Tensor.Scalar(1.5f), ["state.0.exp_avg"] = Tensor.Zeros(4), ["state.0.exp_avg_sq"] = Tensor.Zeros(4),
        };
        Assert.Throws<StateDictException>(() => opt.LoadStateDict(badStep));
        Assert.Empty(opt.StateDict());
    }

    [Fact]
    public void Invalid_hyperparameters_throw()
    {
        var p = new[] { Tensor.Zeros(2).RequiresGrad_() };
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(p, lr: -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(p, betas: (1f, 0.999f)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(p, betas: (0.9f, -0.1f)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(p, eps: -1e-8f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(p, weightDecay: float.NaN));
        Assert.Throws<ArgumentException>(() => new Adam([]));
        Assert.Throws<ArgumentException>(() => new Adam([p[0], p[0]]));
        var opt = new Adam(p);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.Lr = float.NaN);
        opt.Lr = 0.5f;
        Assert.Equal(0.5f, opt.Lr);
    }
}
