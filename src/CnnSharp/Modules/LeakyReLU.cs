using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Element-wise <c>x &gt; 0 ? x : negativeSlope * x</c> (PyTorch's <c>nn.LeakyReLU</c>); forwards to <see cref="F.LeakyRelu"/>.</summary>
/// <example><code>var act = new LeakyReLU(0.2f);</code></example>
public sealed class LeakyReLU : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="negativeSlope">Slope for non-positive inputs.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="negativeSlope"/> is NaN or infinite (every negative input
    /// would silently become NaN or infinite).</exception>
    public LeakyReLU(float negativeSlope = 0.01f) =>
        NegativeSlope = float.IsFinite(negativeSlope) ? negativeSlope
            : throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope, $"LeakyReLU: negative_slope must be finite, got {negativeSlope}");

    /// <summary>Slope for non-positive inputs.</summary>
    public float NegativeSlope { get; }

    /// <summary>Applies the activation to <paramref name="input"/> (any shape).</summary>
    public override Tensor Forward(Tensor input) => F.LeakyRelu(input, NegativeSlope);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"negative_slope={Repr.Number(NegativeSlope)}";
}
