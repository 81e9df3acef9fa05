using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Channel-wise dropout (PyTorch's <c>nn.Dropout2d</c>): in training mode zeroes whole feature maps with probability p and scales the rest by 1/(1-p); the identity in eval mode.</summary>
/// <remarks>See <see cref="F.Dropout2d"/> (input (N, C, H, W), or (N, C, L) as PyTorch 1.13 reads 3-D input). No parameters or buffers.</remarks>
/// <example><code>var drop = new Dropout2d(0.1f, new Generator(42));</code></example>
public sealed class Dropout2d : Module
{
    private readonly Generator? _generator;

    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing a channel, in [0, 1].</param>
    /// <param name="generator">Random source for the masks; <see cref="Generator.Default"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public Dropout2d(float p = 0.5f, Generator? generator = null)
    {
        if (!(p >= 0f && p <= 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout2d: probability must be in [0, 1]");
        P = p;
        _generator = generator;
    }

    /// <summary>Probability of zeroing a channel.</summary>
    public float P { get; }

    /// <summary>Applies channel dropout in training mode; returns <paramref name="input"/> unchanged in eval mode.</summary>
    public override Tensor Forward(Tensor input) => F.Dropout2d(input, P, Training, _generator);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"p={Repr.Number(P)}, inplace=False";
}
