using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// An 8-layer residual network for 3x32x32 images (CIFAR-10 sized), laid out like torchvision's ResNet with one
/// <see cref="BasicBlock"/> per stage: a 3x3 stem, three stages of 16, 32 and 64 channels (the last two halve the
/// resolution and project the shortcut with a 1x1 convolution + batch norm), global average pooling and a linear
/// classifier. One of the four models of <c>bench/compare-models.sh</c>.
/// </summary>
/// <remarks>
/// <code>
/// conv1 = Conv2d(3, 16, 3, padding 1, bias false)  bn1 = BatchNorm2d(16)  relu   (N,3,32,32) -> (N,16,32,32)
/// layer1 = Sequential(BasicBlock(16, 16))                                        -> (N,16,32,32)
/// layer2 = Sequential(BasicBlock(16, 32, stride 2))  with downsample             -> (N,32,16,16)
/// layer3 = Sequential(BasicBlock(32, 64, stride 2))  with downsample             -> (N,64,8,8)
/// avgpool = AdaptiveAvgPool2d(1), flatten (torch.flatten(x, 1) in Forward)       -> (N,64)
/// fc = Linear(64, numClasses)                                                    -> (N,numClasses)
/// </code>
/// Eight weighted layers: the stem, two convolutions per block, the classifier. State-dict keys as torchvision names
/// them: <c>conv1.weight</c>, <c>bn1.*</c>, <c>layer1.0.conv1.weight</c>, <c>layer1.0.bn1.*</c>, ...,
/// <c>layer2.0.downsample.0.weight</c>, <c>layer2.0.downsample.1.*</c>, ..., <c>fc.weight</c>, <c>fc.bias</c>.
/// Initialisation is each layer's PyTorch default (torchvision's ResNet re-initialises with Kaiming-normal; this model,
/// like a plain <c>nn.Module</c> of the same layers, does not). Any input of at least 1x1 works; 32x32 is the design size.
/// </remarks>
public sealed class ResNet8 : Module
{
    /// <summary>Builds the network with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="numClasses">Number of output classes (10 for CIFAR-10).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is not positive.</exception>
    public ResNet8(int numClasses = 10, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        NumClasses = numClasses;
        Conv1 = RegisterModule("conv1", new Conv2d(3, 16, kernelSize: 3, stride: 1, padding: 1, bias: false, generator: generator));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(16));
        Relu = RegisterModule("relu", new ReLU());
        Layer1 = RegisterModule("layer1", new Sequential(new BasicBlock(16, 16, stride: 1, generator)));
        Layer2 = RegisterModule("layer2", new Sequential(new BasicBlock(16, 32, stride: 2, generator)));
        Layer3 = RegisterModule("layer3", new Sequential(new BasicBlock(32, 64, stride: 2, generator)));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Fc = RegisterModule("fc", new Linear(64, numClasses, generator: generator));
    }

    /// <summary>Number of output classes.</summary>
    public int NumClasses { get; }

    /// <summary>The stem convolution, 3 → 16 channels, 3x3, no bias.</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Batch norm of the stem.</summary>
    public BatchNorm2d Bn1 { get; }

    /// <summary>ReLU of the stem.</summary>
    public ReLU Relu { get; }

    /// <summary>Stage 1: one block, 16 channels, full resolution.</summary>
    public Sequential Layer1 { get; }

    /// <summary>Stage 2: one block, 32 channels, stride 2.</summary>
    public Sequential Layer2 { get; }

    /// <summary>Stage 3: one block, 64 channels, stride 2.</summary>
    public Sequential Layer3 { get; }

    /// <summary>Global average pooling to (N, 64, 1, 1).</summary>
    public AdaptiveAvgPool2d AvgPool { get; }

    /// <summary>The classifier: 64 features to <see cref="NumClasses"/> logits.</summary>
    public Linear Fc { get; }

    /// <summary>Logits for a batch of images.</summary>
    /// <param name="input">Images, shape (N, 3, H, W) (32x32 by design).</param>
    /// <returns>Logits, shape (N, <see cref="NumClasses"/>).</returns>
    /// <exception cref="ShapeException">The input is not (N, 3, H, W).</exception>
    public override Tensor Forward(Tensor input)
    {
        ModelInput.RequireImages(nameof(ResNet8), input, channels: 3);
        var output = Relu.Forward(Bn1.Forward(Conv1.Forward(input)));
        output = Layer3.Forward(Layer2.Forward(Layer1.Forward(output)));
        return Fc.Forward(F.Flatten(AvgPool.Forward(output), startDim: 1));
    }
}
