using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;

namespace CnnSharp.Tests;

/// <summary>The README's "Library in one screen" and "Loading PyTorch checkpoints" snippets, kept compiling and checked.</summary>
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
    public void Checkpoint_snippet_loads_a_torch_save_file_and_a_checkpoint_entry()
    {
        // The README's calls on the committed fixtures: the seed ConvNet's state dict, and the state dict nested under
        // "model" in a checkpoint of nn.Sequential(Conv2d(1, 2, 3), BatchNorm2d(2), Flatten(), Linear(2, 3)).
        string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch", name);
        var model = ModelZoo.Create("convnet");
        var loaded = model.LoadTorchFile(Fixture("convnet.pt"));
        Assert.Empty(loaded.MissingKeys);
        var small = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2), new Flatten(), new Linear(2, 3));
        var result = small.LoadStateDict(TorchFile.Load(Fixture("checkpoint.pt"), entry: "model"));
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(TorchFile.Read(Fixture("checkpoint.pt"), entry: "model")["3.bias"].ToFloatArray(), ((Linear)small[3]).Bias!.ToArray());
    }
}
