using CnnSharp.Data;
using CnnSharp.Data.Transforms;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Optimizers.Schedulers;

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
        var both = F.Cat([x, x], dim: 1);
        var halves = both.Chunk(2, dim: 1);
        Assert.True(both.Shape.Equals([8, 2, 28, 28]));
        Assert.Equal(2, halves.Length);
        Assert.Equal(x.ToArray(), halves[1].ToArray());
        Assert.True(logits.Shape.Equals([8, 10]));
        Assert.True(y.Shape.Equals([8, 4, 14, 14]));
        Assert.True(pooled.Shape.Equals([8, 1, 14, 14]));
    }

    [Fact]
    public void Schedule_snippet_warms_up_then_anneals()
    {
        var model = new Sequential(new Conv2d(1, 4, 3, padding: 1, generator: new Generator(1)), new GroupNorm(2, 4), new ReLU(),
            new Upsample(2.0), new Flatten(), new Linear(4 * 8 * 8, 3, generator: new Generator(2)));
        var opt = new AdamW(model.Parameters(), lr: 1e-3f, weightDecay: 0.05f);
        var schedule = new SequentialLr(opt, [new LinearLr(opt, startFactor: 0.1, totalIters: 2),
                                              new CosineAnnealingLr(opt, tMax: 18)], milestones: [2]);
        Assert.Equal(1e-4f, opt.Lr, 1e-9f);
        var x = Tensor.Randn(new Generator(3), 2, 1, 4, 4);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            opt.ZeroGrad();
            F.CrossEntropy(model.Forward(x), [0, 2]).Backward();
            Assert.True(GradClip.ClipGradNorm(model.Parameters(), 1.0) > 0);
            opt.Step();
            schedule.Step();
        }
        Assert.Equal(1e-3 * (1 + Math.Cos(Math.PI / 18)) / 2, opt.LrExact, 12); // epoch 3: one step into the cosine
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
