using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// MobileNetV2's inverted residual block (torchvision's <c>InvertedResidual</c>): expand with a 1x1 convolution, filter
/// with a 3x3 depthwise convolution, project linearly with a 1x1 convolution; the input is added back when the block
/// keeps the shape (stride 1 and equal channel counts).
/// </summary>
/// <remarks>
/// <code>
/// hidden = round(in x expandRatio)
/// conv = Sequential(
///   [0 Sequential(Conv2d(in, hidden, 1, bias false), BatchNorm2d(hidden), ReLU6)]          only when expandRatio != 1
///   Sequential(Conv2d(hidden, hidden, 3, stride, padding 1, groups hidden, bias false), BatchNorm2d(hidden), ReLU6)
///   Conv2d(hidden, out, 1, bias false)
///   BatchNorm2d(out))                                      no activation after the projection (the "linear bottleneck")
/// </code>
/// Keys as torchvision's: with expansion <c>conv.0.0.weight</c>, <c>conv.0.1.*</c>, <c>conv.1.0.weight</c>,
/// <c>conv.1.1.*</c>, <c>conv.2.weight</c>, <c>conv.3.*</c>; without, <c>conv.0.0.weight</c>, <c>conv.0.1.*</c>,
/// <c>conv.1.weight</c>, <c>conv.2.*</c>. Input (N, in, H, W) → (N, out, floor((H − 1)/stride) + 1, ...).
/// </remarks>
public sealed class InvertedResidual : Module
{
    /// <summary>Builds the block with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">Stride of the depthwise convolution, 1 or 2.</param>
    /// <param name="expandRatio">Hidden width over input width (1 skips the expansion; 6 in MobileNetV2's other blocks).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive, or the stride is not 1 or 2.</exception>
    public InvertedResidual(int inChannels, int outChannels, int stride, int expandRatio, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expandRatio);
        if (stride is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(stride), stride, "InvertedResidual: stride must be 1 or 2");
        InChannels = inChannels;
        OutChannels = outChannels;
        Stride = stride;
        ExpandRatio = expandRatio;
        int hidden = inChannels * expandRatio; // torchvision: int(round(inp * expand_ratio)), exact for integer ratios
        var conv = new Sequential();
        if (expandRatio != 1) conv.Append(ConvBnReLU6(inChannels, hidden, 1, 1, 1, generator));
        conv.Append(ConvBnReLU6(hidden, hidden, 3, stride, hidden, generator));
        conv.Append(new Conv2d(hidden, outChannels, kernelSize: 1, bias: false, generator: generator));
        conv.Append(new BatchNorm2d(outChannels));
        Conv = RegisterModule("conv", conv);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Stride of the depthwise convolution.</summary>
    public int Stride { get; }

    /// <summary>Hidden width over input width.</summary>
    public int ExpandRatio { get; }

    /// <summary>Whether the input is added to the output (stride 1 and <see cref="InChannels"/> = <see cref="OutChannels"/>).</summary>
    public bool UseResidual => Stride == 1 && InChannels == OutChannels;

    /// <summary>The expansion, depthwise and projection layers.</summary>
    public Sequential Conv { get; }

    /// <summary>Runs the block.</summary>
    /// <param name="input">Shape (N, <see cref="InChannels"/>, H, W).</param>
    /// <returns>Shape (N, <see cref="OutChannels"/>, H', W') with H' = floor((H − 1)/stride) + 1.</returns>
    /// <exception cref="ShapeException">The input is not 4-D with <see cref="InChannels"/> channels.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = Conv.Call(input);
        return UseResidual ? input + output : output;
    }

    /// <summary>
    /// torchvision's <c>Conv2dNormActivation</c> with MobileNetV2's settings: convolution (padding (k − 1)/2, no bias),
    /// batch norm, ReLU6, as a Sequential so its keys are <c>0.weight</c> and <c>1.*</c>.
    /// </summary>
    internal static Sequential ConvBnReLU6(int inChannels, int outChannels, int kernelSize, int stride, int groups, Generator? generator) =>
        new(new Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: (kernelSize - 1) / 2, groups: groups, bias: false, generator: generator),
            new BatchNorm2d(outChannels),
            new ReLU6());
}
