using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Log-softmax along a dimension (PyTorch's <c>nn.LogSoftmax</c>); forwards to <see cref="F.LogSoftmax"/>. No parameters.</summary>
/// <example><code>var logProbs = new LogSoftmax(dim: 1).Forward(logits);</code></example>
public sealed class LogSoftmax : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="dim">The dimension to normalise; negative counts from the end.</param>
    public LogSoftmax(int dim) => Dim = dim;

    /// <summary>The normalised dimension.</summary>
    public int Dim { get; }

    /// <summary>Applies log-softmax to <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException"><see cref="Dim"/> is out of range for the input.</exception>
    public override Tensor Forward(Tensor input) => F.LogSoftmax(input, Dim);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"dim={Dim}";
}
