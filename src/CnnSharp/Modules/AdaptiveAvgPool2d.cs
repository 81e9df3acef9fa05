using CnnSharp.Functional;

namespace CnnSharp.Modules;

/// <summary>Adaptive 2-D average pooling layer (PyTorch's <c>nn.AdaptiveAvgPool2d</c>); output size 1 is global average pooling.</summary>
/// <remarks>
/// Output (i, j) averages input rows <c>[floor(i*H/OutH), ceil((i+1)*H/OutH))</c> and the matching columns
/// (<see cref="F.AdaptiveAvgPool2d(Tensor, int)"/>). No parameters or buffers.
/// </remarks>
/// <example><code>var gap = new AdaptiveAvgPool2d(1); // (N, C, H, W) -> (N, C, 1, 1)</code></example>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>Creates the layer with a square output size.</summary>
    /// <param name="outputSize">Output height and width, positive.</param>
    public AdaptiveAvgPool2d(int outputSize) : this((outputSize, outputSize)) { }

    /// <summary>Creates the layer with output size (OutH, OutW).</summary>
    /// <param name="outputSize">Output (height, width), both positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">An output size is not positive.</exception>
    public AdaptiveAvgPool2d((int H, int W) outputSize)
    {
        if (outputSize.H <= 0 || outputSize.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, "AdaptiveAvgPool2d: output size must be positive");
        OutputSize = outputSize;
    }

    /// <summary>Output (height, width).</summary>
    public (int H, int W) OutputSize { get; }

    /// <summary>Pools <paramref name="input"/>.</summary>
    /// <exception cref="ShapeException">The input is not 3-D or 4-D.</exception>
    public override Tensor Forward(Tensor input) => F.AdaptiveAvgPool2d(input, OutputSize);

    /// <inheritdoc />
    protected override string ExtraRepr() => $"output_size={Repr.Pair(OutputSize)}";
}
