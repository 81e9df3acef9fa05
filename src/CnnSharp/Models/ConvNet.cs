using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// The tutorial's MNIST classifier: two convolution blocks and a linear layer, exactly as in the tutorial's PyTorch
/// <c>ConvNet</c>, with the same child names so <see cref="Module.StateDict"/> keys match PyTorch's.
/// </summary>
/// <remarks>
/// <code>
/// layer1 = Sequential(Conv2d(1, 16, 5, stride 1, padding 2), BatchNorm2d(16), ReLU(), MaxPool2d(2, 2))   (N,1,28,28) -> (N,16,14,14)
/// layer2 = Sequential(Conv2d(16, 32, 5, stride 1, padding 2), BatchNorm2d(32), ReLU(), MaxPool2d(2, 2))  -> (N,32,7,7)
/// fc     = Linear(7*7*32, numClasses)                                                                      (N,1568) -> (N,numClasses)
/// </code>
/// State-dict keys: <c>layer1.0.weight</c> (16,1,5,5), <c>layer1.0.bias</c>, <c>layer1.1.weight</c>, <c>layer1.1.bias</c>,
/// <c>layer1.1.running_mean</c>, <c>layer1.1.running_var</c>, <c>layer1.1.num_batches_tracked</c>, the same under
/// <c>layer2</c>, then <c>fc.weight</c> (numClasses,1568) and <c>fc.bias</c>.
/// </remarks>
public sealed class ConvNet : Module
{
    /// <summary>Builds the network with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="numClasses">Number of output classes (10 for MNIST).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is not positive.</exception>
    public ConvNet(int numClasses = 10, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        NumClasses = numClasses;
        Layer1 = RegisterModule("layer1", new Sequential(
            new Conv2d(1, 16, kernelSize: 5, stride: 1, padding: 2, generator: generator),
            new BatchNorm2d(16),
            new ReLU(),
            new MaxPool2d(kernelSize: 2, stride: 2)));
        Layer2 = RegisterModule("layer2", new Sequential(
            new Conv2d(16, 32, kernelSize: 5, stride: 1, padding: 2, generator: generator),
            new BatchNorm2d(32),
            new ReLU(),
            new MaxPool2d(kernelSize: 2, stride: 2)));
        Fc = RegisterModule("fc", new Linear(7 * 7 * 32, numClasses, generator: generator));
    }

    /// <summary>Number of output classes.</summary>
    public int NumClasses { get; }

    /// <summary>First block: conv 1->16, batch norm, ReLU, 2x2 max pooling.</summary>
    public Sequential Layer1 { get; }

    /// <summary>Second block: conv 16->32, batch norm, ReLU, 2x2 max pooling.</summary>
    public Sequential Layer2 { get; }

    /// <summary>The classifier: 1568 features to <see cref="NumClasses"/> logits.</summary>
    public Linear Fc { get; }

    /// <summary>Logits for a batch of images.</summary>
    /// <param name="input">Images, shape (N, 1, 28, 28).</param>
    /// <returns>Logits, shape (N, <see cref="NumClasses"/>).</returns>
    /// <exception cref="ShapeException">The input is not (N, 1, 28, 28).</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Shape[1] != 1 || input.Shape[2] != 28 || input.Shape[3] != 28)
            throw new ShapeException($"ConvNet: expected input (N, 1, 28, 28), got {input.Shape}");
        var output = Layer1.Call(input);
        output = Layer2.Call(output);
        output = output.Reshape(output.Shape[0], -1);
        return Fc.Call(output);
    }
}
