using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Element-wise <c>max(x, 0)</c> (PyTorch's <c>nn.ReLU</c>); forwards to <see cref="F.Relu"/>. No parameters.</summary>
/// <example><code>var act = new ReLU();</code></example>
public sealed class ReLU : Module
{
    /// <summary>Applies ReLU to <paramref name="input"/> (any shape).</summary>
    public override Tensor Forward(Tensor input) => F.Relu(input);
}
