using CnnSharp.Functional;
using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// A small VGG-style classifier for 3x32x32 images (CIFAR-10 sized), laid out like torchvision's VGG: a
/// <see cref="Sequential"/> of convolution blocks (<c>features</c>), global average pooling (<c>avgpool</c>), flatten,
/// and a linear classifier (<c>classifier</c>). One of the four models of <c>bench/compare-models.sh</c>.
/// </summary>
/// <remarks>
/// <code>
/// features = Sequential(
///   0 Conv2d(3, 32, 3, padding 1)   1 BatchNorm2d(32)   2 ReLU                  (N,3,32,32) -> (N,32,32,32)
///   3 Conv2d(32, 32, 3, padding 1)  4 BatchNorm2d(32)   5 ReLU   6 MaxPool2d(2) -> (N,32,16,16)
///   7 Conv2d(32, 64, 3, padding 1)  8 BatchNorm2d(64)   9 ReLU
///  10 Conv2d(64, 64, 3, padding 1) 11 BatchNorm2d(64)  12 ReLU  13 MaxPool2d(2) -> (N,64,8,8)
///  14 Conv2d(64, 128, 3, padding 1) 15 BatchNorm2d(128) 16 ReLU)                -> (N,128,8,8)
/// avgpool    = AdaptiveAvgPool2d(1)                                             -> (N,128,1,1)
/// flatten (torch.flatten(x, 1) in Forward)                                      -> (N,128)
/// classifier = Linear(128, numClasses)                                          -> (N,numClasses)
/// </code>
/// State-dict keys: <c>features.{0,3,7,10,14}.weight</c> and <c>.bias</c> (convolutions, with bias),
/// <c>features.{1,4,8,11,15}.{weight,bias,running_mean,running_var,num_batches_tracked}</c>, <c>classifier.weight</c>,
/// <c>classifier.bias</c>, in that order (PyTorch's). Because of the global pooling any input of at least 4x4 works;
/// 32x32 is the design size.
/// </remarks>
public sealed class VggSmall : Module
{
    /// <summary>Builds the network with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="numClasses">Number of output classes (10 for CIFAR-10).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <param name="inChannels">Channels of the input images (3 for RGB, 1 for grayscale).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive.</exception>
    public VggSmall(int numClasses = 10, Generator? generator = null, int inChannels = 3)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        NumClasses = numClasses;
        InChannels = inChannels;
        Features = RegisterModule("features", new Sequential(
            new Conv2d(inChannels, 32, kernelSize: 3, padding: 1, generator: generator), new BatchNorm2d(32), new ReLU(),
            new Conv2d(32, 32, kernelSize: 3, padding: 1, generator: generator), new BatchNorm2d(32), new ReLU(),
            new MaxPool2d(kernelSize: 2, stride: 2),
            new Conv2d(32, 64, kernelSize: 3, padding: 1, generator: generator), new BatchNorm2d(64), new ReLU(),
            new Conv2d(64, 64, kernelSize: 3, padding: 1, generator: generator), new BatchNorm2d(64), new ReLU(),
            new MaxPool2d(kernelSize: 2, stride: 2),
            new Conv2d(64, 128, kernelSize: 3, padding: 1, generator: generator), new BatchNorm2d(128), new ReLU()));
        AvgPool = RegisterModule("avgpool", new AdaptiveAvgPool2d(1));
        Classifier = RegisterModule("classifier", new Linear(128, numClasses, generator: generator));
    }

    /// <summary>Number of output classes.</summary>
    public int NumClasses { get; }

    /// <summary>Channels of the input images.</summary>
    public int InChannels { get; }

    /// <summary>The convolution blocks: (N, <see cref="InChannels"/>, H, W) → (N, 128, H/4, W/4).</summary>
    public Sequential Features { get; }

    /// <summary>Global average pooling to (N, 128, 1, 1).</summary>
    public AdaptiveAvgPool2d AvgPool { get; }

    /// <summary>The classifier: 128 features to <see cref="NumClasses"/> logits.</summary>
    public Linear Classifier { get; }

    /// <summary>Logits for a batch of images.</summary>
    /// <param name="input">Images, shape (N, <see cref="InChannels"/>, H, W), H and W at least 4 (32x32 by design).</param>
    /// <returns>Logits, shape (N, <see cref="NumClasses"/>).</returns>
    /// <exception cref="ShapeException">The input is not (N, <see cref="InChannels"/>, H, W), or is smaller than 4x4.</exception>
    public override Tensor Forward(Tensor input)
    {
        ModelInput.RequireImages(nameof(VggSmall), input, InChannels);
        var output = AvgPool.Call(Features.Call(input));
        return Classifier.Call(F.Flatten(output, startDim: 1));
    }

    /// <summary>
    /// <see cref="Forward"/> as a chain of named modules: features, avgpool, a <see cref="Flatten"/> for the reshape,
    /// classifier (ONNX export walks it: <c>CnnSharp.Onnx.OnnxExporter</c>).
    /// </summary>
    public IEnumerable<KeyValuePair<string, Module>> OnnxSequence() =>
        [new("features", Features), new("avgpool", AvgPool), new("flatten", new Flatten()), new("classifier", Classifier)];
}
