using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Element-wise logistic sigmoid (PyTorch's <c>nn.Sigmoid</c>); forwards to <see cref="F.Sigmoid"/>. No parameters.</summary>
public sealed class Sigmoid : Module
{
    /// <summary>Applies the sigmoid to <paramref name="input"/> (any shape).</summary>
    public override Tensor Forward(Tensor input) => F.Sigmoid(input);
}
