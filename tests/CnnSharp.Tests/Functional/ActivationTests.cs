using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class ActivationTests
{
    private static readonly int[] s_shape = [3, 4, 5];

    // Distinct values in [-3, 3) that avoid 0 by at least ~0.01, so ReLU's kink is not crossed by h = 1e-6.
    private static float[] Values(int seed) => GradCheck.DistinctValues(60, seed).Select(v => v * 3f).ToArray();

    public static TheoryData<string> Ops => new() { "relu", "relu6", "leaky", "sigmoid", "tanh" };

    private static Func<Tensor, Tensor> Op(string name) => name switch
    {
        "relu" => F.Relu,
        "relu6" => F.Relu6,
        "leaky" => x => F.LeakyRelu(x, 0.2f),
        "sigmoid" => F.Sigmoid,
        _ => F.Tanh,
    };

    private static Func<double[], double[]> Ref(string name) => name switch
    {
        "relu" => Reference.Relu,
        "relu6" => Reference.Relu6,
        "leaky" => x => Reference.LeakyRelu(x, 0.2),
        "sigmoid" => Reference.Sigmoid,
        _ => Reference.Tanh,
    };

    [Theory, MemberData(nameof(Ops))]
    public void Forward_matches_reference(string op)
    {
        var v = Values(1);
        var y = Op(op)(Tensor.FromArray(v, s_shape));
        TensorAssert.ShapeIs(y, s_shape);
        TensorAssert.Close(Ref(op)(TensorAssert.ToDouble(v)), y, Tolerance.Float32);
    }

    [Theory, MemberData(nameof(Ops))]
    public void Backward_matches_finite_differences(string op) =>
        GradCheck.Check(s_shape, Values(2), Op(op), Ref(op));

    [Fact]
    public void Relu_gradient_at_zero_is_zero_and_nan_propagates()
    {
        var x = Tensor.FromArray([0f, -1f, 2f, float.NaN], 4).RequiresGrad_();
        var y = F.Relu(x);
        Assert.Equal(0f, y.Data[0]);
        Assert.True(float.IsNaN(y.Data[3]));
        y.Backward(Tensor.Ones(4));
        Assert.Equal(new[] { 0f, 0f, 1f }, x.Grad!.ToArray()[..3]);
    }

    [Fact]
    public void Relu6_backward_matches_finite_differences_across_both_kinks()
    {
        // Scaled by 9 the grid spans [-9, 9) in steps of 0.3 offset by 0.075: both 0 and 6 are crossed, neither is within h.
        var v = GradCheck.DistinctValues(60, 3).Select(x => x * 9f).ToArray();
        Assert.Contains(v, x => x > 6f);
        Assert.Contains(v, x => x < 0f);
        GradCheck.Check(s_shape, v, F.Relu6, Reference.Relu6);
    }

    [Fact]
    public void Relu6_clamps_to_zero_and_six_and_passes_no_gradient_at_either_end_like_pytorch()
    {
        // PyTorch 1.13: F.relu6(torch.tensor([-1., 0., 3., 6., 7., nan])) = [0, 0, 3, 6, 6, nan]; grad of sum = [0, 0, 1, 0, 0, 1]
        // (hardtanh's backward tests x <= 0 || x >= 6, which NaN fails, so NaN passes its gradient).
        var x = Tensor.FromArray([-1f, 0f, 3f, 6f, 7f, float.NaN], 6).RequiresGrad_();
        var y = F.Relu6(x);
        Assert.Equal(new[] { 0f, 0f, 3f, 6f, 6f }, y.ToArray()[..5]);
        Assert.True(float.IsNaN(y.Data[5]));
        y.Backward(Tensor.Ones(6));
        Assert.Equal(new[] { 0f, 0f, 1f, 0f, 0f, 1f }, x.Grad!.ToArray());
    }

    [Fact]
    public void Leaky_relu_default_slope_is_one_hundredth()
    {
        var y = F.LeakyRelu(Tensor.FromArray([-2f, 3f], 2));
        Assert.Equal(new[] { -0.02f, 3f }, y.ToArray());
    }

    [Fact]
    public void Sigmoid_and_tanh_saturate_without_nan()
    {
        var x = Tensor.FromArray([-1e4f, 1e4f], 2);
        Assert.Equal(new[] { 0f, 1f }, F.Sigmoid(x).ToArray());
        Assert.Equal(new[] { -1f, 1f }, F.Tanh(x).ToArray());
    }
}
