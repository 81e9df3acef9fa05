using System.Globalization;
using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Optimizers;

public sealed class SgdTests
{
    /// <summary>PyTorch 1.13's SGD for one parameter, in double, from the documented formulas.</summary>
    private static double[][] Reference(double[] p0, double[][] grads, double lr, double momentum, double dampening, double wd, bool nesterov)
    {
        var p = (double[])p0.Clone();
        double[]? buf = null;
        var result = new List<double[]>();
        foreach (var grad in grads)
        {
            var d = grad.Select((g, i) => g + wd * p[i]).ToArray();
            if (momentum != 0)
            {
                buf = buf is null ? (double[])d.Clone() : [.. buf.Select((b, i) => momentum * b + (1 - dampening) * d[i])];
                d = nesterov ? [.. d.Select((x, i) => x + momentum * buf[i])] : buf;
            }
            for (int i = 0; i < p.Length; i++) p[i] -= lr * d[i];
            result.Add((double[])p.Clone());
        }
        return [.. result];
    }

    [Theory]
    [InlineData(0.1f, 0f, 0f, 0f, false)]
    [InlineData(0.05f, 0.9f, 0f, 0f, false)]
    [InlineData(0.05f, 0.9f, 0.5f, 0.01f, false)]
    [InlineData(0.02f, 0.8f, 0f, 0.1f, true)]
    public void Matches_double_formula_over_several_steps(float lr, float momentum, float dampening, float wd, bool nesterov)
    {
        const int n = 19, steps = 7;
        var p0 = GradCheck.RandomValues(n, seed: 4);
        var grads = Enumerable.Range(0, steps).Select(s => GradCheck.RandomValues(n, seed: 200 + s)).ToArray();
        var p = Tensor.FromArray(p0, n).RequiresGrad_();
        var opt = new Sgd([p], lr, momentum, dampening, wd, nesterov);
        var expected = Reference(TensorAssert.ToDouble(p0), [.. grads.Select(g => TensorAssert.ToDouble(g))],
            lr, double.Parse(momentum.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), double.Parse(dampening.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), wd, nesterov);
        for (int s = 0; s < steps; s++)
        {
            p.Grad = Tensor.FromArray(grads[s], n);
            opt.Step();
            TensorAssert.Close(expected[s], p.Data, new Tolerance(1e-5, 1e-6), $"step {s + 1}");
        }
    }

    [Fact]
    public void First_momentum_step_uses_the_gradient_undampened()
    {
        // PyTorch initialises the buffer to the gradient itself, so dampening does not apply on step 1.
        var p = Tensor.FromArray([0f], 1).RequiresGrad_();
        var opt = new Sgd([p], lr: 1f, momentum: 0.9f, dampening: 0.5f);
        p.Grad = Tensor.FromArray([1f], 1);
        opt.Step();
        Assert.Equal(-1f, p.Data[0]);
        opt.Step(); // buf = 0.9 * 1 + 0.5 * 1 = 1.4
        Assert.Equal(-2.4f, p.Data[0], 6);
    }

    [Fact]
    public void Parameters_without_gradient_are_skipped_and_zero_grad_clears()
    {
        var a = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        var b = Tensor.FromArray([3f], 1).RequiresGrad_();
        var opt = new Sgd([a, b], lr: 0.5f, momentum: 0.9f);
        a.Grad = Tensor.FromArray([1f, 1f], 2);
        opt.Step();
        Assert.Equal([0.5f, 1.5f], a.ToArray());
        Assert.Equal(3f, b.Data[0]);
        Assert.Equal(["state.0.momentum_buffer"], opt.StateDict().Select(e => e.Key));

        var grad = a.Grad;
        opt.ZeroGrad(setToNone: false);
        Assert.Same(grad, a.Grad); // zeroed in place (PyTorch 1.13's default), buffer reused
        Assert.Equal([0f, 0f], a.Grad!.ToArray());
        opt.ZeroGrad();
        Assert.Null(a.Grad); // PyTorch 2's default, as Module.ZeroGrad
    }

    [Fact]
    public void Module_and_optimizer_zero_grad_have_the_same_semantics()
    {
        var model = new CnnSharp.Modules.Linear(3, 2, generator: new Generator(1));
        var opt = new Sgd(model.Parameters(), lr: 0.1f);
        foreach (var p in model.Parameters()) p.Grad = Tensor.Ones(p.Shape.ToArray());
        var kept = model.Weight.Grad;
        model.ZeroGrad(setToNone: false);
        Assert.Same(kept, model.Weight.Grad);
        Assert.All(model.Parameters(), p => Assert.All(p.Grad!.ToArray(), v => Assert.Equal(0f, v)));
        opt.ZeroGrad(setToNone: false);
        Assert.Same(kept, model.Weight.Grad);
        model.ZeroGrad();
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
        foreach (var p in model.Parameters()) p.Grad = Tensor.Ones(p.Shape.ToArray());
        opt.ZeroGrad();
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
    }


    [Fact]
    public void Steps_after_the_first_allocate_nothing()
    {
        var ps = new[] { Tensor.Zeros(32, 16, 5, 5).RequiresGrad_(), Tensor.Zeros(33).RequiresGrad_() };
        foreach (var p in ps) p.Grad = Tensor.Ones(p.Shape.ToArray());
        var opt = new Sgd(ps, lr: 0.1f, momentum: 0.9f, weightDecay: 1e-4f, nesterov: true);
        opt.Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) opt.Step();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Invalid_settings_throw()
    {
        var p = new[] { Tensor.Zeros(2).RequiresGrad_() };
        Assert.Throws<ArgumentException>(() => new Sgd(p, lr: 0.1f, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd(p, lr: 0.1f, momentum: 0.9f, dampening: 0.1f, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(p, lr: 0.1f, momentum: -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(p, lr: float.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(p, lr: 0.1f, weightDecay: -1f));
    }
}
