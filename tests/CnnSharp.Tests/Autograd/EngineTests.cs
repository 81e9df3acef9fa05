using CnnSharp.Autograd;

namespace CnnSharp.Tests.Autograd;

public sealed class EngineTests
{
    [Fact]
    public void Gradients_accumulate_across_backward_calls_until_cleared()
    {
        var x = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        (x * 3f).Sum().Backward();
        (x * 3f).Sum().Backward();
        Assert.Equal(new[] { 6f, 6f }, x.Grad!.ToArray());
        x.Grad = null;
        (x * x).Sum().Backward();
        Assert.Equal(new[] { 2f, 4f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Shared_subexpression_receives_the_sum_of_both_paths()
    {
        // y = a*b + a, dy/da = b + 1, dy/db = a (diamond-shaped graph).
        var a = Tensor.FromArray([2f, -3f], 2).RequiresGrad_();
        var b = Tensor.FromArray([5f, 7f], 2).RequiresGrad_();
        var y = (a * b + a).Sum();
        y.Backward();
        Assert.Equal(new[] { 6f, 8f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 2f, -3f }, b.Grad!.ToArray());
    }

    [Fact]
    public void NoGrad_scope_records_nothing_and_restores_the_mode()
    {
        var x = Tensor.FromArray([1f], 1).RequiresGrad_();
        Tensor y;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            y = x * 2f;
            using (GradMode.EnableGrad()) Assert.True(GradMode.IsEnabled);
            Assert.False(GradMode.IsEnabled);
        }
        Assert.True(GradMode.IsEnabled);
        Assert.Null(y.GradFn);
        Assert.False(y.RequiresGrad);
        Assert.Throws<InvalidOperationException>(() => y.Backward());
    }

    [Fact]
    public void Backward_on_non_scalar_needs_an_explicit_gradient_of_the_same_shape()
    {
        var x = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        var y = x * 2f;
        Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Throws<ShapeException>(() => y.Backward(Tensor.Ones(3)));
        y.Backward(Tensor.FromArray([1f, 10f], 2));
        Assert.Equal(new[] { 2f, 20f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Inputs_that_do_not_require_grad_get_no_gradient()
    {
        var x = Tensor.FromArray([1f, 2f], 2).RequiresGrad_();
        var c = Tensor.FromArray([3f, 4f], 2);
        (x * c).Sum().Backward();
        Assert.Null(c.Grad);
        Assert.Equal(new[] { 3f, 4f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Deep_chains_do_not_overflow_the_stack()
    {
        var x = Tensor.FromArray([1f], 1).RequiresGrad_();
        var y = x;
        for (int i = 0; i < 20000; i++) y = y * 1f;
        y.Sum().Backward();
        Assert.Equal(1f, x.Grad![0]);
    }

    [Fact]
    public void RequiresGrad_cannot_be_changed_on_non_leaves_and_detach_cuts_history()
    {
        var x = Tensor.FromArray([1f], 1).RequiresGrad_();
        var y = x * 2f;
        Assert.False(y.IsLeaf);
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
        var d = y.Detach();
        Assert.True(d.IsLeaf);
        Assert.False(d.RequiresGrad);
    }
}
