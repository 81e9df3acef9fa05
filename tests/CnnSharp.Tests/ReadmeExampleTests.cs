using CnnSharp.Data;
using CnnSharp.Data.Transforms;
using CnnSharp.Functional;
using CnnSharp.Models;
using CnnSharp.Modules;

namespace CnnSharp.Tests;

/// <summary>The README's "Library in one screen" snippet, kept compiling and checked.</summary>
public sealed class ReadmeExampleTests
{
    [Fact]
    public void Library_snippet_runs_with_the_documented_shapes()
    {
        var model = new ConvNet(numClasses: 10);
        var x = Tensor.Randn(new Generator(1), 8, 1, 28, 28);
        var logits = model.Forward(x);
        var y = F.Conv2d(x, Tensor.Randn(null, 4, 1, 3, 3), bias: null, stride: 2, padding: 1);
        var pooled = new MaxPool2d(kernelSize: 2, stride: 2).Forward(x);
        Assert.True(logits.Shape.Equals([8, 10]));
        Assert.True(y.Shape.Equals([8, 4, 14, 14]));
        Assert.True(pooled.Shape.Equals([8, 1, 14, 14]));
    }

    [Fact]
    public void Augmentation_snippet_runs_with_the_documented_shapes()
    {
        // The README's loader line, over 300 blank 28x28 images instead of the fetched Fashion-MNIST training set.
        var train = new MnistDataset(new byte[300 * 28 * 28], new byte[300]);
        var augment = new Compose(new RandomCrop(28, padding: 2), new RandomHorizontalFlip(), new Normalize([0.2860f], [0.3530f]));
        var loader = new DataLoader(train, 128, shuffle: true, seed: 1, transform: augment, numWorkers: 2);
        var batches = loader.ToList();
        Assert.Equal([128, 128, 44], batches.Select(b => b.Count));
        Assert.True(batches[0].Images.Shape.Equals([128, 1, 28, 28]));
        Assert.Equal(-0.2860f / 0.3530f, batches[0].Images.Data[0]); // black pixels (and padding) normalised
    }
}
