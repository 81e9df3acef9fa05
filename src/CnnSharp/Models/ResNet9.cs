using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// ResNet-9 in the layout of the DAWNBench-winning CIFAR-10 network (Myrtle.ai, D. Page, "How to train your ResNet",
/// 2018): convolution + max-pool stages that halve the resolution three times, with a residual
/// <see cref="BasicBlock"/> after the first and the last, global average pooling and a linear classifier. It trains to
/// high accuracy in few epochs because most of its parameters sit at low resolution, where they are cheap.
/// </summary>
/// <remarks>
/// With base width w (16 by default; Page's network is w = 64 on 32x32 RGB):
/// <code>
/// prep   = Sequential(Conv2d(in, w, 3, padding 1, bias false), BatchNorm2d(w), ReLU)               (N,in,H,W) -> (N,w,H,W)
/// layer1 = Sequential(Conv2d(w, 2w, 3, p 1, bias false), BatchNorm2d(2w), ReLU, MaxPool2d(2),
///                     BasicBlock(2w, 2w))                                                           -> (N,2w,H/2,W/2)
/// layer2 = Sequential(Conv2d(2w, 4w, 3, p 1, bias false), BatchNorm2d(4w), ReLU, MaxPool2d(2))      -> (N,4w,H/4,W/4)
/// layer3 = Sequential(Conv2d(4w, 8w, 3, p 1, bias false), BatchNorm2d(8w), ReLU, MaxPool2d(2),
///                     BasicBlock(8w, 8w))                                                           -> (N,8w,H/8,W/8)
/// avgpool = AdaptiveAvgPool2d(1), flatten                                                           -> (N,8w)
/// fc = Linear(8w, numClasses)                                                                       -> (N,numClasses)
/// </code>
/// Divisions round down (28x28 gives 14, 7, 3). Nine weighted layers: the prep convolution, the three stage
/// convolutions, two per residual block and the classifier. Differences from Page's network, chosen so the model is a
/// plain torchvision-style stack: the residual blocks are torchvision <c>BasicBlock</c>s (ReLU after the add), the head
/// averages instead of max-pooling and has no 0.125 logit scale. At w = 16 and 28x28 it costs 17.3 M multiply-adds per
/// image (ResNet-20: 30.8 M) for 0.41 M parameters (ResNet-20: 0.27 M).
/// <para>State-dict keys: <c>prep.0.weight</c>, <c>prep.1.*</c>, <c>layer1.0.weight</c>, <c>layer1.1.*</c>,
/// <c>layer1.4.{conv1,bn1,conv2,bn2}.*</c>, <c>layer2.0.weight</c>, <c>layer2.1.*</c>, <c>layer3.0.weight</c>,
/// <c>layer3.1.*</c>, <c>layer3.4.{conv1,bn1,conv2,bn2}.*</c>, <c>fc.weight</c>, <c>fc.bias</c>. Initialisation is each
/// layer's PyTorch default. Inputs of at least 8x8 work.</para>
/// </remarks>
public sealed class ResNet9 : Module
{
    /// <summary>Builds the network with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="numClasses">Number of output classes.</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <param name="inChannels">Channels of the input images (1 grayscale, 3 RGB).</param>
    /// <param name="width">Base width w: channels of the prep convolution; the stages have 2w, 4w and 8w.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive.</exception>
    public ResNet9(int numClasses = 10, Generator? generator = null, int inChannels = 1, int width = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        NumClasses = numClasses;
        InChannels = inChannels;
        Width = width;
        Prep = RegisterModule("prep", ConvBnRelu(inChannels, width, pool: false, generator));
        Layer1 = RegisterModule("layer1", ConvBnRelu(width, 2 * width, pool: true, generator));
        Layer1.Append(new BasicBlock(2 * width, 2 * width, 1, generator));
        Layer2 = RegisterModule("layer2", ConvBnRelu(2 * width, 4 * width, pool: true, generator));
        Layer3 = RegisterModule("layer3", ConvBnRelu(4 * width, 8 * width, pool: true, generator));
        Layer3.Append(new BasicBlock(8 * width, 8 * width, 1, generator));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Fc = RegisterModule("fc", new Linear(8 * width, numClasses, generator: generator));
    }

    /// <summary>Number of output classes.</summary>
    public int NumClasses { get; }

    /// <summary>Channels of the input images.</summary>
    public int InChannels { get; }

    /// <summary>Base width w.</summary>
    public int Width { get; }

    /// <summary>3x3 convolution to w channels, batch norm, ReLU, at full resolution.</summary>
    public Sequential Prep { get; }

    /// <summary>3x3 convolution to 2w channels, batch norm, ReLU, 2x2 max pool, residual block.</summary>
    public Sequential Layer1 { get; }

    /// <summary>3x3 convolution to 4w channels, batch norm, ReLU, 2x2 max pool.</summary>
    public Sequential Layer2 { get; }

    /// <summary>3x3 convolution to 8w channels, batch norm, ReLU, 2x2 max pool, residual block.</summary>
    public Sequential Layer3 { get; }

    /// <summary>Global average pooling to (N, 8w, 1, 1).</summary>
    public AdaptiveAvgPool2d AvgPool { get; }

    /// <summary>The classifier: 8w features to <see cref="NumClasses"/> logits.</summary>
    public Linear Fc { get; }

    /// <summary>Logits for a batch of images.</summary>
    /// <param name="input">Images, shape (N, <see cref="InChannels"/>, H, W), H and W at least 8.</param>
    /// <returns>Logits, shape (N, <see cref="NumClasses"/>).</returns>
    /// <exception cref="ShapeException">The input is not (N, <see cref="InChannels"/>, H, W).</exception>
    public override Tensor Forward(Tensor input)
    {
        ModelInput.RequireImages(nameof(ResNet9), input, InChannels);
        var output = Layer3.Call(Layer2.Call(Layer1.Call(Prep.Call(input))));
        return Fc.Call(F.Flatten(AvgPool.Call(output), startDim: 1));
    }

    private static Sequential ConvBnRelu(int inChannels, int outChannels, bool pool, Generator? generator)
    {
        var block = new Sequential(
            new Conv2d(inChannels, outChannels, kernelSize: 3, stride: 1, padding: 1, bias: false, generator: generator),
            new BatchNorm2d(outChannels),
            new ReLU());
        if (pool) block.Append(new MaxPool2d(kernelSize: 2, stride: 2));
        return block;
    }
}
