using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Inverted dropout (PyTorch's <c>nn.Dropout</c>): in training mode zeroes elements with probability p and scales the rest by 1/(1-p); the identity in eval mode.</summary>
/// <remarks>See <see cref="F.Dropout"/>. No parameters or buffers.</remarks>
/// <example><code>var drop = new Dropout(0.25f, new Generator(42));</code></example>
public sealed class Dropout : Module
{
    private readonly Generator? _generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing an element, in [0, 1].</param>
    /// <param name="generator">Random source for the masks; <see cref="Generator.Default"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public Dropout(float p = 0.5f, Generator? generator = null)
    {
        if (!(p >= 0f && p <= 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: probability must be in [0, 1]");
        P = p;
        _generator = generator;
    }

    /// <summary>Probability of zeroing an element.</summary>
    public float P { get; }

    /// <summary>Applies dropout in training mode; returns <paramref name="input"/> unchanged in eval mode.</summary>
    public override Tensor Forward(Tensor input) => F.Dropout(input, P, Training, _generator);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"p={Repr.Number(P)}, inplace=False";
}
