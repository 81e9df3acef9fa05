using CnnSharp.Optimizers;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Optimizers;

/// <summary><see cref="GradClip"/> against torch.nn.utils.clip_grad_norm_/clip_grad_value_ (PyTorch 1.13).</summary>
public sealed class GradClipTests
{
    [Theory]
    [InlineData("clip_grad_norm_l2")]
    [InlineData("clip_grad_norm_l2_unclipped")]
    [InlineData("clip_grad_norm_inf")]
    [InlineData("clip_grad_value")]
    public void Matches_pytorch(string name)
    {
        var fx = JsonFixture.Load($"training/{name}.json");
        var shapes = fx.GetProperty("shapes").EnumerateArray().Select(s => s.Ints()).ToArray();
        var grads = fx.GetProperty("grads").EnumerateArray().Select(g => g.Floats()).ToArray();
        var parameters = shapes.Select((s, i) => { var p = Tensor.Zeros(s).RequiresGrad_(); p.Grad = Tensor.FromArray(grads[i], s); return p; }).ToArray();
        var kwargs = fx.GetProperty("kwargs");
        if (name == "clip_grad_value")
        {
            GradClip.ClipGradValue(parameters, kwargs.GetProperty("clip_value").GetDouble());
        }
        else
        {
            var nt = kwargs.GetProperty("norm_type");
            double normType = nt.ValueKind == System.Text.Json.JsonValueKind.String ? double.PositiveInfinity : nt.GetDouble();
            float total = GradClip.ClipGradNorm(parameters, kwargs.GetProperty("max_norm").GetDouble(), normType);
            Assert.Equal(fx.GetProperty("total_norm").GetDouble(), total, 1e-6 * total);
        }
        var after = fx.GetProperty("grads_after").EnumerateArray().Select(g => g.Floats()).ToArray();
        for (int i = 0; i < parameters.Length; i++)
            TensorAssert.Close(after[i], parameters[i].Grad!.Data, new Tolerance(1e-6, 1e-7), $"{name}: gradient {i}");
    }

    [Fact]
    public void Null_gradients_are_skipped_and_a_nonfinite_norm_can_be_an_error()
    {
        var a = Tensor.Zeros(2).RequiresGrad_();
        var b = Tensor.Zeros(2).RequiresGrad_();
        b.Grad = Tensor.FromArray([3f, 4f], 2);
        Assert.Equal(5f, GradClip.ClipGradNorm([a, b], 10));
        Assert.Null(a.Grad);
        Assert.Equal(0f, GradClip.ClipGradNorm([a], 1));
        b.Grad = Tensor.FromArray([float.NaN, 1f], 2);
        var ex = Assert.Throws<InvalidOperationException>(() => GradClip.ClipGradNorm([b], 1, errorIfNonfinite: true));
        Assert.Contains("NaN", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1f, b.Grad.Data[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradNorm([b], -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradNorm([b], 1, normType: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradValue([b], double.NaN));
    }
}
