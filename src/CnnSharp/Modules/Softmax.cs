using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Softmax along a dimension (PyTorch's <c>nn.Softmax</c>); forwards to <see cref="F.Softmax"/>. No parameters.</summary>
/// <example><code>var probs = new Softmax(dim: 1).Forward(logits);</code></example>
public sealed class Softmax : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="dim">The dimension whose slices sum to 1; negative counts from the end.</param>
    public Softmax(int dim) => Dim = dim;

    /// <summary>The normalised dimension.</summary>
    public int Dim { get; }

    /// <summary>Applies softmax to <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException"><see cref="Dim"/> is out of range for the input.</exception>
    public override Tensor Forward(Tensor input) => F.Softmax(input, Dim);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"dim={Dim}";
}
