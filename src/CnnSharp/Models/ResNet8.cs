namespace CnnSharp.Models;

/// <summary>
/// An 8-layer residual network for 32x32 images (CIFAR-10 sized): <see cref="CifarResNet"/> with one
/// <see cref="BasicBlock"/> per stage (16, 32 and 64 channels). One of the four models of <c>bench/compare-models.sh</c>.
/// </summary>
/// <remarks>
/// <code>
/// conv1 = Conv2d(in, 16, 3, padding 1, bias false)  bn1 = BatchNorm2d(16)  relu   (N,3,32,32) -> (N,16,32,32)
/// layer1 = Sequential(BasicBlock(16, 16))                                        -> (N,16,32,32)
/// layer2 = Sequential(BasicBlock(16, 32, stride 2))  with downsample             -> (N,32,16,16)
/// layer3 = Sequential(BasicBlock(32, 64, stride 2))  with downsample             -> (N,64,8,8)
/// avgpool = AdaptiveAvgPool2d(1), flatten                                        -> (N,64)
/// fc = Linear(64, numClasses)                                                    -> (N,numClasses)
/// </code>
/// Eight weighted layers: the stem, two convolutions per block, the classifier. Keys, shortcuts and initialisation as
/// described on <see cref="CifarResNet"/> (torchvision's ResNet re-initialises with Kaiming-normal; this model, like a
/// plain <c>nn.Module</c> of the same layers, does not).
/// </remarks>
public sealed class ResNet8 : CifarResNet
{
    /// <summary>Builds the network with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="numClasses">Number of output classes (10 for CIFAR-10).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <param name="inChannels">Channels of the input images (3 for RGB, 1 for grayscale).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive.</exception>
    public ResNet8(int numClasses = 10, Generator? generator = null, int inChannels = 3)
        : base(blocksPerStage: 1, numClasses, inChannels, generator)
    {
    }
}
