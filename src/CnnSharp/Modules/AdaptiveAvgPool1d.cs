using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Adaptive 1-D average pooling layer (PyTorch's <c>nn.AdaptiveAvgPool1d</c>); output size 1 is global average pooling.</summary>
/// <remarks>Output o averages input positions <c>[floor(o*L/OutL), ceil((o+1)*L/OutL))</c> (<see cref="F.AdaptiveAvgPool1d"/>).
/// No parameters or buffers.</remarks>
/// <example><code>var gap = new AdaptiveAvgPool1d(1); // (N, C, L) -> (N, C, 1)</code></example>
public sealed class AdaptiveAvgPool1d : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="outputSize">Output length, positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">The output size is not positive.</exception>
    public AdaptiveAvgPool1d(int outputSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        OutputSize = outputSize;
    }

    /// <summary>Output length.</summary>
    public int OutputSize { get; }

    /// <summary>Pools <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">The input is not 2-D or 3-D.</exception>
    public override Tensor Forward(Tensor input) => F.AdaptiveAvgPool1d(input, OutputSize);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"output_size={OutputSize}";
}
