using CnnSharp.Modules;

namespace CnnSharp.Models;

/// <summary>
/// LeNet-5 for 28x28 single-channel images (LeCun et al. 1998, with the first convolution padded so MNIST's 28x28
/// plays the role of the original 32x32): tanh activations and 2x2 average pooling, as a <see cref="Sequential"/> whose
/// state-dict keys (<c>0.weight</c>, <c>3.weight</c>, <c>7.weight</c>, <c>9.weight</c>, <c>11.weight</c> and biases)
/// match PyTorch's <c>nn.Sequential</c> of the same layers.
/// </summary>
/// <remarks>
/// <code>
/// 0 Conv2d(1, 6, 5, padding 2)   1 Tanh   2 AvgPool2d(2)     (N,1,28,28) -> (N,6,14,14)
/// 3 Conv2d(6, 16, 5)             4 Tanh   5 AvgPool2d(2)     -> (N,16,5,5)
/// 6 Flatten                                                  -> (N,400)
/// 7 Linear(400, 120)  8 Tanh  9 Linear(120, 84)  10 Tanh  11 Linear(84, numClasses)
/// </code>
/// </remarks>
public static class LeNet5
{
    /// <summary>Builds the network with PyTorch's default initialisation drawn from <paramref name="generator"/>.</summary>
    /// <param name="numClasses">Number of output classes (10 for MNIST).</param>
    /// <param name="generator">Source of the initial weights; null uses <see cref="Generator.Default"/>.</param>
    /// <returns>The network; input (N, 1, 28, 28), output logits (N, <paramref name="numClasses"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is not positive.</exception>
    public static Sequential Create(int numClasses = 10, Generator? generator = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        return new Sequential(
            new Conv2d(1, 6, kernelSize: 5, padding: 2, generator: generator),
            new Tanh(),
            new AvgPool2d(2),
            new Conv2d(6, 16, kernelSize: 5, generator: generator),
            new Tanh(),
            new AvgPool2d(2),
            new Flatten(),
            new Linear(16 * 5 * 5, 120, generator: generator),
            new Tanh(),
            new Linear(120, 84, generator: generator),
            new Tanh(),
            new Linear(84, numClasses, generator: generator));
    }
}
