using CnnSharp.Functional;
using CnnSharp.Tests.TestUtilities;

namespace CnnSharp.Tests.Functional;

public sealed class ActivationTests
{
    private static readonly int[] s_shape = [3, 4, 5];

    // Distinct values in [-3, 3) that avoid 0 by at least ~0.01, so ReLU's kink is not crossed by h = 1e-6.
    private static float[] Values(int seed) => GradCheck.DistinctValues(60, seed).Select(v => v * 3f).ToArray();

    public static TheoryData<string> Ops => new() { "relu", "leaky", "sigmoid", "tanh" };

    private static Func<Tensor, Tensor> Op(string name) => name switch
    {
        "relu" => F.Relu,
        "leaky" => x => F.LeakyRelu(x, 0.2f),
        "sigmoid" => F.Sigmoid,
        _ => F.Tanh,
    };

    private static Func<double[], double[]> Ref(string name) => name switch
    {
        "relu" => Reference.Relu,
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
