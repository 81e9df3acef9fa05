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
        var both = F.Cat([x, x], dim: 1);
        var halves = both.Chunk(2, dim: 1);
        Assert.True(both.Shape.Equals([8, 2, 28, 28]));
        Assert.Equal(2, halves.Length);
        Assert.Equal(x.ToArray(), halves[1].ToArray());
        Assert.True(logits.Shape.Equals([8, 10]));
        Assert.True(y.Shape.Equals([8, 4, 14, 14]));
        Assert.True(pooled.Shape.Equals([8, 1, 14, 14]));
    }
}
