using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// The residual block of ResNet-18/34 (torchvision's <c>BasicBlock</c>, expansion 1):
/// <c>relu(bn2(conv2(relu(bn1(conv1(x))))) + identity)</c>, where identity is <c>x</c>, or
/// <c>downsample(x)</c> = 1x1 convolution (no bias, same stride) + batch norm when the block changes the channel count or
/// the resolution.
/// </summary>
/// <remarks>
/// <code>
/// conv1 = Conv2d(in, out, 3, stride, padding 1, bias false)   bn1 = BatchNorm2d(out)
/// conv2 = Conv2d(out, out, 3, stride 1, padding 1, bias false) bn2 = BatchNorm2d(out)
/// downsample = Sequential(Conv2d(in, out, 1, stride, bias false), BatchNorm2d(out))   only when stride != 1 or in != out
/// </code>
/// State-dict keys as in torchvision: <c>conv1.weight</c>, <c>bn1.*</c>, <c>conv2.weight</c>, <c>bn2.*</c>, then
/// <c>downsample.0.weight</c> and <c>downsample.1.*</c> when present. Input (N, in, H, W) → output
/// (N, out, floor((H − 1)/stride) + 1, floor((W − 1)/stride) + 1).
/// </remarks>
public sealed class BasicBlock : Module
{
    /// <summary>Builds the block with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">Stride of the first 3x3 convolution and of the projection (1 or 2 in ResNets).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A channel count or the stride is not positive.</exception>
    public BasicBlock(int inChannels, int outChannels, int stride = 1, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        InChannels = inChannels;
        OutChannels = outChannels;
        Stride = stride;
        Conv1 = RegisterModule("conv1", new Conv2d(inChannels, outChannels, kernelSize: 3, stride: stride, padding: 1, bias: false, generator: generator));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(outChannels));
        Conv2 = RegisterModule("conv2", new Conv2d(outChannels, outChannels, kernelSize: 3, stride: 1, padding: 1, bias: false, generator: generator));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(outChannels));
        if (stride != 1 || inChannels != outChannels)
        {
            Downsample = RegisterModule("downsample", new Sequential(
                new Conv2d(inChannels, outChannels, kernelSize: 1, stride: stride, bias: false, generator: generator),
                new BatchNorm2d(outChannels)));
        }
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Stride of <see cref="Conv1"/> and of the projection.</summary>
    public int Stride { get; }

    /// <summary>First 3x3 convolution (carries the stride).</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Batch norm after <see cref="Conv1"/>.</summary>
    public BatchNorm2d Bn1 { get; }

    /// <summary>Second 3x3 convolution (stride 1).</summary>
    public Conv2d Conv2 { get; }

    /// <summary>Batch norm after <see cref="Conv2"/>, before the residual add.</summary>
    public BatchNorm2d Bn2 { get; }

    /// <summary>The projection of the shortcut (1x1 convolution + batch norm), or null when the shortcut is the identity.</summary>
    public Sequential? Downsample { get; }

    /// <summary>Runs the block.</summary>
    /// <param name="input">Shape (N, <see cref="InChannels"/>, H, W).</param>
    /// <returns>Shape (N, <see cref="OutChannels"/>, H', W') with H' = floor((H − 1)/stride) + 1.</returns>
    /// <exception cref="ShapeException">The input is not 4-D with <see cref="InChannels"/> channels.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var output = F.Relu(Bn1.Call(Conv1.Call(input)));
        output = Bn2.Call(Conv2.Call(output));
        var identity = Downsample is null ? input : Downsample.Call(input);
        return F.Relu(output + identity);
    }
}
