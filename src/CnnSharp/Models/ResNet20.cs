namespace CnnSharp.Models;

/// <summary>
/// ResNet-20 of He et al. 2015 for 32x32 images (CIFAR-10): <see cref="CifarResNet"/> with three
/// <see cref="BasicBlock"/>s per stage (16, 32 and 64 channels), 20 weighted layers, 272,474 parameters with 10 classes.
/// </summary>
/// <remarks>
/// <code>
/// conv1 = Conv2d(in, 16, 3, padding 1, bias false)  bn1  relu             (N,3,32,32) -> (N,16,32,32)
/// layer1 = 3 x BasicBlock(16, 16)                                         -> (N,16,32,32)
/// layer2 = BasicBlock(16, 32, stride 2) + downsample, 2 x BasicBlock(32)  -> (N,32,16,16)
/// layer3 = BasicBlock(32, 64, stride 2) + downsample, 2 x BasicBlock(64)  -> (N,64,8,8)
/// avgpool, flatten, fc = Linear(64, numClasses)                           -> (N,numClasses)
/// </code>
/// The two shape-changing shortcuts are 1x1 convolution + batch norm projections (the paper's option B; see
/// <see cref="CifarResNet"/> for why not option A). State-dict keys: <c>conv1.weight</c>, <c>bn1.*</c>,
/// <c>layer{1,2,3}.{0,1,2}.{conv1,bn1,conv2,bn2}.*</c>, <c>layer{2,3}.0.downsample.{0,1}.*</c>, <c>fc.*</c>.
/// </remarks>
public sealed class ResNet20 : CifarResNet
{
    /// <summary>Builds the network with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="numClasses">Number of output classes (10 for CIFAR-10).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <param name="inChannels">Channels of the input images (3 for RGB, 1 for grayscale).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive.</exception>
    public ResNet20(int numClasses = 10, Generator? generator = null, int inChannels = 3)
        : base(blocksPerStage: 3, numClasses, inChannels, generator)
    {
    }
}
