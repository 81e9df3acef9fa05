using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// torchvision's ImageNet ResNet with <see cref="BasicBlock"/>s (ResNet-18 and ResNet-34), with torchvision's module
/// names, so a <c>torchvision.models.resnet18().state_dict()</c> loads key for key; <see cref="ResNet18"/> builds it.
/// </summary>
/// <remarks>
/// <code>
/// conv1 = Conv2d(in, w, 7, stride 2, padding 3, bias false)  bn1 = BatchNorm2d(w)  relu   (N,in,224,224) -> (N,w,112,112)
/// maxpool = MaxPool2d(3, stride 2, padding 1)                                          -> (N,w,56,56)
/// layer1 = blocks[0] x BasicBlock(w, w)                                                -> (N,w,56,56)
/// layer2 = BasicBlock(w, 2w, stride 2) + downsample, (blocks[1] - 1) x BasicBlock(2w)  -> (N,2w,28,28)
/// layer3 = ... 4w, stride 2                                                            -> (N,4w,14,14)
/// layer4 = ... 8w, stride 2                                                            -> (N,8w,7,7)
/// avgpool = AdaptiveAvgPool2d(1), flatten                                              -> (N,8w)
/// fc = Linear(8w, numClasses)                                                          -> (N,numClasses)
/// </code>
/// <para>w = <see cref="Width"/> is 64 in torchvision (ResNet-18: 11,689,512 parameters with 1000 classes). A smaller
/// width keeps every key and only narrows the shapes, for tests and small data. Keys: <c>conv1.weight</c>,
/// <c>bn1.*</c>, <c>layer1.0.conv1.weight</c>, ..., <c>layer2.0.downsample.0.weight</c>, <c>layer2.0.downsample.1.*</c>,
/// ..., <c>fc.weight</c>, <c>fc.bias</c>.</para>
/// <para>Initialisation follows torchvision: every convolution Kaiming-normal with fan-out and ReLU gain, batch norms
/// weight 1 and bias 0, the classifier PyTorch's <c>nn.Linear</c> default. (torchvision's optional zero-init of the last
/// batch norm of each block is not applied, as torchvision's default does not.) Any input of at least 1x1 works;
/// 224x224 is the design size (the output of layer4 is then 7x7).</para>
/// </remarks>
public sealed class ResNet : Module
{
    /// <summary>Builds the network with torchvision's initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="blocks">BasicBlocks per stage, four counts: [2, 2, 2, 2] for ResNet-18, [3, 4, 6, 3] for ResNet-34.</param>
    /// <param name="numClasses">Number of output classes (1000 for ImageNet).</param>
    /// <param name="inChannels">Channels of the input images (3 for RGB).</param>
    /// <param name="width">Channels of the stem and layer1 (torchvision: 64); the stages have width, 2, 4 and 8 times it.</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="blocks"/> does not hold four positive counts.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A count or the width is not positive.</exception>
    public ResNet(IReadOnlyList<int> blocks, int numClasses = 1000, int inChannels = 3, int width = 64, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count != 4 || blocks.Any(b => b <= 0))
            throw new ArgumentException($"ResNet: expected four positive block counts, got [{string.Join(", ", blocks)}]", nameof(blocks));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        Blocks = [.. blocks];
        NumClasses = numClasses;
        InChannels = inChannels;
        Width = width;
        Conv1 = RegisterModule("conv1", new Conv2d(inChannels, width, kernelSize: 7, stride: 2, padding: 3, bias: false, generator: generator));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(width));
        Relu = RegisterModule("relu", new ReLU());
        MaxPool = RegisterModule("maxpool", new MaxPool2d(kernelSize: 3, stride: 2, padding: 1));
        Layer1 = RegisterModule("layer1", CifarResNet.Stage(width, width, 1, blocks[0], generator));
        Layer2 = RegisterModule("layer2", CifarResNet.Stage(width, 2 * width, 2, blocks[1], generator));
        Layer3 = RegisterModule("layer3", CifarResNet.Stage(2 * width, 4 * width, 2, blocks[2], generator));
        Layer4 = RegisterModule("layer4", CifarResNet.Stage(4 * width, 8 * width, 2, blocks[3], generator));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Fc = RegisterModule("fc", new Linear(8 * width, numClasses, generator: generator));
        foreach (var conv in NamedModules().Select(m => m.Value).OfType<Conv2d>())
            Init.KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu, generator: generator);
    }

    /// <summary>
    /// torchvision's <c>resnet18</c> layout: blocks [2, 2, 2, 2]; with the defaults, 11,689,512 parameters.
    /// </summary>
    /// <param name="numClasses">Number of output classes (1000 for ImageNet).</param>
    /// <param name="inChannels">Channels of the input images.</param>
    /// <param name="width">Stem width (64 in torchvision; smaller keeps the keys and narrows the shapes).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    public static ResNet ResNet18(int numClasses = 1000, int inChannels = 3, int width = 64, Generator? generator = null) =>
        new([2, 2, 2, 2], numClasses, inChannels, width, generator);

    /// <summary>torchvision's <c>resnet34</c> layout: blocks [3, 4, 6, 3]; with the defaults, 21,797,672 parameters.</summary>
    /// <inheritdoc cref="ResNet18"/>
    public static ResNet ResNet34(int numClasses = 1000, int inChannels = 3, int width = 64, Generator? generator = null) =>
        new([3, 4, 6, 3], numClasses, inChannels, width, generator);

    /// <summary>BasicBlocks per stage.</summary>
    public IReadOnlyList<int> Blocks { get; }

    /// <summary>Number of output classes.</summary>
    public int NumClasses { get; }

    /// <summary>Channels of the input images.</summary>
    public int InChannels { get; }

    /// <summary>Channels of the stem and layer1 (64 in torchvision).</summary>
    public int Width { get; }

    /// <summary>The 7x7 stride-2 stem convolution, no bias.</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Batch norm of the stem.</summary>
    public BatchNorm2d Bn1 { get; }

    /// <summary>ReLU of the stem.</summary>
    public ReLU Relu { get; }

    /// <summary>3x3 stride-2 max pooling with padding 1 after the stem.</summary>
    public MaxPool2d MaxPool { get; }

    /// <summary>Stage 1: width channels, stride 1.</summary>
    public Sequential Layer1 { get; }

    /// <summary>Stage 2: 2 x width channels, stride 2.</summary>
    public Sequential Layer2 { get; }

    /// <summary>Stage 3: 4 x width channels, stride 2.</summary>
    public Sequential Layer3 { get; }

    /// <summary>Stage 4: 8 x width channels, stride 2.</summary>
    public Sequential Layer4 { get; }

    /// <summary>Global average pooling to (N, 8 x width, 1, 1).</summary>
    public AdaptiveAvgPool2d AvgPool { get; }

    /// <summary>The classifier: 8 x width features to <see cref="NumClasses"/> logits.</summary>
    public Linear Fc { get; }

    /// <summary>Logits for a batch of images.</summary>
    /// <param name="input">Images, shape (N, <see cref="InChannels"/>, H, W) (224x224 by design).</param>
    /// <returns>Logits, shape (N, <see cref="NumClasses"/>).</returns>
    /// <exception cref="ShapeException">The input is not (N, <see cref="InChannels"/>, H, W).</exception>
    public override Tensor Forward(Tensor input)
    {
        ModelInput.RequireImages(nameof(ResNet), input, InChannels);
        var output = MaxPool.Call(Relu.Call(Bn1.Call(Conv1.Call(input))));
        output = Layer4.Call(Layer3.Call(Layer2.Call(Layer1.Call(output))));
        return Fc.Call(F.Flatten(AvgPool.Call(output), startDim: 1));
    }
}
