using CnnSharp.Autograd;
using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class Dropout2dTests
{
    [Fact]
    public void Whole_feature_maps_are_dropped_or_scaled_by_one_over_keep()
    {
        const float p = 0.4f;
        var x = Tensor.FromArray(GradCheck.RandomValues(50 * 8 * 9, 1, 0.5f, 1.5f), 50, 8, 3, 3);
        var y = F.Dropout2d(x, p, training: true, new Generator(3));
        int dropped = 0;
        for (int map = 0; map < 50 * 8; map++)
        {
            var xs = x.Data.Slice(map * 9, 9);
            var ys = y.Data.Slice(map * 9, 9);
            bool zero = ys[0] == 0f;
            if (zero) dropped++;
            for (int i = 0; i < 9; i++) Assert.Equal(zero ? 0f : xs[i] * (1f / (1f - p)), ys[i]);
        }
        // Binomial(400, 0.4): 5 standard deviations.
        double sd = Math.Sqrt(400 * p * (1 - p));
        Assert.InRange(dropped, 400 * p - 5 * sd, 400 * p + 5 * sd);
    }

    [Fact]
    public void The_same_seed_gives_the_same_masks_and_the_gradient_uses_them()
    {
        var x = Tensor.FromArray(GradCheck.RandomValues(4 * 5 * 6, 2, 0.5f, 1.5f), 4, 5, 6).RequiresGrad_();
        var a = F.Dropout2d(x, 0.5f, true, new Generator(9));
        var b = F.Dropout2d(x.Detach(), 0.5f, true, new Generator(9));
        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), F.Dropout2d(x.Detach(), 0.5f, true, new Generator(10)).ToArray());
        a.Backward(Tensor.Ones(4, 5, 6));
        for (int i = 0; i < x.Numel; i++) Assert.Equal(a.Data[i] / x.Data[i], x.Grad!.Data[i], 5);
    }

    [Fact]
    public void Eval_mode_and_p_zero_return_the_input_and_p_one_gives_zeros()
    {
        var x = Tensor.Ones(2, 3, 2, 2);
        Assert.Same(x, F.Dropout2d(x, 0.5f, training: false));
        Assert.Same(x, F.Dropout2d(x, 0f));
        Assert.All(F.Dropout2d(x, 1f, true, new Generator(1)).ToArray(), v => Assert.Equal(0f, v));
        var module = new CnnSharp.Modules.Dropout2d(0.5f);
        module.Eval();
        Assert.Same(x, module.Forward(x));
    }

    [Fact]
    public void Bad_input_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => F.Dropout2d(Tensor.Ones(1, 1, 2, 2), 1.5f));
        var ex = Assert.Throws<ShapeException>(() => F.Dropout2d(Tensor.Ones(4, 4), 0.5f));
        Assert.Contains("Dropout2d: expected a 4-D input (N, C, H, W) or a 3-D input (N, C, L), got (4, 4)", ex.Message, StringComparison.Ordinal);
        using var _ = GradMode.NoGrad();
        Assert.Throws<ArgumentOutOfRangeException>(() => new CnnSharp.Modules.Dropout2d(-0.1f));
    }
}
