using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// The CIFAR-style residual network of He et al. 2015 (section 4.2), depth 6n + 2, laid out and named like torchvision's
/// ResNet: a 3x3 stem of 16 channels, three stages of n <see cref="BasicBlock"/>s with 16, 32 and 64 channels (the
/// first block of the last two stages halves the resolution), global average pooling and a linear classifier.
/// <see cref="ResNet8"/> (n = 1) and <see cref="ResNet20"/> (n = 3) are the named depths.
/// </summary>
/// <remarks>
/// <code>
/// conv1 = Conv2d(in, 16, 3, padding 1, bias false)  bn1 = BatchNorm2d(16)  relu   (N,in,H,W) -> (N,16,H,W)
/// layer1 = Sequential(n x BasicBlock(16, 16))                                     -> (N,16,H,W)
/// layer2 = Sequential(BasicBlock(16, 32, stride 2), (n-1) x BasicBlock(32, 32))   -> (N,32,H/2,W/2)
/// layer3 = Sequential(BasicBlock(32, 64, stride 2), (n-1) x BasicBlock(64, 64))   -> (N,64,H/4,W/4)
/// avgpool = AdaptiveAvgPool2d(1), flatten (torch.flatten(x, 1) in Forward)        -> (N,64)
/// fc = Linear(64, numClasses)                                                     -> (N,numClasses)
/// </code>
/// <para>Shortcuts that change shape use option B of the paper: a 1x1 convolution + batch norm projection
/// (torchvision's <c>downsample</c>, the same block as torchvision's ResNet-18), not option A's parameter-free
/// zero-padding identity. Option B costs 2,752 parameters more (ResNet-20: 272,474 instead of the paper's 0.27M with
/// option A) and keeps every block a plain torchvision <c>BasicBlock</c>, so the state dict loads into a PyTorch twin
/// built from torchvision's parts.</para>
/// <para>State-dict keys as torchvision names them: <c>conv1.weight</c>, <c>bn1.*</c>, <c>layer1.0.conv1.weight</c>, ...,
/// <c>layer2.0.downsample.0.weight</c>, <c>layer2.0.downsample.1.*</c>, ..., <c>fc.weight</c>, <c>fc.bias</c>.
/// Initialisation is each layer's PyTorch default. Any input of at least 1x1 works; 32x32 is the design size.</para>
/// </remarks>
public class CifarResNet : Module
{
    /// <summary>Builds the network with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="blocksPerStage">n: blocks in each of the three stages (depth 6n + 2).</param>
    /// <param name="numClasses">Number of output classes (10 for CIFAR-10).</param>
    /// <param name="inChannels">Channels of the input images (3 for RGB, 1 for grayscale).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive.</exception>
    public CifarResNet(int blocksPerStage, int numClasses = 10, int inChannels = 3, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blocksPerStage);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        BlocksPerStage = blocksPerStage;
        NumClasses = numClasses;
        InChannels = inChannels;
        Conv1 = RegisterModule("conv1", new Conv2d(inChannels, 16, kernelSize: 3, stride: 1, padding: 1, bias: false, generator: generator));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(16));
        Relu = RegisterModule("relu", new ReLU());
        Layer1 = RegisterModule("layer1", Stage(16, 16, 1, blocksPerStage, generator));
        Layer2 = RegisterModule("layer2", Stage(16, 32, 2, blocksPerStage, generator));
        Layer3 = RegisterModule("layer3", Stage(32, 64, 2, blocksPerStage, generator));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Fc = RegisterModule("fc", new Linear(64, numClasses, generator: generator));
    }

    /// <summary>n: blocks per stage.</summary>
    public int BlocksPerStage { get; }

    /// <summary>Weighted layers: 6n + 2 (the stem, two convolutions per block, the classifier; projections not counted).</summary>
    public int Depth => 6 * BlocksPerStage + 2;

    /// <summary>Number of output classes.</summary>
    public int NumClasses { get; }

    /// <summary>Channels of the input images.</summary>
    public int InChannels { get; }

    /// <summary>The stem convolution, <see cref="InChannels"/> → 16 channels, 3x3, no bias.</summary>
    public Conv2d Conv1 { get; }

    /// <summary>Batch norm of the stem.</summary>
    public BatchNorm2d Bn1 { get; }

    /// <summary>ReLU of the stem.</summary>
    public ReLU Relu { get; }

    /// <summary>Stage 1: n blocks, 16 channels, full resolution.</summary>
    public Sequential Layer1 { get; }

    /// <summary>Stage 2: n blocks, 32 channels, the first with stride 2.</summary>
    public Sequential Layer2 { get; }

    /// <summary>Stage 3: n blocks, 64 channels, the first with stride 2.</summary>
    public Sequential Layer3 { get; }

    /// <summary>Global average pooling to (N, 64, 1, 1).</summary>
    public AdaptiveAvgPool2d AvgPool { get; }

    /// <summary>The classifier: 64 features to <see cref="NumClasses"/> logits.</summary>
    public Linear Fc { get; }

    /// <summary>Logits for a batch of images.</summary>
    /// <param name="input">Images, shape (N, <see cref="InChannels"/>, H, W) (32x32 by design).</param>
    /// <returns>Logits, shape (N, <see cref="NumClasses"/>).</returns>
    /// <exception cref="ShapeException">The input is not (N, <see cref="InChannels"/>, H, W).</exception>
    public override Tensor Forward(Tensor input)
    {
        ModelInput.RequireImages(GetType().Name, input, InChannels);
        var output = Relu.Call(Bn1.Call(Conv1.Call(input)));
        output = Layer3.Call(Layer2.Call(Layer1.Call(output)));
        return Fc.Call(F.Flatten(AvgPool.Call(output), startDim: 1));
    }

    /// <summary>
    /// torchvision's <c>_make_layer</c> for BasicBlocks: the first block carries the stride (and the projection when the
    /// shape changes), the rest keep <paramref name="outChannels"/> at stride 1.
    /// </summary>
    internal static Sequential Stage(int inChannels, int outChannels, int stride, int blocks, Generator? generator)
    {
        var stage = new Sequential(new BasicBlock(inChannels, outChannels, stride, generator));
        for (int i = 1; i < blocks; i++) stage.Append(new BasicBlock(outChannels, outChannels, 1, generator));
        return stage;
    }
}
