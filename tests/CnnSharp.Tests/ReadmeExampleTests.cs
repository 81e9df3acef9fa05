using CnnSharp.Autograd;
using CnnSharp.Data;
using CnnSharp.Data.Transforms;
using CnnSharp.Functional;
using CnnSharp.IO;
using CnnSharp.Models;
using CnnSharp.Modules;
using CnnSharp.Optimizers;
using CnnSharp.Optimizers.Schedulers;

namespace CnnSharp.Tests;

/// <summary>The README's "Library in one screen", "A training loop in code" and "Loading PyTorch checkpoints" snippets, kept compiling and checked.</summary>
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

    /// <summary>The README's <c>SmallNet</c>, verbatim.</summary>
    private sealed class SmallNet : Module
    {
        private readonly Conv2d _conv1, _conv2;
        private readonly BatchNorm2d _bn1, _bn2;
        private readonly Linear _fc;

        public SmallNet(int classes)
        {
            _conv1 = RegisterModule("conv1", new Conv2d(1, 16, kernelSize: 3, padding: 1));
            _bn1 = RegisterModule("bn1", new BatchNorm2d(16));
            _conv2 = RegisterModule("conv2", new Conv2d(16, 16, kernelSize: 3, padding: 1));
            _bn2 = RegisterModule("bn2", new BatchNorm2d(16));
            _fc = RegisterModule("fc", new Linear(16, classes));
        }

        public override Tensor Forward(Tensor x)
        {
            var h = F.MaxPool2d(F.Relu(_bn1.Call(_conv1.Call(x))), 2);  // (N, 16, 14, 14)
            h = F.Relu(h + _bn2.Call(_conv2.Call(h)));                   // residual add
            return _fc.Call(F.Flatten(F.AdaptiveAvgPool2d(h, 1), 1));    // (N, classes)
        }
    }

    /// <summary>
    /// 28x28 images of one of four textures (horizontal stripes, vertical stripes, a checkerboard, flat grey) under
    /// uniform noise: a task the README's network must learn in three epochs, since global average pooling keeps texture
    /// but not position.
    /// </summary>
    private static TensorDataset Textures(int count, ulong seed)
    {
        var noise = new Generator(seed);
        var pixels = new float[count * 28 * 28];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            int label = labels[n] = n % 4;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    float v = label switch { 0 => y % 2, 1 => x % 2, 2 => (x + y) % 2, _ => 0.5f };
                    pixels[(n * 28 + y) * 28 + x] = 0.7f * v + 0.3f * noise.NextFloat();
                }
        }
        return new TensorDataset(new Tensor(pixels, new Shape(count, 1, 28, 28)), labels);
    }

    [Fact]
    public void Training_loop_snippet_learns_with_a_residual_custom_module()
    {
        // The README's loop, on 512 generated training and 200 test images instead of Fashion-MNIST; its output line kept
        // in a list so that the test can read the last epoch's accuracy.
        var data = (Train: Textures(512, 1), Test: Textures(200, 2));
        var model = new SmallNet(classes: 4);
        Assert.Equal(["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias", "fc.weight", "fc.bias"],
            model.NamedParameters().Select(p => p.Key));
        var opt = new Sgd(model.Parameters(), lr: 0.05f, momentum: 0.9f);
        var train = new DataLoader(data.Train, batchSize: 64, shuffle: true, seed: 1);
        var accuracies = new List<double>();
        float firstLoss = float.NaN;
        for (int epoch = 1; epoch <= 3; epoch++)
        {
            model.Train();
            float loss = float.NaN;
            foreach (var batch in train)
            {
                opt.ZeroGrad();
                var l = F.CrossEntropy(model.Call(batch.Images), batch.Labels);
                l.Backward();
                opt.Step();
                loss = l.Item();
                if (float.IsNaN(firstLoss)) firstLoss = loss;
            }
            model.Eval();
            int correct = 0;
            using (GradMode.NoGrad())
                foreach (var batch in new DataLoader(data.Test, batchSize: 1000))
                {
                    int[] predicted = model.Call(batch.Images).ArgMax(dim: 1);
                    correct += predicted.Where((p, i) => p == batch.Labels[i]).Count();
                }
            accuracies.Add((double)correct / data.Test.Count);
            Assert.True(float.IsFinite(loss), $"epoch {epoch}: loss {loss}");
        }
        Assert.True(accuracies[^1] >= 0.9, $"test accuracy per epoch: {string.Join(", ", accuracies)} (chance 0.25)");
        Assert.True(firstLoss > 1.0, $"first batch loss {firstLoss}: an untrained 4-class model starts near ln 4");
    }
}
