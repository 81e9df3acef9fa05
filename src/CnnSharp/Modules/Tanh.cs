using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Element-wise hyperbolic tangent (PyTorch's <c>nn.Tanh</c>); forwards to <see cref="F.Tanh"/>. No parameters.</summary>
public sealed class Tanh : Module
{
    /// <summary>Applies tanh to <paramref name="input"/> (any shape).</summary>
    public override Tensor Forward(Tensor input) => F.Tanh(input);
}
