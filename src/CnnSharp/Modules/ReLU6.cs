using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Element-wise <c>min(max(x, 0), 6)</c> (PyTorch's <c>nn.ReLU6</c>); forwards to <see cref="F.Relu6"/>. No parameters.</summary>
/// <example><code>var act = new ReLU6();</code></example>
public sealed class ReLU6 : Module
{
    /// <summary>Applies ReLU6 to <paramref name="input"/> (any shape).</summary>
    public override Tensor Forward(Tensor input) => F.Relu6(input);
}
